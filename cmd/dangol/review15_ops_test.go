package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"
)

// TestBenchHTTPRealisticAsAdvisors: in bench http's realistic case each
// advisor's subscriber signs in as that advisor (a rep's own token), as a
// bank's advisors do: one advisor's token is refused another advisor's
// topic (4403). Each case counts, beside what is missing, the duplicates
// and the messages a subscriber got that are not on its topics, and none
// came. (The advisors subscribed with one supervisor's token, and a
// duplicate or a leaked message was silently skipped.)
func TestBenchHTTPRealisticAsAdvisors(t *testing.T) {
	var out bytes.Buffer
	args := []string{"bench", "http", "--customers", "12", "--advisors", "4", "--log-subscribers", "2", "--subscribers", "3",
		"--appends", "10", "--reads", "10", "--rate", "40", "--live-duration", "500ms"}
	if err := run(context.Background(), args, noEnv, &out, &out); err != nil {
		t.Fatalf("bench http: %v\n%s", err, out.String())
	}
	text := out.String()
	if !strings.Contains(text, "advisor ADV00000's token on advisor:ADV00001: refused with 4403") {
		t.Errorf("no check that an advisor's token is refused another advisor's topic:\n%s", text)
	}
	if !strings.Contains(text, " dup unwanted ") {
		t.Fatalf("the live header counts no duplicates or unwanted messages:\n%s", text)
	}
	rows := regexp.MustCompile(`(?m)^(realistic|firehose) +(?:\d+ +){8}(\d+) +(\d+) +(\d+) `).FindAllStringSubmatch(text, -1)
	if len(rows) != 2 {
		t.Fatalf("%d live rows:\n%s", len(rows), text)
	}
	for _, r := range rows {
		if r[2] != "0" || r[3] != "0" || r[4] != "0" {
			t.Errorf("%s: 4008 %s, duplicates %s, unwanted %s; want none:\n%s", r[1], r[2], r[3], r[4], text)
		}
	}
}
