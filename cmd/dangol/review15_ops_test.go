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
	services := composeServices(t, []string{"POSTGRES_PASSWORD=ci", "DANGOL_MASTER_KEY=" + strings.Repeat("A", 43) + "=", "GRAFANA_ADMIN_PASSWORD=ci"}, "postgres", "kurrentdb")
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

// composeServices renders docker-compose.yml with docker-compose config
// for profiles, with env (and PATH) its only environment, and returns each
// service's rendered block by name.
func composeServices(t *testing.T, env []string, profiles ...string) map[string]string {
	t.Helper()
	if _, err := exec.LookPath("docker-compose"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("docker-compose is needed under CI=true")
		}
		t.Skip("no docker-compose")
	}
	var args []string
	for _, p := range profiles {
		args = append(args, "--profile", p)
	}
	cmd := exec.CommandContext(t.Context(), "docker-compose", append(args, "config")...)
	cmd.Dir = "../.."
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("docker-compose %v config: %v", profiles, err)
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
	return services
}

// TestComposeGrafanaPassword: docker-compose.yml holds no Grafana password
// (Grafana's admin was admin/admin): every profile's Grafana takes it from
// GRAFANA_ADMIN_PASSWORD, and with none set it still renders (the default
// profile is rendered with no environment) but Grafana refuses to start.
func TestComposeGrafanaPassword(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(GF_SECURITY_ADMIN_\w*|GF_SECURITY_\w*PASSWORD\w*):\s*(.*)$`).FindAllStringSubmatch(string(raw), -1) {
		if m[1] != "GF_SECURITY_ADMIN_PASSWORD" || m[2] != "${GRAFANA_ADMIN_PASSWORD:-}" {
			t.Errorf("docker-compose.yml sets %s to %q, want GF_SECURITY_ADMIN_PASSWORD from ${GRAFANA_ADMIN_PASSWORD:-} only", m[1], m[2])
		}
	}
	const secret = "grafana-test-secret-7f3a"
	dbEnv := []string{"POSTGRES_PASSWORD=ci", "DANGOL_MASTER_KEY=" + strings.Repeat("A", 43) + "="}
	for _, profile := range []string{"", "postgres", "kurrentdb"} {
		var profiles []string
		if profile != "" {
			profiles = []string{profile}
		}
		grafana := composeServices(t, append(slices.Clone(dbEnv), "GRAFANA_ADMIN_PASSWORD="+secret), profiles...)["grafana"]
		if !strings.Contains(grafana, "GF_SECURITY_ADMIN_PASSWORD: "+secret+"\n") {
			t.Errorf("profile %q: Grafana does not take GRAFANA_ADMIN_PASSWORD:\n%s", profile, grafana)
		}
		if !strings.Contains(grafana, "set GRAFANA_ADMIN_PASSWORD") || !strings.Contains(grafana, "exec /run.sh") {
			t.Errorf("profile %q: Grafana's entrypoint does not refuse an empty password:\n%s", profile, grafana)
		}
	}
	if grafana := composeServices(t, nil)["grafana"]; !strings.Contains(grafana, "GF_SECURITY_ADMIN_PASSWORD: \"\"\n") &&
		!strings.Contains(grafana, "GF_SECURITY_ADMIN_PASSWORD: ''\n") {
		t.Errorf("with no environment, Grafana's password is not empty:\n%s", grafana)
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
