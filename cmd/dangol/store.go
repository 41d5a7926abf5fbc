package main

import (
	"fmt"
	"os"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
)

// openEventStore opens the embedded store under sf.data. With existing set
// it refuses to create an empty one, so a mistyped --data is an error rather
// than an empty log that "verifies".
func openEventStore(sf storeFlags, existing bool) (*bolt.Store, error) {
	path := sf.eventsPath()
	if existing {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no ledger at %s (is --data right?): %w", path, err)
		}
	} else if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	s, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return nil, err
	}
	return s, nil
}

var _ events.Store = (*bolt.Store)(nil)
