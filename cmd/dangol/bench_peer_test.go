package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestBenchPeerRefused: --peer names Message DB only, and only beside the
// PostgreSQL store (its SQL needs the same cluster); anything else is a
// clear error before any load runs.
func TestBenchPeerRefused(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--store", "embedded", "--peer", "messagedb", "--peer-dir", "/nonexistent"}, "needs --store postgres"},
		{[]string{"--store", "embedded", "--peer", "messagedb"}, "needs --peer-dir"},
		{[]string{"--store", "embedded", "--peer", "emmett"}, "the peer is messagedb"},
	} {
		var out bytes.Buffer
		args := append([]string{"bench", "store", "--bench-dir", t.TempDir(), "--writers", "1", "--events", "10", "--batched", "0"}, c.args...)
		err := run(context.Background(), args, noEnv, &out, &out)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("%v: %v, want an error saying %q", c.args, err, c.want)
		}
		if strings.Contains(out.String(), "writers=") {
			t.Fatalf("%v: a load ran before the refusal:\n%s", c.args, out.String())
		}
	}
}
