package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/ops/pgtest"
)

// TestServePostgresUnreachable: a database that cannot be reached at start
// is a clear error (and so a non-zero exit), without the password.
func TestServePostgresUnreachable(t *testing.T) {
	var out, errw bytes.Buffer
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--store", "postgres",
		"--postgres-url", "postgres://dangol:hunter22@127.0.0.1:1/dangol?connect_timeout=2"}, noEnv, &out, &errw)
	if err == nil {
		t.Fatal("serve started without its database")
	}
	if exitCode(err) == 0 || !strings.Contains(err.Error(), "cannot connect") || strings.Contains(err.Error()+errw.String(), "hunter22") {
		t.Fatalf("serve without its database: exit %d, %v", exitCode(err), err)
	}
	err = run(ctx, []string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--store", "postgres"}, noEnv, &out, &errw)
	if err == nil || !strings.Contains(err.Error(), "--postgres-url") {
		t.Fatalf("serve --store postgres without a URL: %v", err)
	}
}

// TestServeTwoServersOneDatabase: two `dangol serve` processes on one
// database. A write through either reaches a live subscriber of the other,
// and with Dangol-Min-Position both answer reads identically.
func TestServeTwoServersOneDatabase(t *testing.T) {
	if pgBackend {
		t.Skip("runs in the default pass")
	}
	dir := t.TempDir()
	a := bootStackAt(t, dir, pgtest.Database(t))
	b := startSecondStack(t, dir, a.url, a.tok)

	from := a.head()
	onB, onA := b.follow("U1", from, "log"), a.follow("U1", from, "log")
	p1 := a.json("R1", "POST", "/v1/customers", customer("C1"), 201)["position"]
	p2 := b.json("R1", "POST", "/v1/customers/C1/contacts", contact("B에서"), 201)["position"]
	p3 := a.json("R1", "POST", "/v1/customers", customer("C2"), 201)["position"]
	for name, f := range map[string]*feed{"server B": onB, "server A": onA} {
		var got []any
		for len(got) < 3 {
			// The auditor's own subscriptions are in the access record
			// (PersonalDataRead on access-<month>), appended when its
			// batch is flushed, between the writes or not: only the
			// customers' events are the writes'.
			if m := f.next(t); strings.HasPrefix(fmt.Sprint(m["stream"]), "customer-") {
				got = append(got, m["position"])
			}
		}
		if fmt.Sprint(got) != fmt.Sprint([]any{p1, p2, p3}) {
			t.Fatalf("%s's live feed positions %v, want %v %v %v", name, got, p1, p2, p3)
		}
	}

	min := fmt.Sprint(p3)
	for _, path := range []string{"/v1/customers/C1", "/v1/customers/C2", "/v1/customers?limit=10", "/v1/customers/C1/timeline"} {
		sa, _, ja := a.do("R1", "GET", path, nil, "Dangol-Min-Position", min)
		sb, _, jb := b.do("R1", "GET", path, nil, "Dangol-Min-Position", min)
		if sa != 200 || sb != 200 || !bytes.Equal(ja, jb) {
			t.Fatalf("GET %s: %d on A, %d on B:\nA %s\nB %s", path, sa, sb, ja, jb)
		}
	}
	if st, _, raw := b.do("R1", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", "nonsense"); st != 400 {
		t.Fatalf("a malformed Dangol-Min-Position: %d %s, want 400", st, raw)
	}
}

// TestServePostgresOutage stops the database under a running server:
// writes answer 503 and /readyz fails; when the database returns the
// server recovers by itself, and nothing acknowledged is lost.
func TestServePostgresOutage(t *testing.T) {
	if pgBackend {
		t.Skip("runs in the default pass")
	}
	pg := pgtest.New(t)
	url, err := pg.CreateDatabase(t.Context(), "outage")
	if err != nil {
		t.Fatal(err)
	}
	s := bootStackAt(t, t.TempDir(), url)
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	acked := 1
	for range 5 {
		s.json("R1", "POST", "/v1/customers/C1/contacts", contact("장애 전"), 201)
		acked++
	}
	if st, _, raw := s.do("", "GET", "/readyz", nil); st != 200 {
		t.Fatalf("readyz before the outage: %d %s", st, raw)
	}

	pg.Stop()
	for range 3 {
		if st, _, raw := s.do("R1", "POST", "/v1/customers/C1/contacts", contact("장애 중")); st != 503 {
			t.Fatalf("a write while the database is down: %d %s, want 503", st, raw)
		}
	}
	if st, _, _ := s.do("", "GET", "/readyz", nil); st != 503 {
		t.Fatalf("readyz while the database is down: %d, want 503", st)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "writes to succeed again", func() bool {
		st, _, _ := s.do("R1", "POST", "/v1/customers/C1/contacts", contact("복구"))
		if st == 201 {
			acked++
		}
		return st == 201
	})
	waitUntil(t, "readyz to pass again", func() bool { st, _, _ := s.do("", "GET", "/readyz", nil); return st == 200 })
	res := s.json("R1", "POST", "/v1/customers/C1/contacts", contact("복구 후"), 201)
	acked++
	s.json("R1", "GET", "/v1/customers/C1", nil, 200, "Dangol-Min-Position", fmt.Sprint(res["position"]))
	if evs := s.json("U1", "GET", "/v1/audit/streams/customer-C1", nil, 200)["events"].([]any); len(evs) != acked {
		t.Fatalf("customer-C1 holds %d events, %d appends were acknowledged", len(evs), acked)
	}
}

// TestMigrateCommand: `dangol migrate` applies the schema once; a second run
// has nothing to do; a server started without migrating finds it ready.
func TestMigrateCommand(t *testing.T) {
	url := pgtest.Database(t)
	var out bytes.Buffer
	if err := run(t.Context(), []string{"migrate", "--postgres-url", url}, noEnv, &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "applied migrations [1 2 3]") {
		t.Fatalf("first migrate: %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate"}, storeEnv(url), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "already at version 3") {
		t.Fatalf("second migrate: %q", out.String())
	}
	if err := run(t.Context(), []string{"migrate"}, noEnv, &out, &out); err == nil {
		t.Fatal("migrate without a URL succeeded")
	}
}

// TestRebuildCommand: `dangol rebuild` while a server runs on the same
// database; the server keeps answering, and afterwards answers the same
// reads from the rebuilt tables.
func TestRebuildCommand(t *testing.T) {
	if pgBackend {
		t.Skip("runs in the default pass")
	}
	dir := t.TempDir()
	s := bootStackAt(t, dir, pgtest.Database(t))
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	pos := fmt.Sprint(s.json("R1", "POST", "/v1/customers/C1/contacts", contact("재구성 전"), 201)["position"])
	_, _, before := s.do("R1", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", pos)

	var out bytes.Buffer
	if err := run(t.Context(), []string{"rebuild", "--data", dir}, storeEnv(s.url), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "swapped in at position") {
		t.Fatalf("rebuild said %q", out.String())
	}
	if st, _, after := s.do("R1", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", pos); st != 200 || !bytes.Equal(after, before) {
		t.Fatalf("after the rebuild: %d\n%s\nbefore:\n%s", st, after, before)
	}
	// The server's writer goes on from the rebuilt tables.
	pos = fmt.Sprint(s.json("R1", "POST", "/v1/customers/C1/contacts", contact("재구성 후"), 201)["position"])
	s.json("R1", "GET", "/v1/customers/C1", nil, 200, "Dangol-Min-Position", pos)
	if err := run(t.Context(), []string{"rebuild", "--data", dir}, noEnv, &out, io.Discard); err == nil {
		t.Fatal("rebuild on the embedded store succeeded")
	}
}
