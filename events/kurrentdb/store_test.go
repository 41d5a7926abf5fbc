package kurrentdb_test

import (
	"os"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/kurrentdb"
)

// TestConformance runs the whole suite against a KurrentDB server when
// DANGOL_KURRENTDB_URL names one, e.g.
//
//	docker run -d -p 2113:2113 docker.kurrent.io/kurrent-latest/kurrentdb --insecure --run-projections=None
//	DANGOL_KURRENTDB_URL='esdb://localhost:2113?tls=false' go test ./events/kurrentdb
//
// Each store the suite opens gets its own stream prefix, so the runs share
// the server without seeing one another's events. No server can run where
// dangol is developed, so this has not been run (see the package comment).
func TestConformance(t *testing.T) {
	url := os.Getenv("DANGOL_KURRENTDB_URL")
	if url == "" {
		t.Skip("DANGOL_KURRENTDB_URL is not set: the KurrentDB adapter was not run against a server")
	}
	eventstest.TestStore(t, func(tb testing.TB, now events.Clock) events.Store {
		s, err := kurrentdb.Open(url, kurrentdb.Options{Prefix: "t" + events.NewID().String() + "_", Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}

// TestOpenRejectsBadURL runs everywhere: a malformed connection string is
// Invalid, before any network traffic.
func TestOpenRejectsBadURL(t *testing.T) {
	if _, err := kurrentdb.Open("http://not-esdb", kurrentdb.Options{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("Open of a malformed url: %v, want Invalid", err)
	}
}
