package seglog

// SetFlushGate makes every commit of s call gate after its fdatasync and
// before the commit is published and answered; an error gate returns fails
// the commit as a failed fdatasync would. Set it before the first append.
func SetFlushGate(s *Store, gate func() error) { s.flushGate = gate }
