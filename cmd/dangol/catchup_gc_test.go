package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

// gcSetting returns the collector's percent and memory limit, changing
// neither.
func gcSetting() (percent int, limit int64) {
	percent = debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	return percent, debug.SetMemoryLimit(-1)
}

// setGC sets the collector for a test and puts the test's starting setting
// back at its end.
func setGC(t *testing.T, percent int, limit int64) {
	p0, l0 := gcSetting()
	t.Cleanup(func() { debug.SetGCPercent(p0); debug.SetMemoryLimit(l0) })
	debug.SetGCPercent(percent)
	debug.SetMemoryLimit(limit)
}

// TestCatchUpGCRaiseRestore: a catch-up raises the GC percent and, with no
// GOMEMLIMIT, runs under three quarters of the machine's memory; the
// restore puts both back. Nested raises (several read sides in one
// process) restore at the last one; a limit the operator set is kept, and
// a percent already higher (or off) is not lowered.
func TestCatchUpGCRaiseRestore(t *testing.T) {
	quiet := slog.New(slog.DiscardHandler)
	derived := catchUpMemoryLimit()
	if derived <= 0 {
		t.Skip("the machine's memory cannot be read here")
	}
	if total := memTotal(); derived > total {
		t.Fatalf("derived limit %d is above the machine's memory %d", derived, total)
	}

	setGC(t, 100, math.MaxInt64)
	c := catchUpGC{percent: 777}
	r1 := c.raise(quiet)
	if p, l := gcSetting(); p != 777 || l != derived {
		t.Fatalf("during the catch-up: GOGC %d, limit %d; want 777 and %d", p, l, derived)
	}
	r2 := c.raise(quiet) // a second read side in the same process
	r1()
	r1() // twice: counts once
	if p, l := gcSetting(); p != 777 || l != derived {
		t.Fatalf("one of two catch-ups restored: GOGC %d, limit %d; want still 777 and %d", p, l, derived)
	}
	r2()
	if p, l := gcSetting(); p != 100 || l != math.MaxInt64 {
		t.Fatalf("after the catch-up: GOGC %d, limit %d; want 100 and no limit", p, l)
	}

	setGC(t, 100, 3<<30) // GOMEMLIMIT=3GiB
	r := c.raise(quiet)
	if p, l := gcSetting(); p != 777 || l != 3<<30 {
		t.Fatalf("under GOMEMLIMIT: GOGC %d, limit %d; want 777 and the operator's 3 GiB", p, l)
	}
	r()
	if p, l := gcSetting(); p != 100 || l != 3<<30 {
		t.Fatalf("after, under GOMEMLIMIT: GOGC %d, limit %d", p, l)
	}

	for _, prev := range []int{-1, 1000} { // GOGC=off, GOGC=1000
		setGC(t, prev, math.MaxInt64)
		r := c.raise(quiet)
		if p, _ := gcSetting(); p != prev {
			t.Fatalf("GOGC %d before: %d during the catch-up, want it kept", prev, p)
		}
		r()
		if p, l := gcSetting(); p != prev || l != math.MaxInt64 {
			t.Fatalf("GOGC %d before: GOGC %d, limit %d after", prev, p, l)
		}
	}

	setGC(t, 100, math.MaxInt64)
	catchUpGC{}.raise(quiet)() // 0: the collector is left alone
	if p, l := gcSetting(); p != 100 || l != math.MaxInt64 {
		t.Fatalf("--catchup-gc-percent 0 changed the collector: GOGC %d, limit %d", p, l)
	}
}

// TestServeRestoresGCAfterCatchUp: `dangol serve` raises the collector
// for its catch-up (it says so in its log) and, once the read models have
// caught up, puts back the setting it started with.
func TestServeRestoresGCAfterCatchUp(t *testing.T) {
	if catchUpMemoryLimit() <= 0 {
		t.Skip("the machine's memory cannot be read here")
	}
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"seed", "--data", dir, "--customers", "1000", "--months", "1", "--workers", "4"}, noEnv, &out, &out); err != nil {
		t.Fatalf("seed: %v\n%s", err, out.String())
	}
	setGC(t, 100, math.MaxInt64)
	cfg := serveConfig{addr: "127.0.0.1:0", metricsAddr: "off", logLevel: "info", shutdownTimeout: hang, readyLag: 1000, maxBody: 64 << 10}
	cfg.store.data = dir
	cfg.catchUpGC.percent = 777
	var log syncBuffer
	srv, err := startServer(context.Background(), cfg, noEnv, &log)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	select {
	case <-srv.gc.restored:
	case <-time.After(hang):
		t.Fatal("hang: the collector was not put back")
	}
	select {
	case <-srv.runner.CaughtUp():
	default:
		t.Fatal("the collector was put back before the read models caught up")
	}
	if p, l := gcSetting(); p != 100 || l != math.MaxInt64 {
		t.Fatalf("after the catch-up: GOGC %d, limit %d; want 100 and no limit", p, l)
	}
	var raised map[string]any
	for line := range strings.SplitSeq(log.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && strings.HasPrefix(m["msg"].(string), "catch-up: collector raised") {
			raised = m
		}
	}
	if raised == nil || raised["gc_percent"] != 777.0 || raised["memory_limit_bytes"] != float64(catchUpMemoryLimit()) {
		t.Fatalf("no log line of the raised collector (GOGC 777, limit %d):\n%s", catchUpMemoryLimit(), log.String())
	}
	if got, want := raised["transparent_huge_pages"], hugePages(); got != want {
		t.Fatalf("the raise's log names transparent huge pages %v, want the host's %q", got, want)
	}
}

// TestSelectedMode reads the bracketed word of sysfs choice lists, as
// /sys/kernel/mm/transparent_hugepage/enabled writes them.
func TestSelectedMode(t *testing.T) {
	for in, want := range map[string]string{
		"always [madvise] never\n": "madvise",
		"[always] madvise never\n": "always",
		"always madvise [never]":   "never",
		"always madvise never\n":   "",
		"[] always":                "",
		"":                         "",
	} {
		if got := selectedMode(in); got != want {
			t.Errorf("selectedMode(%q) = %q, want %q", in, got, want)
		}
	}
}
