package main

import (
	"bytes"
	"io"
	"regexp"
	"testing"
)

// TestBenchStoreSealing: `dangol bench store --seal-every` runs appends
// with the sealer off and on, seals in the runs with it on, and prints the
// on/off ratio. Each run's seals are counted once the sealer has followed
// its events, however fast it kept up; following the log live
// (--seal-poll 0) saves waiting for a poll.
func TestBenchStoreSealing(t *testing.T) {
	var out bytes.Buffer
	args := []string{"bench", "store", "--bench-dir", t.TempDir(), "--writers", "1,4", "--events", "400", "--seal-every", "50", "--seal-poll", "0", "--seal-rounds", "2"}
	if err := run(t.Context(), args, noEnv, &out, io.Discard); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{
		`sealing overhead at 4 writers, --seal-every 50, --seal-poll 0s: 2 rounds`,
		`(?m)^  on  writers=4 .* seals=[1-9]`,
		`(?m)^  off writers=4 `,
		`sealing on/off throughput: median of the rounds [0-9.]+ \(overhead -?[0-9.]+%\), of the totals [0-9.]+ \(-?[0-9.]+%\), [1-9][0-9]* seals`,
	} {
		if !regexp.MustCompile(want).Match(out.Bytes()) {
			t.Errorf("no %q in\n%s", want, out.String())
		}
	}
}
