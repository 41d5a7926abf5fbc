package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBenchCampaigns runs `dangol bench campaigns` at a small N and checks
// the shape of its report: the machine and the command, the bank, each
// launch with its counts (checked against its preview by the command
// itself) and the incremental events' quantiles. No time is judged: this
// machine's speed is no test's business; the counts are, as the bank is
// built the same way every time.
func TestBenchCampaigns(t *testing.T) {
	args := []string{"bench", "campaigns", "--customers", "3000", "--campaigns", "3", "--events", "600"}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("bench campaigns: %v\nstdout:\n%s\nstderr:\n%s", err, out.String(), errOut.String())
	}
	us := `\d+\.\dµs`
	q := `p50=` + us + ` p90=` + us + ` p99=` + us + ` max=` + us + `  mean=` + us
	launch := func(i, name, channel, holdOut string) []string {
		return []string{
			`^launch ` + i + ` "` + name + `" \(` + channel + `, ` + holdOut + `% hold-out\): 3000 customers judged in \d+\.\d\dms \(CPU \d+\.\d\dms, this process\): [1-9]\d* targets, \d+ held out; target < 2000\.00ms: (met|MISSED)$`,
			`^  preview in \d+\.\d\dms: [1-9]\d* matching, \d+ do-not-contact, \d+ without consent, [1-9]\d* targets, \d+ held out$`,
		}
	}
	want := []string{
		`^dangol bench campaigns  \S+  \w+/\w+  \d+ CPUs \(.+\)  GOMAXPROCS=\d+  go\S+$`,
		`^command: ` + regexp.QuoteMeta("dangol "+strings.Join(args, " ")) + `$`,
		`^settings: --campaigns=3 --customers=3000 --events=600$`,
		`^load average \(1, 5, 15 min\) at the start: (\d+\.\d+ \d+\.\d+ \d+\.\d+|unknown)$`,
		`^bank: 3000 customers built in memory in \S+ \([1-9]\d* events applied to the customer fold directly\), live heap \d+ MiB$`,
	}
	want = append(want, launch("1", "vip-wedding", "phone_outbound", "10")...)
	want = append(want, launch("2", "everyone", "sms", "0")...)
	want = append(want, launch("3", "life-events", "phone_outbound", "10")...)
	want = append(want,
		`^incremental: 600 customer events with 3 running campaigns$`,
		`^  customer fold \+ campaigns  `+q+`$`,
		`^  campaigns alone            `+q+`$`,
		`^  afterwards [1-9]\d* customers on the 3 lists \(both groups, not removed\)$`)
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d:\n%s\nwant it to match\n%s", i+1, lines[i], re)
		}
	}
	// "everyone" by SMS: a third have SMS consent, but one in five of
	// those refuse every channel (i%3 == 0 and i%5 != 0): 800 of 3000.
	if m := regexp.MustCompile(`launch 2 "everyone" .*: (\d+) targets`).FindStringSubmatch(out.String()); m == nil || m[1] != strconv.Itoa(800) {
		t.Errorf("the everyone campaign's targets: %q, want 800", m)
	}
}

// TestBenchCampaignsFlags: out-of-range settings are refused before any work.
func TestBenchCampaignsFlags(t *testing.T) {
	for _, args := range [][]string{{"--campaigns", "0"}, {"--campaigns", "6"}, {"--customers", "0"}, {"--events", "0"}} {
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"bench", "campaigns"}, args...), func(string) string { return "" }, &out, &out)
		if err == nil || strings.Contains(out.String(), "launch") {
			t.Errorf("bench campaigns %v: %v\n%s", args, err, out.String())
		}
	}
}
