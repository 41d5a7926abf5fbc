package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
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

// TestComposeHealthchecks: every dangol server of docker-compose.yml has a
// healthcheck, which runs `/dangol health` on the server's /healthz (its
// image has no shell nor curl), as do the databases and KurrentDB theirs.
// (No dangol service had one: docker showed a wedged server as running.)
// It reads the file as docker-compose renders it (ops/test.sh installs
// Debian's).
func TestComposeHealthchecks(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose is needed under CI=true")
		}
		t.Skip("no docker-compose")
	}
	cmd := exec.CommandContext(t.Context(), "docker-compose", "--profile", "postgres", "--profile", "kurrentdb", "config")
	cmd.Dir = "../.."
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "POSTGRES_PASSWORD=ci", "DANGOL_MASTER_KEY=" + strings.Repeat("A", 43) + "="}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose config: %v", err)
	}
	services := map[string]string{}
	blocks := regexp.MustCompile(`(?m)^  ([a-z][a-z0-9-]*):\n`).FindAllStringSubmatchIndex(string(out), -1)
	for i, b := range blocks {
		end := len(out)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		services[string(out[b[2]:b[3]])] = string(out[b[1]:end])
	}
	healthTest := regexp.MustCompile(`(?m)^    healthcheck:\n(?:      .*\n)*?      test:\n((?:      - .*\n)+)`)
	for _, name := range []string{"dangol", "dangol-pg-a", "dangol-pg-b", "dangol-kdb", "postgres", "postgres-kdb", "kurrentdb"} {
		svc, ok := services[name]
		if !ok {
			t.Errorf("no service %s", name)
			continue
		}
		m := healthTest.FindStringSubmatch(svc)
		if m == nil {
			t.Errorf("%s has no healthcheck", name)
			continue
		}
		test := strings.Fields(strings.ReplaceAll(m[1], "- ", ""))
		if strings.Contains(svc, "dockerfile: ops/Dockerfile") && !slices.Equal(test, []string{"CMD", "/dangol", "health", "--url", "http://127.0.0.1:9090/healthz"}) {
			t.Errorf("%s's healthcheck is %q, want /dangol health on the metrics listener's /healthz", name, test)
		}
	}
}

// TestHealthCommand: `dangol health --url URL` exits 0 when the URL answers 200,
// and fails naming the status or the connection error otherwise.
func TestHealthCommand(t *testing.T) {
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	var out bytes.Buffer
	if err := run(t.Context(), []string{"health", "--url", srv.URL + "/healthz"}, noEnv, &out, &out); err != nil {
		t.Fatalf("health on 200: %v", err)
	}
	status = http.StatusServiceUnavailable
	if err := run(t.Context(), []string{"health", "--url", srv.URL + "/healthz"}, noEnv, &out, &out); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("health on 503: %v", err)
	}
	srv.Close()
	if err := run(t.Context(), []string{"health", "--url", srv.URL + "/healthz"}, noEnv, &out, &out); err == nil {
		t.Fatal("health on a closed server: no error")
	}
}
