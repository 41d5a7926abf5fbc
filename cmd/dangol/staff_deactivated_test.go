package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestStaffAddRefusesDeactivated: `dangol staff add` for a deactivated
// member is an error that prints no token and appends nothing, as the API
// answers 409: neither a token nor a setup code of theirs would work.
func TestStaffAddRefusesDeactivated(t *testing.T) {
	dir := t.TempDir()
	url := dirURL(t, dir)
	staffAdd(t, dir, url, "R1", "rep")
	sf := storeFlags{data: dir, backend: "embedded"}
	if url != "" {
		sf.backend, sf.postgresURL = "postgres", url
	}
	s, err := openEventStore(t.Context(), sf, false)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := events.NewEvent(&events.StaffDeactivated{Reason: "left the bank"}, events.Meta{Actor: events.System("test"), CorrelationID: events.NewID().String()})
	if err == nil {
		_, err = s.Append(t.Context(), events.StaffStream("R1"), events.StreamExists, ev)
	}
	s.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := len(ledger(t, dir, url))
	var out bytes.Buffer
	err = run(context.Background(), []string{"staff", "add", "--data", dir, "--id", "R1"}, storeEnv(url), &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "deactivated") {
		t.Errorf("staff add for a deactivated member: %v, want a refusal", err)
	}
	if strings.Contains(out.String(), "dgl_") {
		t.Error("staff add for a deactivated member printed a token")
	}
	if n := len(ledger(t, dir, url)); n != before {
		t.Errorf("the log went from %d to %d events", before, n)
	}
}
