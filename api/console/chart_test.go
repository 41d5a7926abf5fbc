package console

import (
	"encoding/xml"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"testing"
)

// svgNode is an element of a chart, parsed back from its SVG.
type svgNode struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []svgNode  `xml:",any"`
}

func (n svgNode) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

func (n svgNode) num(t *testing.T, name string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(n.attr(name), 64)
	if err != nil {
		t.Fatalf("<%s %s=%q>: %v", n.XMLName.Local, name, n.attr(name), err)
	}
	return f
}

// all returns the elements named tag under n (n included) whose ancestors'
// and own class chain contains in ("" any).
func (n svgNode) all(tag, in string) []svgNode {
	var out []svgNode
	var walk func(x svgNode, inside bool)
	walk = func(x svgNode, inside bool) {
		inside = inside || in == "" || x.attr("class") == in
		if x.XMLName.Local == tag && inside {
			out = append(out, x)
		}
		for _, c := range x.Nodes {
			walk(c, inside)
		}
	}
	walk(n, false)
	return out
}

// texts returns the character data of the <text> elements in class in.
func (n svgNode) texts(in string) []string {
	var out []string
	for _, x := range n.all("text", in) {
		out = append(out, x.Text)
	}
	return out
}

// parseChart parses a chart as XML, failing t if it is not well formed or
// lacks its accessible name.
func parseChart(t *testing.T, h template.HTML, title string) svgNode {
	t.Helper()
	var n svgNode
	if err := xml.Unmarshal([]byte(h), &n); err != nil {
		t.Fatalf("the chart is not well-formed SVG: %v\n%s", err, h)
	}
	if n.XMLName.Local != "svg" || n.attr("role") != "img" || n.attr("aria-label") != title {
		t.Fatalf("the chart is <%s role=%q aria-label=%q>, want an svg img named %q", n.XMLName.Local, n.attr("role"), n.attr("aria-label"), title)
	}
	if ts := n.all("title", ""); len(ts) == 0 || ts[0].Text != title {
		t.Errorf("the chart's first <title> is not %q", title)
	}
	if strings.Contains(string(h), "style=") {
		t.Errorf("the chart has a style attribute (the CSP refuses inline styles):\n%s", h)
	}
	return n
}

func pts(kv ...any) []ChartPoint {
	var out []ChartPoint
	for i := 0; i < len(kv); i += 2 {
		v, ok := kv[i+1].(float64)
		if !ok {
			v = float64(kv[i+1].(int))
		}
		out = append(out, ChartPoint{Label: kv[i].(string), Value: v})
	}
	return out
}

func TestBarChartOneSeries(t *testing.T) {
	o := ChartOptions{Title: "QA <score> by rep", Unit: "점", Max: 100}
	n := parseChart(t, barChart(o, ChartSeries{Name: "avg", Points: pts("R1", 50, "R2", 100, "<b>R3", 0)}), o.Title)
	bars := n.all("rect", "series")
	if len(bars) != 3 {
		t.Fatalf("%d bars, want 3", len(bars))
	}
	h1, h2 := bars[0].num(t, "height"), bars[1].num(t, "height")
	if h2 <= 0 || h1/h2 < 0.49 || h1/h2 > 0.51 {
		t.Errorf("bar heights %v and %v: not in the ratio of 50 to 100", h1, h2)
	}
	if y1, y2 := bars[0].num(t, "y")+h1, bars[1].num(t, "y")+h2; y1 != y2 {
		t.Errorf("bars stand on different baselines: %v, %v", y1, y2)
	}
	if got := strings.Join(n.texts("value"), " "); got != "50점 100점 0점" {
		t.Errorf("value labels %q", got)
	}
	if got := strings.Join(n.texts("label"), " "); got != "R1 R2 <b>R3" {
		t.Errorf("axis labels %q (escaped and parsed back, want them as given)", got)
	}
	if got := bars[0].all("title", "")[0].Text; got != "R1: 50점" {
		t.Errorf("the first bar's tooltip %q", got)
	}
	if len(n.all("g", "legend")) != 0 {
		t.Error("a legend for one series")
	}
	ticks := n.texts("tick")
	if len(ticks) < 3 || ticks[0] != "0점" || ticks[len(ticks)-1] != "100점" {
		t.Errorf("value axis %q, want 0점 … 100점 (Max fixes its top)", ticks)
	}
}

func TestBarChartSeriesLegendAndGaps(t *testing.T) {
	o := ChartOptions{Title: "requests"}
	a := ChartSeries{Name: "상담", Points: pts("W1", 3, "W2", 7)}
	b := ChartSeries{Name: "불만", Points: pts("W2", 2, "W9", 5)} // W9 is not on the first series' axis
	n := parseChart(t, barChart(o, a, b), o.Title)
	if got := len(n.all("rect", "series")); got != 3 {
		t.Errorf("%d bars, want 3 (W1 and W2 of the first, W2 of the second)", got)
	}
	if got := strings.Join(n.texts("legend-name"), ","); got != "상담,불만" {
		t.Errorf("legend %q", got)
	}
	groups := n.all("g", "series")
	if len(groups) != 2 || groups[0].attr("fill") == groups[1].attr("fill") {
		t.Errorf("the series are not told apart by colour: %d groups", len(groups))
	}
	ticks := n.texts("tick")
	if top, _ := strconv.Atoi(ticks[len(ticks)-1]); top < 7 {
		t.Errorf("the axis tops at %q, under the largest value 7", ticks[len(ticks)-1])
	}
}

func TestLineChartBreaksAtMissingLabels(t *testing.T) {
	o := ChartOptions{Title: "scores", Unit: "%"}
	a := ChartSeries{Name: "R1", Points: pts("2026-01", 80, "2026-02", 85, "2026-03", 90, "2026-04", 70)}
	b := ChartSeries{Name: "R2", Points: pts("2026-01", 60, "2026-02", 65, "2026-04", 75)}
	n := parseChart(t, lineChart(o, a, b), o.Title)
	groups := n.all("g", "series")
	if len(groups) != 2 {
		t.Fatalf("%d series drawn", len(groups))
	}
	if got := len(groups[0].all("polyline", "")); got != 1 {
		t.Errorf("R1 drawn as %d lines, want 1", got)
	}
	lines := groups[1].all("polyline", "")
	if len(lines) != 1 || len(strings.Fields(lines[0].attr("points"))) != 2 {
		t.Errorf("R2 (no March) should be one line of two points and April alone: %+v", lines)
	}
	if got := len(groups[1].all("circle", "")); got != 3 {
		t.Errorf("R2 has %d points, want 3", got)
	}
	// Higher values are drawn higher.
	c := groups[0].all("circle", "")
	if c[2].num(t, "cy") >= c[0].num(t, "cy") {
		t.Errorf("90%% is drawn at y=%v, not above 80%% at y=%v", c[2].num(t, "cy"), c[0].num(t, "cy"))
	}
	if len(n.texts("legend-name")) != 2 {
		t.Error("no legend for two series")
	}
}

func TestChartLabelsThinned(t *testing.T) {
	var s ChartSeries
	for w := 1; w <= 52; w++ {
		s.Points = append(s.Points, ChartPoint{Label: fmt.Sprintf("2026-W%02d", w), Value: float64(w)})
	}
	n := parseChart(t, lineChart(ChartOptions{Title: "weeks"}, s), "weeks")
	labels := n.texts("label")
	if len(labels) >= 52 || len(labels) < 4 {
		t.Errorf("%d of 52 week labels shown, want as many as fit", len(labels))
	}
	if labels[len(labels)-1] != "2026-W52" {
		t.Errorf("the last label shown is %q, not the newest week", labels[len(labels)-1])
	}
	if len(n.texts("value")) != 0 {
		t.Error("52 values written over one another")
	}
	if len(n.all("circle", "series")) != 52 {
		t.Error("a point is missing")
	}
}

func TestEmptyChart(t *testing.T) {
	for _, h := range []template.HTML{barChart(ChartOptions{Title: "none"}), lineChart(ChartOptions{Title: "none"}, ChartSeries{Name: "x"}),
		concentrationChart(ChartOptions{Title: "none"}, "x", "a", "b", nil)} {
		n := parseChart(t, h, "none")
		if len(n.all("rect", "series"))+len(n.all("circle", "")) != 0 {
			t.Errorf("an empty chart draws marks: %s", h)
		}
	}
}

func TestNegativeBars(t *testing.T) {
	n := parseChart(t, barChart(ChartOptions{Title: "profit"}, ChartSeries{Points: pts("a", -50, "b", 100)}), "profit")
	bars := n.all("rect", "series")
	neg, pos := bars[0], bars[1]
	zero := pos.num(t, "y") + pos.num(t, "height")
	if top := neg.num(t, "y"); top < zero-1 || top > zero+1 {
		t.Errorf("the negative bar starts at %v, not at the zero line %v", top, zero)
	}
	if ticks := n.texts("tick"); !strings.HasPrefix(ticks[0], "−") {
		t.Errorf("the axis starts at %q, not below zero", ticks[0])
	}
}

func TestConcentrationChart(t *testing.T) {
	o := ChartOptions{Title: "profit concentration"}
	n := parseChart(t, concentrationChart(o, "top customers", "share", "even", []ChartXY{{1, 20}, {20, 70}, {50, 95}}), o.Title)
	lines := n.all("polyline", "series")
	if len(lines) != 1 {
		t.Fatalf("%d curves", len(lines))
	}
	coords := strings.Fields(lines[0].attr("points"))
	if len(coords) != 5 {
		t.Fatalf("the curve has %d points, want 5 (0,0 · three · 100,100): %v", len(coords), coords)
	}
	xy := func(s string) (float64, float64) {
		a, b, _ := strings.Cut(s, ",")
		x, _ := strconv.ParseFloat(a, 64)
		y, _ := strconv.ParseFloat(b, 64)
		return x, y
	}
	x0, y0 := xy(coords[0])
	x4, y4 := xy(coords[4])
	if x4 <= x0 || y4 >= y0 {
		t.Errorf("the curve runs from (%v,%v) to (%v,%v), not from bottom left to top right", x0, y0, x4, y4)
	}
	even := n.all("line", "")
	found := false
	for _, l := range even {
		if l.attr("class") == "even" {
			found = l.num(t, "x1") == x0 && l.num(t, "y1") == y0 && l.num(t, "x2") == x4 && l.num(t, "y2") == y4
		}
	}
	if !found {
		t.Error("no diagonal of an even spread from the same corners")
	}
	if got := strings.Join(n.texts("value"), " "); got != "20% 70% 95%" {
		t.Errorf("value labels %q", got)
	}
	if got := strings.Join(n.texts("legend-name"), ","); got != "share,even" {
		t.Errorf("legend %q", got)
	}
}

func TestNiceAxis(t *testing.T) {
	for _, c := range []struct{ lo, hi, wantLo, wantHi, wantStep float64 }{
		{0, 100, 0, 100, 25},
		{0, 7, 0, 8, 2},
		{0, 0, 0, 1, 0.25},
		{0, 9, 0, 10, 2.5},
		{-50, 100, -50, 100, 50},
		{0, 1234567, 0, 1500000, 500000},
	} {
		lo, hi, step := niceAxis(c.lo, c.hi)
		if lo != c.wantLo || hi != c.wantHi || step != c.wantStep {
			t.Errorf("niceAxis(%v, %v) = %v, %v, %v; want %v, %v, %v", c.lo, c.hi, lo, hi, step, c.wantLo, c.wantHi, c.wantStep)
		}
	}
}

// TestChartCountTicks: a chart of counts (whole numbers) has whole ticks; a
// chart of one point each had gridlines at 0.25 and 0.75 labelled 0.3 and 0.8.
func TestChartCountTicks(t *testing.T) {
	o := ChartOptions{Title: "points by status"}
	n := parseChart(t, barChart(o, ChartSeries{Points: pts("open", 0, "improved", 1)}), o.Title)
	if got := strings.Join(n.texts("tick"), " "); got != "0 1" {
		t.Errorf("ticks %q, want 0 1", got)
	}
	n = parseChart(t, lineChart(o, ChartSeries{Points: pts("W1", 1, "W2", 0, "W3", 2)}), o.Title)
	if got := strings.Join(n.texts("tick"), " "); got != "0 1 2" {
		t.Errorf("ticks %q, want 0 1 2", got)
	}
	o = ChartOptions{Title: "distance"}
	n = parseChart(t, barChart(o, ChartSeries{Points: pts("S1", 0.4, "H1", 0.9)}), o.Title)
	if got := strings.Join(n.texts("tick"), " "); got != "0 0.25 0.5 0.75 1" {
		t.Errorf("ticks %q, want 0 0.25 0.5 0.75 1 (the values the gridlines are at)", got)
	}
}

func TestFormatValue(t *testing.T) {
	for v, want := range map[float64]string{83.33: "83.3%", 100: "100%", 1234567: "1,234,567%", -2.25: "−2.3%", 0.04: "0%"} {
		if got := formatValue(v, "%"); got != want {
			t.Errorf("formatValue(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestLineChartLabelsGiven(t *testing.T) {
	o := ChartOptions{Title: "distance", Labels: []string{"2026-09", "2026-10", "2026-11"}}
	a := ChartSeries{Name: "S1", Points: pts("2026-11", 4)}
	b := ChartSeries{Name: "S2", Points: pts("2026-09", 2, "2026-10", 3)}
	n := parseChart(t, lineChart(o, a, b), o.Title)
	if got := strings.Join(n.texts("label"), " "); got != "2026-09 2026-10 2026-11" {
		t.Errorf("axis %q, want the given labels", got)
	}
	groups := n.all("g", "series")
	if x1, x2 := groups[0].all("circle", "")[0].num(t, "cx"), groups[1].all("circle", "")[1].num(t, "cx"); x1 <= x2 {
		t.Errorf("S1's November (x=%v) is not right of S2's October (x=%v)", x1, x2)
	}
}

func TestChartValuesDoNotOverlap(t *testing.T) {
	a := ChartSeries{Name: "H1", Points: []ChartPoint{{Label: "2026-11", Value: 1.7}}}
	b := ChartSeries{Name: "S1", Points: []ChartPoint{{Label: "2026-11", Value: 1.6}}}
	n := parseChart(t, lineChart(ChartOptions{Title: "distance"}, a, b), "distance")
	if got := n.texts("value"); len(got) != 1 || got[0] != "1.7" {
		t.Errorf("value labels %q: two labels over one another, want the first only", got)
	}
	if len(n.all("circle", "series")) != 2 {
		t.Error("a point is missing")
	}
}

func TestChartWidth(t *testing.T) {
	n := parseChart(t, barChart(ChartOptions{Title: "narrow", Width: 400}, ChartSeries{Points: pts("a", 1, "b", 2)}), "narrow")
	if vb := n.attr("viewBox"); vb != "0 0 400 240" {
		t.Errorf("viewBox %q, want 400 wide", vb)
	}
	for _, l := range n.all("line", "grid") {
		if l.num(t, "x2") > 400 {
			t.Errorf("a gridline runs past the chart's width: x2=%v", l.num(t, "x2"))
		}
	}
}
