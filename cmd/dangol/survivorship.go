package main

import (
	"fmt"
	"os"

	"github.com/dangol/dangol/projections"
)

// survivorshipUsage is the help of --survivorship, a flag of serve and
// rebuild.
const survivorshipUsage = "file of the survivorship rule (JSON, docs/provenance.md) that picks each profile field's surviving value among the systems' claims; empty: latest verified, then source priority (crm, core, branch, loan, card, internet), then latest"

// survivorshipFlag is --survivorship: the file of the rule that picks each
// profile field's surviving claim (docs/provenance.md), read and checked
// when the flag is set, so a bad file stops the start with its reason.
// Unset, the rule is projections.DefaultSurvivorship.
type survivorshipFlag struct {
	path string
	rule *projections.Survivorship
}

// String returns the file's path.
func (f *survivorshipFlag) String() string { return f.path }

// Set reads and checks the rule in the file at path.
func (f *survivorshipFlag) Set(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("survivorship rule: %w", err)
	}
	rule, err := projections.ParseSurvivorship(b)
	if err != nil {
		return fmt.Errorf("survivorship rule %s: %w", path, err)
	}
	f.path, f.rule = path, rule
	return nil
}

// Rule returns the rule (nil: the default).
func (f *survivorshipFlag) Rule() *projections.Survivorship { return f.rule }
