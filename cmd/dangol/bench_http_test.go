package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchHTTPLiveCases: `dangol bench http` reports the firehose and the
// realistic fan-out side by side in one run; in the realistic case each
// append is expected once on its customer's advisor's topic and once per
// log subscriber, and at this small load every expected message arrives,
// none twice, none off its subscriber's topics. Each advisor's subscriber
// signs in as that advisor (a rep's own token), as a bank's advisors do:
// one advisor's token is refused another advisor's topic (4403). No time
// is judged.
func TestBenchHTTPLiveCases(t *testing.T) {
	var out bytes.Buffer
	args := []string{"bench", "http", "--customers", "12", "--advisors", "4", "--log-subscribers", "2", "--subscribers", "3",
		"--appends", "10", "--reads", "10", "--rate", "40", "--live-duration", "500ms"}
	if err := run(context.Background(), args, noEnv, &out, &out); err != nil {
		t.Fatalf("bench http: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "advisor ADV00000's token on advisor:ADV00001: refused with 4403") {
		t.Errorf("no check that an advisor's token is refused another advisor's topic:\n%s", out.String())
	}
	rows := map[string][]int{}
	for _, m := range regexp.MustCompile(`(?m)^(realistic|firehose) +(\d+) +(\d+) +\d+ +\d+ +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+) +(\d+)`).FindAllStringSubmatch(out.String(), -1) {
		var n []int
		for _, f := range m[2:] {
			v, _ := strconv.Atoi(f)
			n = append(n, v)
		}
		rows[m[1]] = n // subscribers, appended, expected, received, missing, closed, 4008, duplicates, unwanted
	}
	want := map[string][2]int{"realistic": {4 + 2, 1 + 2}, "firehose": {3, 3}} // subscribers, expected per append
	for name, w := range want {
		r, ok := rows[name]
		if !ok {
			t.Fatalf("no %s row:\n%s", name, out.String())
		}
		if r[0] != w[0] || r[1] == 0 || r[2] != r[1]*w[1] {
			t.Errorf("%s: %d subscribers, %d appended, %d expected; want %d subscribers, %d per append:\n%s", name, r[0], r[1], r[2], w[0], w[1], out.String())
		}
		if r[3] != r[2] || r[4] != 0 || r[5] != 0 || r[7] != 0 || r[8] != 0 {
			t.Errorf("%s: %d of %d received, %d missing, %d closed, %d duplicates, %d unwanted:\n%s", name, r[3], r[2], r[4], r[5], r[7], r[8], out.String())
		}
	}
}
