package bolt

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestReadLosingTheRaceWithClose: a read that found the store open, then
// met the file closed under it (Close in between), is ErrClosed, as a
// read after Close is, not bbolt's own error. The file is closed here
// directly, which is the moment of that race held still.
func TestReadLosingTheRaceWithClose(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "events.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}
	err = s.Scan(context.Background(), events.Start, func(*events.Envelope) error { return nil })
	if !errors.Is(err, events.ErrClosed) {
		t.Fatalf("Scan after the file closed: %v, want ErrClosed", err)
	}
	if _, err := s.ReadStream(context.Background(), "customer-C1", 0, events.Forward, 10); !errors.Is(err, events.ErrClosed) {
		t.Fatalf("ReadStream after the file closed: %v, want ErrClosed", err)
	}
}
