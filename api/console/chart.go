package console

import "html/template"

// Charts are drawn on the server as inline SVG (no script, no network):
// they print, and read without JavaScript. Every chart has a title for
// screen readers and its figures as a table next to it (the page's job).

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
// values ("%", "점", ""), and the fixed top of its value axis (0: from the
// data).
type ChartOptions struct {
	Title string
	Unit  string
	Max   float64
}

// barChart draws series as grouped vertical bars, one group per label of
// the first series. TODO(reports): drawn by the reports part.
func barChart(o ChartOptions, series ...ChartSeries) template.HTML {
	return template.HTML(`<svg role="img" aria-label="` + template.HTMLEscapeString(o.Title) + `" viewBox="0 0 10 10"></svg>`)
}

// lineChart draws series as lines over the labels of the first series
// (months, weeks). TODO(reports): drawn by the reports part.
func lineChart(o ChartOptions, series ...ChartSeries) template.HTML {
	return template.HTML(`<svg role="img" aria-label="` + template.HTMLEscapeString(o.Title) + `" viewBox="0 0 10 10"></svg>`)
}
