package main

import (
	"flag"

	"github.com/dangol/dangol/projections"
)

// samplerFlags configure the reactors `dangol serve` runs and the built-in
// QA sampling plan (version 0), which the sampler applies until a
// supervisor publishes one.
type samplerFlags struct {
	disable       bool
	newRepCalls   int
	longCallSec   int
	perRepWeek    int
	complaintDays int
}

func (f *samplerFlags) register(fs *flag.FlagSet) {
	d := projections.DefaultSamplerPolicy()
	fs.BoolVar(&f.disable, "no-reactors", false, "do not run the QA sampler and the segmentation job (e.g. on all but one of several servers)")
	fs.IntVar(&f.newRepCalls, "sample-new-rep-calls", d.NewRepCalls, "QA sampler's built-in plan: review this many first calls of every rep")
	fs.IntVar(&f.longCallSec, "sample-long-call-sec", d.LongCallSec, "QA sampler's built-in plan: review calls at least this long (0: off)")
	fs.IntVar(&f.perRepWeek, "sample-per-rep-week", d.PerRepWeek, "QA sampler's built-in plan: random calls per rep per ISO week")
	fs.IntVar(&f.complaintDays, "sample-complaint-days", d.ComplaintDays,
		"QA sampler's built-in plan: review a customer's calls within N-1 days of their complaint (1: the same day; 0: off)")
}

// policy returns the sampler's policy: the built-in plan from the flags.
func (f *samplerFlags) policy() projections.SamplerPolicy {
	p := projections.DefaultSamplerPolicy()
	p.NewRepCalls, p.LongCallSec, p.PerRepWeek, p.ComplaintDays = f.newRepCalls, f.longCallSec, f.perRepWeek, f.complaintDays
	return p
}

func (f *samplerFlags) reactors(store projections.Appender) []projections.Reactor {
	if f.disable {
		return nil
	}
	return []projections.Reactor{projections.NewSampler(f.policy(), store), projections.NewSegmenter(projections.DefaultTierRule(), store)}
}
