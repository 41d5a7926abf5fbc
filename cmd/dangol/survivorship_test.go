package main

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestServeSurvivorship: --survivorship reads and checks its file when the
// flag is parsed (a bad rule or a missing file stops the start, naming
// what is wrong), and the in-memory read models pick surviving claims by
// it: latest first, the card application's newer phone stands over core's.
func TestServeSurvivorship(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good, bad := write("rule.json", `{"order":["latest"]}`), write("bad.json", `{"order":["newest"]}`)
	for args, want := range map[string]string{bad: `"newest" is not a criterion`, filepath.Join(dir, "none.json"): "no such file"} {
		var cfg serveConfig
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		cfg.register(fs)
		if err := parse(fs, []string{"--survivorship", args}, noEnv); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("--survivorship %s: %v, want an error saying %q", args, err, want)
		}
	}

	cfg := mainConfig(filepath.Join(dir, "data"))
	cfg.metricsAddr = metricsOff
	if err := cfg.survivorship.Set(good); err != nil {
		t.Fatal(err)
	}
	srv, err := startServer(t.Context(), cfg, noEnv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	registered := time.Now().UTC()
	var evs []events.Event
	for _, d := range []events.Data{
		&events.CustomerRegistered{CustomerID: "S1", Name: "Seo Yuna", Phone: "010-1111-2222", BranchID: "B01", Source: events.Source{System: "core"}},
		&events.ProfileReported{Source: events.RecordSource{System: "card", Ref: "APP-1", Version: "1", ObservedAt: registered.Add(time.Hour)},
			Fields: map[string]string{"phone": "010-3333-4444"}},
	} {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "system:import:card"}})
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	res, err := srv.store.Append(t.Context(), events.CustomerStream("S1"), events.NoStream, evs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.runner.WaitFor(t.Context(), res.Position); err != nil {
		t.Fatal(err)
	}
	v, err := srv.queries.Customer(t.Context(), "S1", registered)
	if err != nil {
		t.Fatal(err)
	}
	if v.Phone != "010-3333-4444" {
		t.Errorf("phone %q under latest first, want the card's", v.Phone)
	}
}
