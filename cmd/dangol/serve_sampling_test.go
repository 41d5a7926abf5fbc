package main

import (
	"encoding/json"
	"net/http"
	"testing"
)

// TestServeSamplingFlags: the --sample-* flags are the built-in sampling
// plan (version 0) that GET /v1/qa/sampling-plan serves before any plan is
// published, as the sampler applies it.
func TestServeSamplingFlags(t *testing.T) {
	dir := t.TempDir()
	tok := staffAdd(t, dir, dirURL(t, dir), "S1", "supervisor")
	addr, _, stop := serveCommand(t, dir, "--metrics-addr", "off", "--sample-new-rep-calls", "7", "--sample-long-call-sec", "120",
		"--sample-per-rep-week", "2", "--sample-complaint-days", "4")
	defer stop()
	waitOK(t, "http://"+addr+"/readyz")
	r, err := http.NewRequest("GET", "http://"+addr+"/v1/qa/sampling-plan", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		Current  map[string]any `json:"current"`
		Versions []any          `json:"versions"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /v1/qa/sampling-plan: %d, %v", resp.StatusCode, err)
	}
	want := map[string]float64{"version": 0, "newRepCalls": 7, "longCallSec": 120, "perRepWeek": 2, "complaintDays": 4}
	for k, v := range want {
		if a.Current[k] != v {
			t.Errorf("the built-in plan's %s is %v, want %v (%v)", k, a.Current[k], v, a.Current)
		}
	}
	if len(a.Versions) != 0 {
		t.Errorf("versions %v before any was published", a.Versions)
	}
}
