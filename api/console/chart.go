package console

import (
	"html/template"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Charts are drawn on the server as inline SVG (no script, no network):
// they print, and read without JavaScript. Every chart has a title for
// screen readers and its figures as a table next to it (the page's job).
//
// The drawing uses presentation attributes only (the console's CSP allows
// no inline style), in the colours of static/app.css; every mark carries
// its figure as a <title>, so hovering a bar or a point says its value.

// ChartPoint is one labelled value.
type ChartPoint struct {
	Label string
	Value float64
}

// ChartSeries is a named series of points, in axis order.
type ChartSeries struct {
	Name   string
	Points []ChartPoint
}

// ChartOptions are a chart's title (its accessible name), the unit of its
// values ("%", "점", ""), the fixed top of its value axis (0: from the
// data), the labels of its category axis in order (nil: the first
// series' labels; series whose labels differ, like evaluators' months),
// and the width it is drawn for in CSS pixels (0: 640; a chart in a
// narrow column is drawn narrower, so that its text keeps its size).
type ChartOptions struct {
	Title  string
	Unit   string
	Max    float64
	Labels []string
	Width  float64
}

// width is the chart's viewBox width.
func (o ChartOptions) width() float64 {
	if o.Width <= 0 {
		return chartW
	}
	return max(o.Width, 240)
}

// ChartXY is a point of a curve over a numeric axis.
type ChartXY struct {
	X, Y float64
}

// The chart's geometry, in viewBox units (the SVG scales to its box; text
// keeps these proportions).
const (
	chartW     = 640.0 // the default width
	chartH     = 240.0
	chartTop   = 14.0
	chartRight = 12.0
	chartBot   = 26.0
	legendH    = 20.0
	fontSize   = 11.0
	charW      = 6.6 // the width of a character of fontSize, roughly (Hangul is wider: counted twice)
)

// Colours (app.css): the series in order, then the marks' inks.
var seriesColours = []string{"#1f5fa8", "#1e6b3a", "#9a5b00", "#6b4c9a", "#0e7c86", "#a3192a", "#5b6673"}

const (
	inkColour   = "#1d232b"
	mutedColour = "#5b6673"
	gridColour  = "#d9dee4"
	axisColour  = "#8a96a3"
)

// barChart draws series as grouped vertical bars, one group per label of
// the axis (o.Labels or the first series'; a series' value for a label
// not on it is no bar).
func barChart(o ChartOptions, series ...ChartSeries) template.HTML {
	labels := axisLabels(o, series)
	if len(labels) == 0 {
		return emptyChart(o)
	}
	p := newPlot(o, series, labels)
	groupW := p.w / float64(len(labels))
	barW := math.Min(48, groupW*0.72/float64(len(series)))
	showValues := barW >= 14
	for si, s := range series {
		colour := seriesColour(si)
		p.b.WriteString(`<g class="series" fill="` + colour + `">`)
		vals := valuesByLabel(s)
		for li, l := range labels {
			v, ok := vals[l]
			if !ok {
				continue
			}
			x := p.left + groupW*float64(li) + (groupW-barW*float64(len(series)))/2 + barW*float64(si)
			y0, y1 := p.y(math.Max(v, 0)), p.y(math.Min(v, 0))
			h := math.Max(y1-y0, 0.5) // a zero still shows as a line on the axis
			p.b.WriteString(`<rect x="` + num(x+0.5) + `" y="` + num(math.Min(y0, p.y(0)-0.5)) + `" width="` + num(barW-1) +
				`" height="` + num(h) + `"><title>` + esc(markTitle(s.Name, l, v, o.Unit, len(series))) + `</title></rect>`)
			if showValues {
				p.value(x+barW/2, y0-3, "middle", formatValue(v, o.Unit))
			}
		}
		p.b.WriteString(`</g>`)
	}
	p.xLabels(labels, func(i int) float64 { return p.left + groupW*(float64(i)+0.5) })
	return p.done()
}

// lineChart draws series as lines over the labels of the axis (o.Labels
// or the first series': months, weeks); a label a series lacks breaks its
// line there.
func lineChart(o ChartOptions, series ...ChartSeries) template.HTML {
	labels := axisLabels(o, series)
	if len(labels) == 0 {
		return emptyChart(o)
	}
	p := newPlot(o, series, labels)
	// The first and last points sit in by half a label, so that their
	// labels are whole.
	inset := 8.0
	for _, l := range labels {
		inset = max(inset, float64(textWidth(cut(l, 16)))*charW/2)
	}
	inset = min(inset, p.w/4)
	xAt := func(i int) float64 {
		if len(labels) == 1 {
			return p.left + p.w/2
		}
		return p.left + inset + (p.w-2*inset)*float64(i)/float64(len(labels)-1)
	}
	total := 0
	for _, s := range series {
		total += len(s.Points)
	}
	showValues := total <= 24
	for si, s := range series {
		colour := seriesColour(si)
		vals := valuesByLabel(s)
		var runs [][]string
		var run []string
		for li, l := range labels {
			v, ok := vals[l]
			if !ok {
				if len(run) > 0 {
					runs, run = append(runs, run), nil
				}
				continue
			}
			run = append(run, num(xAt(li))+","+num(p.y(v)))
		}
		if len(run) > 0 {
			runs = append(runs, run)
		}
		p.b.WriteString(`<g class="series" stroke="` + colour + `" fill="` + colour + `">`)
		for _, r := range runs {
			if len(r) > 1 {
				p.b.WriteString(`<polyline fill="none" stroke-width="2" stroke-linejoin="round" points="` + strings.Join(r, " ") + `"/>`)
			}
		}
		for li, l := range labels {
			v, ok := vals[l]
			if !ok {
				continue
			}
			x, y := xAt(li), p.y(v)
			p.b.WriteString(`<circle cx="` + num(x) + `" cy="` + num(y) + `" r="3.5" stroke="#fff" stroke-width="1"><title>` +
				esc(markTitle(s.Name, l, v, o.Unit, len(series))) + `</title></circle>`)
			if showValues {
				p.value(x, y-7, "middle", formatValue(v, o.Unit))
			}
		}
		p.b.WriteString(`</g>`)
	}
	p.xLabels(labels, xAt)
	return p.done()
}

// concentrationChart draws a concentration (Lorenz) curve: x the top share
// of customers (0–100 %), y the share of the total they hold (0–100 %),
// through (0, 0) and (100, 100), over the dashed diagonal of an even
// spread. xName names the x axis, curve the line (its legend), even the
// diagonal.
func concentrationChart(o ChartOptions, xName, curve, even string, pts []ChartXY) template.HTML {
	if len(pts) == 0 {
		return emptyChart(o)
	}
	o.Unit, o.Max = "%", 100
	p := newPlot(o, []ChartSeries{{Name: curve}, {Name: even}}, nil)
	p.h -= 14 // room for the x axis's name
	p.w -= 14 // and for its last tick's label, centred on the edge
	x := func(v float64) float64 { return p.left + p.w*v/100 }
	p.grid(true)
	for _, t := range []float64{0, 25, 50, 75, 100} {
		p.b.WriteString(`<line x1="` + num(x(t)) + `" y1="` + num(p.top) + `" x2="` + num(x(t)) + `" y2="` + num(p.top+p.h) +
			`" stroke="` + gridColour + `" stroke-width="1"/>`)
		p.text(x(t), p.top+p.h+15, "middle", mutedColour, formatValue(t, "%"), "tick")
	}
	p.text(p.left+p.w/2, p.top+p.h+29, "middle", mutedColour, xName, "axis-name")
	p.b.WriteString(`<line class="even" x1="` + num(x(0)) + `" y1="` + num(p.y(0)) + `" x2="` + num(x(100)) + `" y2="` + num(p.y(100)) +
		`" stroke="` + seriesColour(6) + `" stroke-width="1.5" stroke-dasharray="5 4"/>`)
	all := append([]ChartXY{{0, 0}}, pts...)
	all = append(all, ChartXY{100, 100})
	coords := make([]string, len(all))
	for i, q := range all {
		coords[i] = num(x(q.X)) + "," + num(p.y(q.Y))
	}
	colour := seriesColour(0)
	p.b.WriteString(`<g class="series" stroke="` + colour + `" fill="` + colour + `"><polyline fill="none" stroke-width="2.5" points="` +
		strings.Join(coords, " ") + `"/>`)
	for _, q := range pts {
		label := formatValue(q.X, "%") + " → " + formatValue(q.Y, "%")
		p.b.WriteString(`<circle cx="` + num(x(q.X)) + `" cy="` + num(p.y(q.Y)) + `" r="3.5" stroke="#fff" stroke-width="1"><title>` +
			esc(label) + `</title></circle>`)
		p.value(x(q.X)+5, p.y(q.Y)-6, "start", formatValue(q.Y, "%"))
	}
	p.b.WriteString(`</g>`)
	p.legend([]string{curve, even}, []int{0, 6})
	p.b.WriteString(`</svg>`)
	return template.HTML(p.b.String())
}

// plot is a chart being drawn: its value axis and plot area.
type plot struct {
	b            strings.Builder
	o            ChartOptions
	lo, hi, step float64 // the value axis
	left, top    float64 // the plot area's corner
	w, h         float64
	names        []string // the legend's names (more than one series)
	labels       []box    // the value labels drawn so far
}

// box is where a label is drawn: its centre and half its size.
type box struct{ x, y, hw, hh float64 }

// newPlot starts a chart of series over labels: its svg element, title and
// value axis.
func newPlot(o ChartOptions, series []ChartSeries, labels []string) *plot {
	p := &plot{o: o}
	lo, hi := 0.0, o.Max
	if o.Max <= 0 {
		for _, s := range series {
			for _, pt := range s.Points {
				lo, hi = math.Min(lo, pt.Value), math.Max(hi, pt.Value)
			}
		}
	}
	p.lo, p.hi, p.step = niceAxis(lo, hi)
	if p.step < 1 && o.Max <= 0 && wholeValues(series) { // counts: no gridline at half a customer
		p.lo, p.hi, p.step = math.Floor(lo), math.Max(math.Ceil(hi), math.Floor(lo)+1), 1
	}
	widest := 0
	for v := p.lo; v <= p.hi+p.step/2; v += p.step {
		widest = max(widest, textWidth(p.tick(v)))
	}
	p.left = float64(widest)*charW + 10
	p.top = chartTop
	if len(series) > 1 {
		p.top += legendH
		for _, s := range series {
			p.names = append(p.names, s.Name)
		}
	}
	p.w = o.width() - p.left - chartRight
	p.h = chartH - p.top - chartBot
	p.b.WriteString(`<svg class="chart" role="img" aria-label="` + esc(o.Title) + `" viewBox="0 0 ` + num(o.width()) + ` ` + num(chartH) +
		`" xmlns="http://www.w3.org/2000/svg" font-size="` + num(fontSize) + `"><title>` + esc(o.Title) + `</title>`)
	return p
}

// y is the vertical position of value v.
func (p *plot) y(v float64) float64 {
	if p.hi == p.lo {
		return p.top + p.h
	}
	return p.top + p.h*(1-(v-p.lo)/(p.hi-p.lo))
}

// grid draws the value axis's gridlines and tick labels (the zero line
// darker) and, with labels, the tick labels too.
func (p *plot) grid(labels bool) {
	p.b.WriteString(`<g class="grid">`)
	for i := 0; ; i++ {
		v := p.lo + p.step*float64(i)
		if v > p.hi+p.step/2 {
			break
		}
		colour := gridColour
		if math.Abs(v) < p.step/1e6 {
			colour = axisColour
		}
		y := p.y(v)
		p.b.WriteString(`<line x1="` + num(p.left) + `" y1="` + num(y) + `" x2="` + num(p.left+p.w) + `" y2="` + num(y) +
			`" stroke="` + colour + `" stroke-width="1"/>`)
		if labels {
			p.text(p.left-6, y+4, "end", mutedColour, p.tick(v), "tick")
		}
	}
	p.b.WriteString(`</g>`)
}

// xLabels draws the category labels under the plot at xAt(i), as many as
// fit side by side (every k-th otherwise, counted back from the last,
// which always shows), each cut to 16 characters.
func (p *plot) xLabels(labels []string, xAt func(int) float64) {
	widest := 1
	for _, l := range labels {
		widest = max(widest, textWidth(cut(l, 16)))
	}
	fit := max(1, int(p.w/(float64(widest)*charW+10)))
	every := (len(labels) + fit - 1) / fit
	last := len(labels) - 1
	p.b.WriteString(`<g class="labels">`)
	for i, l := range labels {
		if (last-i)%every == 0 {
			p.text(xAt(i), p.top+p.h+16, "middle", mutedColour, cut(l, 16), "label")
		}
	}
	p.b.WriteString(`</g>`)
}

// legend draws names above the plot, each with its colour (an index of
// seriesColours).
func (p *plot) legend(names []string, colours []int) {
	p.b.WriteString(`<g class="legend">`)
	x := p.left
	for i, n := range names {
		p.b.WriteString(`<rect x="` + num(x) + `" y="4" width="12" height="12" rx="2" fill="` + seriesColour(colours[i]) + `"/>`)
		p.text(x+16, 14, "start", inkColour, n, "legend-name")
		x += 16 + float64(textWidth(n))*charW + 18
	}
	p.b.WriteString(`</g>`)
}

// value draws a mark's value label s at (x, y), unless it would overlap
// one drawn before (the mark's tooltip and the page's table have it).
func (p *plot) value(x, y float64, anchor, s string) {
	hw := float64(textWidth(s)) * charW / 2
	cx := x
	if anchor == "start" {
		cx += hw
	}
	b := box{cx, y - fontSize/2, hw, fontSize / 2}
	for _, o := range p.labels {
		if math.Abs(o.x-b.x) < o.hw+b.hw && math.Abs(o.y-b.y) < o.hh+b.hh {
			return
		}
	}
	p.labels = append(p.labels, b)
	p.text(x, y, anchor, inkColour, s, "value")
}

// text draws s at (x, y) anchored at anchor, in colour, with class cls.
func (p *plot) text(x, y float64, anchor, colour, s, cls string) {
	p.b.WriteString(`<text class="` + cls + `" x="` + num(x) + `" y="` + num(y) + `" text-anchor="` + anchor + `" fill="` + colour +
		`" stroke="none">` + esc(s) + `</text>`)
}

// done draws the grid, the legend and ends the svg. The grid is drawn
// last but under the marks: it is inserted after the title.
func (p *plot) done() template.HTML {
	marks := p.b.String()
	head, body, _ := strings.Cut(marks, "</title>")
	p.b.Reset()
	p.b.WriteString(head + "</title>")
	p.grid(true)
	p.b.WriteString(body)
	if len(p.names) > 1 {
		colours := make([]int, len(p.names))
		for i := range colours {
			colours[i] = i
		}
		p.legend(p.names, colours)
	}
	p.b.WriteString(`</svg>`)
	return template.HTML(p.b.String())
}

// emptyChart is a chart with no figures: its title and a dash.
func emptyChart(o ChartOptions) template.HTML {
	return template.HTML(`<svg class="chart empty" role="img" aria-label="` + esc(o.Title) + `" viewBox="0 0 ` + num(o.width()) + ` 60" xmlns="http://www.w3.org/2000/svg" font-size="` +
		num(fontSize) + `"><title>` + esc(o.Title) + `</title><text x="` + num(o.width()/2) + `" y="34" text-anchor="middle" fill="` + mutedColour + `">—</text></svg>`)
}

// axisLabels are o.Labels, or else the labels of the first series with
// points, in order, each once.
func axisLabels(o ChartOptions, series []ChartSeries) []string {
	if o.Labels != nil {
		return o.Labels
	}
	var out []string
	seen := map[string]bool{}
	for _, s := range series {
		if len(s.Points) == 0 {
			continue
		}
		for _, pt := range s.Points {
			if !seen[pt.Label] {
				seen[pt.Label] = true
				out = append(out, pt.Label)
			}
		}
		return out
	}
	return nil
}

// valuesByLabel maps s's labels to their values (the first of a repeated label).
func valuesByLabel(s ChartSeries) map[string]float64 {
	m := make(map[string]float64, len(s.Points))
	for _, pt := range s.Points {
		if _, ok := m[pt.Label]; !ok {
			m[pt.Label] = pt.Value
		}
	}
	return m
}

// niceAxis returns an axis from lo to hi in 1, 2, 2.5 or 5 × 10ⁿ steps,
// four or five of them, that holds [lo, hi] (0 to 1 for no range).
func niceAxis(lo, hi float64) (float64, float64, float64) {
	if hi <= lo {
		hi = lo + 1
	}
	raw := (hi - lo) / 4
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag * 10
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if raw <= m*mag {
			step = m * mag
			break
		}
	}
	return math.Floor(lo/step) * step, math.Ceil(hi/step-1e-9) * step, step
}

// wholeValues tells whether every point of series is a whole number.
func wholeValues(series []ChartSeries) bool {
	for _, s := range series {
		for _, pt := range s.Points {
			if pt.Value != math.Trunc(pt.Value) {
				return false
			}
		}
	}
	return true
}

// tick is the value axis's label at v: as formatValue, with two decimals
// where the step has them (0.25, not 0.3, at the gridline of 0.25).
func (p *plot) tick(v float64) string {
	if s := p.step * 10; s == math.Trunc(s) {
		return formatValue(v, p.o.Unit)
	}
	return strings.Replace(strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64), "-", "−", 1) + p.o.Unit
}

// markTitle is a bar's or a point's tooltip: "series · label: value"
// (without the series' name when there is one series).
func markTitle(series, label string, v float64, unit string, n int) string {
	s := label + ": " + formatValue(v, unit)
	if n > 1 && series != "" {
		s = series + " · " + s
	}
	return s
}

// formatValue writes v with at most one decimal (none for whole numbers),
// digits grouped, and its unit.
func formatValue(v float64, unit string) string {
	r := math.Round(v*10) / 10
	neg := r < 0
	r = math.Abs(r)
	s := strconv.FormatFloat(r, 'f', 1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	s = groupDigits(whole)
	if frac != "0" {
		s += "." + frac
	}
	if neg {
		s = "−" + s
	}
	return s + unit
}

// num writes a coordinate with at most one decimal.
func num(f float64) string { return strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) }

// esc escapes s for SVG text and attributes.
func esc(s string) string { return template.HTMLEscapeString(s) }

// cut shortens s to n characters, an ellipsis last.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// textWidth is s's width in Latin characters (a wide character counts two).
func textWidth(s string) int {
	w := 0
	for _, r := range s {
		w++
		if r >= 0x1100 {
			w++
		}
	}
	return w
}

// seriesColour is the colour of series i.
func seriesColour(i int) string { return seriesColours[i%len(seriesColours)] }

func init() {
	funcs["barChart"] = barChart
	funcs["lineChart"] = lineChart
}
