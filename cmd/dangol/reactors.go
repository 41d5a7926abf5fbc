package main

import (
	"flag"

	"github.com/dangol/dangol/projections"
)

// samplerFlags configure the reactors `dangol serve` runs.
type samplerFlags struct {
	disable     bool
	newRepCalls int
	longCallSec int
	perRepWeek  int
}

func (f *samplerFlags) register(fs *flag.FlagSet) {
	d := projections.DefaultSamplerPolicy()
	fs.BoolVar(&f.disable, "no-reactors", false, "do not run the QA sampler and the segmentation job (e.g. on all but one of several servers)")
	fs.IntVar(&f.newRepCalls, "sample-new-rep-calls", d.NewRepCalls, "QA sampler: review this many first calls of every rep")
	fs.IntVar(&f.longCallSec, "sample-long-call-sec", d.LongCallSec, "QA sampler: review calls at least this long")
	fs.IntVar(&f.perRepWeek, "sample-per-rep-week", d.PerRepWeek, "QA sampler: random calls per rep per ISO week")
}

func (f *samplerFlags) reactors(store projections.Appender) []projections.Reactor {
	if f.disable {
		return nil
	}
	p := projections.DefaultSamplerPolicy()
	p.NewRepCalls, p.LongCallSec, p.PerRepWeek = f.newRepCalls, f.longCallSec, f.perRepWeek
	return []projections.Reactor{projections.NewSampler(p, store), projections.NewSegmenter(projections.DefaultTierRule(), store)}
}
