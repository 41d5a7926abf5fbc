package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
)

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
