package api_test

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/chromedp/chromedp"
)

// axe-core, vendored for the tests only (testdata/axe/README.md): it is
// evaluated in each page through the DevTools protocol, which the page's
// Content-Security-Policy does not govern, so the console needs no
// exception for it and never serves it.
//
//go:embed testdata/axe/axe.min.js
var axeSource string

// axeTags are the rule sets every screen must pass: WCAG 2.0 and 2.1, A
// and AA.
var axeTags = []string{"wcag2a", "wcag2aa", "wcag21a", "wcag21aa"}

// axeViolation is one rule a page breaks, with the elements that break it.
type axeViolation struct {
	ID     string `json:"id"`
	Impact string `json:"impact"` // minor, moderate, serious, critical
	Help   string `json:"help"`
	Nodes  []struct {
		Target  string `json:"target"`
		HTML    string `json:"html"`
		Summary string `json:"summary"`
	} `json:"nodes"`
}

func (v axeViolation) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): %s", v.ID, v.Impact, v.Help)
	for i, n := range v.Nodes {
		if i == 5 {
			fmt.Fprintf(&b, "\n      … and %d more", len(v.Nodes)-i)
			break
		}
		fmt.Fprintf(&b, "\n      %s  %s\n        %s", n.Target, n.HTML, strings.ReplaceAll(n.Summary, "\n", " "))
	}
	return b.String()
}

// axeRun runs axe-core on the tab's page and returns its violations of
// axeTags.
func (b *browser) axeRun() []axeViolation {
	b.t.Helper()
	if !eval[bool](b, `typeof window.axe === "object"`) {
		b.do(chromedp.Evaluate[chromedp.Void](axeSource))
	}
	tags, err := json.Marshal(axeTags)
	if err != nil {
		b.t.Fatal(err)
	}
	js := `axe.run(document, {runOnly: {type: "tag", values: ` + string(tags) + `}, resultTypes: ["violations"]}).then(r =>
		r.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help,
			nodes: v.nodes.map(n => ({target: n.target.join(" "), html: n.html.slice(0, 160), summary: n.failureSummary || ""}))})))`
	return run(b, chromedp.Evaluate[[]axeViolation](js, chromedp.EvalAwaitPromise))
}

// checkAxe fails the test on any serious or critical violation on the
// page, listing them all; lesser ones are logged.
func (b *browser) checkAxe(screen string) {
	b.t.Helper()
	var bad, minor []string
	for _, v := range b.axeRun() {
		if v.Impact == "serious" || v.Impact == "critical" {
			bad = append(bad, v.String())
		} else {
			minor = append(minor, v.String())
		}
	}
	if len(minor) > 0 {
		b.t.Logf("%s: axe on the %s page (%s), minor or moderate:\n  %s", b.name, screen, b.location(), strings.Join(minor, "\n  "))
	}
	if len(bad) > 0 {
		b.t.Errorf("%s: axe on the %s page (%s): serious or critical accessibility violations:\n  %s", b.name, screen, b.location(), strings.Join(bad, "\n  "))
	}
}
