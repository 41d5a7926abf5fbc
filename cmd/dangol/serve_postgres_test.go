package main

import (
	"bytes"
	"context"
	"encoding/json"
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
	url := pgtest.Database(t)
	dir := t.TempDir()
	a := e2eStartAt(t, dir, url, nil)
	b := e2eStartAt(t, dir, url, a.tokens)

	onB := b.subscribe("auditor", []string{"log"}, nil)
	onA := a.subscribe("auditor", []string{"log"}, nil)
	time.Sleep(200 * time.Millisecond) // let both subscriptions go live

	res := a.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	p1 := fmt.Sprint(res["position"])
	res = b.must("rep", "POST", "/v1/customers/C1/contacts", contactBody(), 201)
	p2 := fmt.Sprint(res["position"])
	res = a.must("rep", "POST", "/v1/customers", customerBody("C2"), 201)
	p3 := fmt.Sprint(res["position"])

	for name, w := range map[string]*wsClient{"server B": onB, "server A": onA} {
		waitUntil(t, name+"'s live feed to deliver the three writes", func() bool { return len(w.positions()) >= 3 })
		got := w.positions()
		want := []string{p1, p2, p3}
		for i := range want {
			if fmt.Sprint(got[i]) != want[i] {
				t.Fatalf("%s live feed positions %v, want %v", name, got, want)
			}
		}
	}

	for _, path := range []string{"/v1/customers/C1", "/v1/customers/C2", "/v1/customers?limit=10", "/v1/customers/C1/timeline"} {
		sa, ja := a.call("rep", "GET", path, nil, "Dangol-Min-Position", p3)
		sb, jb := b.call("rep", "GET", path, nil, "Dangol-Min-Position", p3)
		if sa != 200 || sb != 200 {
			t.Fatalf("GET %s: %d on A, %d on B", path, sa, sb)
		}
		if ma, mb := mustJSON(ja), mustJSON(jb); ma != mb {
			t.Fatalf("GET %s differs between the servers:\nA %s\nB %s", path, ma, mb)
		}
	}
	if st, j := b.call("rep", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", "nonsense"); st != 400 {
		t.Fatalf("a malformed Dangol-Min-Position: %d %v, want 400", st, j)
	}
	if st, _ := b.call("rep", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", "999999"); st != 503 {
		t.Fatalf("a Dangol-Min-Position beyond the log: %d, want 503 after the bounded wait", st)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
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
	e := e2eStartAt(t, t.TempDir(), url, nil)
	e.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	acked := 1
	for range 5 {
		e.must("rep", "POST", "/v1/customers/C1/contacts", contactBody(), 201)
		acked++
	}
	if st, j := e.call("", "GET", "/readyz", nil); st != 200 {
		t.Fatalf("readyz before the outage: %d %v", st, j)
	}

	pg.Stop()
	for range 3 {
		if st, j := e.call("rep", "POST", "/v1/customers/C1/contacts", contactBody()); st != 503 {
			t.Fatalf("a write while the database is down: %d %v, want 503", st, j)
		}
	}
	if st, _ := e.call("", "GET", "/readyz", nil); st != 503 {
		t.Fatalf("readyz while the database is down: %d, want 503", st)
	}

	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "writes to succeed again", func() bool {
		st, _ := e.call("rep", "POST", "/v1/customers/C1/contacts", contactBody())
		if st == 201 {
			acked++
		}
		return st == 201
	})
	waitUntil(t, "readyz to pass again", func() bool { st, _ := e.call("", "GET", "/readyz", nil); return st == 200 })
	res := e.must("rep", "POST", "/v1/customers/C1/contacts", contactBody(), 201)
	acked++
	st, view := e.call("rep", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", fmt.Sprint(res["position"]))
	if st != 200 {
		t.Fatalf("read after recovery: %d %v", st, view)
	}
	stream := e.must("auditor", "GET", "/v1/audit/streams/customer-C1", nil, 200)
	if evs, _ := stream["events"].([]any); len(evs) != acked {
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
	if !strings.Contains(out.String(), "applied migrations [1 2]") {
		t.Fatalf("first migrate: %q", out.String())
	}
	out.Reset()
	if err := run(t.Context(), []string{"migrate"}, storeEnv(url), &out, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "already at version 2") {
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
	url := pgtest.Database(t)
	dir := t.TempDir()
	e := e2eStartAt(t, dir, url, nil)
	e.must("rep", "POST", "/v1/customers", customerBody("C1"), 201)
	res := e.must("rep", "POST", "/v1/customers/C1/contacts", contactBody(), 201)
	pos := fmt.Sprint(res["position"])
	_, before := e.call("rep", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", pos)

	var out bytes.Buffer
	err := run(t.Context(), []string{"rebuild", "--data", dir}, storeEnv(url), &out, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "swapped in at position") {
		t.Fatalf("rebuild said %q", out.String())
	}
	st, after := e.call("rep", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", pos)
	if st != 200 || mustJSON(after) != mustJSON(before) {
		t.Fatalf("after the rebuild: %d\n%s\nbefore:\n%s", st, mustJSON(after), mustJSON(before))
	}
	// The server's writer goes on from the rebuilt tables.
	res = e.must("rep", "POST", "/v1/customers/C1/contacts", contactBody(), 201)
	if st, _ := e.call("rep", "GET", "/v1/customers/C1", nil, "Dangol-Min-Position", fmt.Sprint(res["position"])); st != 200 {
		t.Fatalf("a write after the rebuild is not readable: %d", st)
	}
	if err := run(t.Context(), []string{"rebuild", "--data", dir}, noEnv, &out, io.Discard); err == nil {
		t.Fatal("rebuild on the embedded store succeeded")
	}
}
