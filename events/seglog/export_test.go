package seglog

// SetFlushGate makes every flush of s call gate after its fdatasync and
// before the group is published and answered; an error gate returns fails
// the flush as a failed fdatasync would. Set it before the first append.
func SetFlushGate(s *Store, gate func() error) { s.flushGate = gate }
