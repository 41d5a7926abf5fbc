package bolt

import (
	"fmt"
	"os"
)

// Preallocation. bbolt grows its file with ftruncate, which leaves a hole:
// every commit that writes into fresh space makes fdatasync allocate blocks
// and commit the filesystem journal, tripling its cost on ext4. So the
// committer keeps the file written with zeros ahead of bbolt's high-water
// mark. bbolt never shrinks a file or minds trailing space, and only
// writes inside commits, which run on the committer's goroutine, as this
// does, so the two never write the same region at the same time.
const (
	preallocAhead = 16 << 20 // keep at least this much written space ahead
	preallocChunk = 64 << 20 // extend by this much at a time
)

var zeros = make([]byte, 1<<20)

// preallocate extends the file with written zeros if fewer than
// preallocAhead bytes remain beyond used, the bytes bbolt uses.
func (s *Store) preallocate(used int64) error {
	if s.file == nil {
		return nil
	}
	fi, err := s.file.Stat()
	if err != nil {
		return err
	}
	size := fi.Size()
	if size-used >= preallocAhead {
		return nil
	}
	for off := size; off < size+preallocChunk; off += int64(len(zeros)) {
		if _, err := s.file.WriteAt(zeros, off); err != nil {
			return fmt.Errorf("preallocate: %w", err)
		}
	}
	return s.file.Sync()
}

func openPrealloc(path string) *os.File {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return nil // preallocation is an optimisation; without it bbolt grows the file itself
	}
	return f
}
