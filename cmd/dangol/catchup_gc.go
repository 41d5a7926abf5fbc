package main

import (
	"bufio"
	"bytes"
	"flag"
	"log/slog"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
)

// defaultCatchUpGCPercent is --catchup-gc-percent's default. A replay of
// the read models allocates ≈2 KB an event, almost all of it garbage at
// once, while the live heap (the read models) grows from nothing: with
// Go's default of 100 the collector marks a growing heap over and over
// (a third of a replay's CPU, docs/replay.md). 400 cut the collections of
// a 200,000-customer replay from 15 to 4; higher percents saved few more
// collections and cost more page faults (fresh memory from the kernel).
const defaultCatchUpGCPercent = 400

// catchUpGC is --catchup-gc-percent: the collector's setting while the
// in-memory read models catch up with the log (a start's replay, or a
// snapshot's load and the tail after it).
type catchUpGC struct{ percent int }

func (c *catchUpGC) register(fs *flag.FlagSet) {
	fs.IntVar(&c.percent, "catchup-gc-percent", defaultCatchUpGCPercent,
		"the Go collector's GOGC while the in-memory read models catch up at start (replay, or snapshot load and tail), put back once caught up; "+
			"never past a memory limit: GOMEMLIMIT if set, else three quarters of the machine's (or the cgroup's) memory for the catch-up; "+
			"0: leave the collector as it is")
}

// The catch-up setting is process-wide (the runtime has one collector),
// and a process may hold several read sides (tests start many servers):
// the first raise saves the collector's setting, the last restore puts it
// back.
var catchUpState struct {
	sync.Mutex
	raised      int   // raises not yet restored
	prevPercent int   // the GC percent before the first raise
	prevLimit   int64 // the memory limit before the first raise
}

// raise sets the collector for a catch-up and returns the function that
// puts it back (safe to call more than once; only the first call counts).
// The percent is only ever raised, never lowered (GOGC=off or a higher
// GOGC stays as it is). The memory limit: one set by GOMEMLIMIT (or
// debug.SetMemoryLimit) is kept; without one, the catch-up runs under
// catchUpMemoryLimit's, so that a high percent can never grow the heap to
// five times a large bank's read models (4,000,000 customers: ≈9 GB live,
// docs/scale.md). Where the machine's memory cannot be read, the collector
// is left as it is.
func (c catchUpGC) raise(logger *slog.Logger) (restore func()) {
	if c.percent <= 0 {
		return func() {}
	}
	st := &catchUpState
	st.Lock()
	defer st.Unlock()
	if st.raised == 0 {
		st.prevLimit = debug.SetMemoryLimit(-1)
		limit := st.prevLimit
		if limit == math.MaxInt64 { // no limit set: derive one
			limit = catchUpMemoryLimit()
		}
		if limit <= 0 {
			logger.Info("catch-up: the machine's memory is unknown; the collector is left as it is")
			return func() {}
		}
		st.prevPercent = debug.SetGCPercent(c.percent)
		if st.prevPercent < 0 || st.prevPercent >= c.percent {
			debug.SetGCPercent(st.prevPercent) // off or higher already: keep it
		}
		debug.SetMemoryLimit(limit)
		logger.Info("catch-up: collector raised until the read models are caught up", "gc_percent", max(c.percent, st.prevPercent),
			"memory_limit_bytes", limit, "transparent_huge_pages", hugePages())
	}
	st.raised++
	var once sync.Once
	return func() {
		once.Do(func() {
			st.Lock()
			defer st.Unlock()
			if st.raised--; st.raised == 0 {
				debug.SetGCPercent(st.prevPercent)
				debug.SetMemoryLimit(st.prevLimit)
			}
		})
	}
}

// catchUpMemoryLimit is the soft memory limit of a catch-up without
// GOMEMLIMIT: three quarters of the machine's memory, or of the cgroup's
// limit when that is lower (a container); 0 when neither can be read. The
// quarter left is for the kernel's page cache and the process's memory
// outside the Go heap; the runtime collects as the heap nears the limit,
// whatever the percent.
func catchUpMemoryLimit() int64 {
	total := memTotal()
	if cg := cgroupLimit(); cg > 0 && (total <= 0 || cg < total) {
		total = cg
	}
	return total / 4 * 3
}

// memTotal returns /proc/meminfo's MemTotal in bytes, 0 if unknown.
func memTotal() int64 {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := bytes.Fields(sc.Bytes())
		if len(f) >= 2 && string(f[0]) == "MemTotal:" {
			kb, err := strconv.ParseInt(string(f[1]), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimit returns the memory limit of the process's cgroup (v2's
// memory.max, else v1's limit_in_bytes), 0 if none or unknown.
func cgroupLimit() int64 {
	for _, p := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 { // "max", or v1's "unlimited" page-rounded MaxInt64
			return 0
		}
		return n
	}
	return 0
}

// thpSetting is the path of Linux's transparent huge page setting.
const thpSetting = "/sys/kernel/mm/transparent_hugepage/enabled"

// hugePages returns the host's transparent huge page mode for anonymous
// memory ("always", "madvise" or "never"; "" where it cannot be read). It
// is reported beside every catch-up because it moves a large bank's
// replay more than most code changes: with "madvise", the kernel's
// default, the Go heap gets none (the runtime asks for no huge pages) and
// a 4,000,000-customer catch-up faults in its 18 GB heap 4 KiB at a time
// and marks it through as many TLB entries; with "always" it measured
// 1.1-1.2 times the rate (docs/replay.md; the Go GC guide's section on
// transparent huge pages says the same). The mode is the operator's to
// set; dangol does not change it.
func hugePages() string {
	b, err := os.ReadFile(thpSetting)
	if err != nil {
		return ""
	}
	return selectedMode(string(b))
}

// selectedMode returns the bracketed word of a sysfs choice list such as
// "always [madvise] never", "" if none is bracketed.
func selectedMode(list string) string {
	for _, w := range strings.Fields(list) {
		if len(w) > 2 && w[0] == '[' && w[len(w)-1] == ']' {
			return w[1 : len(w)-1]
		}
	}
	return ""
}

// gcCatchUp is one read side's raised collector: put back when the read
// side has caught up (until) or when the server closes first (end).
type gcCatchUp struct {
	restore  func()
	once     sync.Once
	stop     chan struct{}
	stopOnce sync.Once
	restored chan struct{} // closed once the collector was put back
}

// startCatchUpGC raises the collector as c says (catchUpGC.raise).
func startCatchUpGC(c catchUpGC, logger *slog.Logger) *gcCatchUp {
	return &gcCatchUp{restore: c.raise(logger), stop: make(chan struct{}), restored: make(chan struct{})}
}

// until puts the collector back once caughtUp closes (or end is called).
func (g *gcCatchUp) until(caughtUp <-chan struct{}) {
	go func() {
		select {
		case <-caughtUp:
		case <-g.stop:
		}
		g.done()
	}()
}

// end puts the collector back now, if it was not yet.
func (g *gcCatchUp) end() {
	g.done()
	g.stopOnce.Do(func() { close(g.stop) })
}

func (g *gcCatchUp) done() { g.once.Do(func() { g.restore(); close(g.restored) }) }
