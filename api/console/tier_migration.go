package console

import (
	"slices"
	"strconv"

	"github.com/dangol/dangol/projections"
)

// The tier migration report (/reports/tier-migration, docs/console.md
// "Campaign outcomes"): one KST month's matrix of moves between tiers —
// from the tier at the end of the month before (none, general, potential
// VIP, VIP) to the tier at the end of the month — with the customers and
// the share of the month's profit in each cell, moves up and down
// highlighted and the diagonal (stayed) muted; the moves of every month as
// a line chart; and both as tables and CSV (?month= picks the month, the
// latest by default).

// The matrix's rows (From: "" is no tier yet) and columns (To), from the
// least valuable up.
var (
	tierFrom = []string{"", "general", "potential_vip", "vip"}
	tierTo   = []string{"general", "potential_vip", "vip"}
)

// tierRank orders the tiers up: none, general, potential VIP, VIP.
var tierRank = map[string]int{"": 0, "general": 1, "potential_vip": 2, "vip": 3}

// Kinds of a matrix cell (its class on the page).
const (
	moveStay = "stay" // the diagonal
	moveUp   = "up"
	moveDown = "down"
	moveNew  = "new" // tiered for the first time
)

// moveKind is the kind of a move from one tier to another.
func moveKind(from, to string) string {
	switch rf, rt := tierRank[from], tierRank[to]; {
	case from == to:
		return moveStay
	case from == "":
		return moveNew
	case rt > rf:
		return moveUp
	}
	return moveDown
}

// tierMatrix is a month's matrix as the page shows it, with the month
// picker's choices.
type tierMatrix struct {
	Month      string
	Months     []string // every month with figures, newest first
	Prev, Next string   // the months before and after, if any
	Cols       []string // the To tiers' names
	Rows       []tierMatrixRow
}

// tierMatrixRow is one From tier's row.
type tierMatrixRow struct {
	From  string
	Cells []tierMatrixCell
}

// tierMatrixCell is one cell: its customers and share of the month's
// profit, its kind (moveStay…) and its figures in words for a screen
// reader.
type tierMatrixCell struct {
	Customers, Share, Kind, Label string
	Zero                          bool
}

// tierName is a tier as the reports name it ("" is no tier).
func (rb *reportBuilder) tierName(t string) string {
	if t == "" {
		return rb.t("out.tm.none")
	}
	return rb.word("rep.tier."+t, t)
}

// tierMigration lays out the month of ?month= (the latest if unset; a
// month without figures is no page).
func (rb *reportBuilder) tierMigration(d []projections.TierMonth) {
	if len(d) == 0 {
		rb.monthsTable(d)
		return
	}
	i := len(d) - 1
	if m := rb.r.URL.Query().Get("month"); m != "" {
		if i = slices.IndexFunc(d, func(tm projections.TierMonth) bool { return tm.Month == m }); i < 0 {
			rb.err = errNoPage
			return
		}
	}
	m := d[i]
	rb.rep.Month = m.Month
	up, down, fresh := moves(m)
	count := func(n int) string { return groupDigits(strconv.Itoa(n)) }
	rb.fact("out.tm.customers", count(m.Customers))
	rb.fact("out.tm.moved", count(m.Moved))
	rb.fact("out.tm.up", count(up))
	rb.fact("out.tm.down", count(down))
	rb.fact("out.tm.new", count(fresh))
	rb.fact("out.tm.movedProfit", pctCell(ratioOf64(m.MovedProfit, m.Profit)).Text)
	rb.rep.Matrix = rb.matrix(d, i)

	// In the chart's colours (seriesColours) of the matrix's cells: new
	// blue, up green, down amber.
	series := []ChartSeries{{Name: rb.t("out.tm.new")}, {Name: rb.t("out.tm.up")}, {Name: rb.t("out.tm.down")}}
	for _, tm := range d {
		u, dn, f := moves(tm)
		for k, n := range []int{f, u, dn} {
			series[k].Points = append(series[k].Points, ChartPoint{Label: tm.Month, Value: float64(n)})
		}
	}
	rb.line(ChartOptions{Title: rb.t("out.tm.chart")}, series...)

	cells := rb.table("matrix", "out.tm.table.matrix", "out.tm.col.from", "out.tm.col.to", "out.tm.col.customers#",
		"out.tm.col.profit#", "out.tm.col.share#")
	cells.Caption = rb.t("out.tm.table.matrix", m.Month)
	for _, c := range m.Cells {
		cells.add(textCell(rb.tierName(c.From)), textCell(rb.tierName(c.To)), intCell(c.Customers), wonCell(c.Profit), pctCell(c.ProfitShare))
	}
	rb.monthsTable(d)
}

// monthsTable tables every month's moves, newest first.
func (rb *reportBuilder) monthsTable(d []projections.TierMonth) {
	t := rb.table("months", "out.tm.table.months", "rep.col.month", "out.tm.customers#", "out.tm.moved#", "out.tm.up#",
		"out.tm.down#", "out.tm.new#", "out.tm.col.movedProfit#", "out.tm.movedProfit#")
	for i := len(d) - 1; i >= 0; i-- {
		tm := d[i]
		up, down, fresh := moves(tm)
		t.add(textCell(tm.Month), intCell(tm.Customers), intCell(tm.Moved), intCell(up), intCell(down), intCell(fresh),
			wonCell(tm.MovedProfit), pctCell(ratioOf64(tm.MovedProfit, tm.Profit)))
	}
}

// matrix is month d[i]'s matrix with the picker's months.
func (rb *reportBuilder) matrix(d []projections.TierMonth, i int) *tierMatrix {
	m := d[i]
	mx := &tierMatrix{Month: m.Month}
	for j := len(d) - 1; j >= 0; j-- {
		mx.Months = append(mx.Months, d[j].Month)
	}
	if i > 0 {
		mx.Prev = d[i-1].Month
	}
	if i < len(d)-1 {
		mx.Next = d[i+1].Month
	}
	for _, to := range tierTo {
		mx.Cols = append(mx.Cols, rb.tierName(to))
	}
	for _, from := range tierFrom {
		row := tierMatrixRow{From: rb.tierName(from)}
		for _, to := range tierTo {
			var c projections.TierCell
			if k := slices.IndexFunc(m.Cells, func(c projections.TierCell) bool { return c.From == from && c.To == to }); k >= 0 {
				c = m.Cells[k]
			}
			share := pctCell(c.ProfitShare).Text
			row.Cells = append(row.Cells, tierMatrixCell{Customers: groupDigits(strconv.Itoa(c.Customers)), Share: share,
				Kind: moveKind(from, to), Zero: c.Customers == 0,
				Label: rb.t("out.tm.cell", row.From, rb.tierName(to), c.Customers, share)})
		}
		mx.Rows = append(mx.Rows, row)
	}
	return mx
}

// moves counts a month's customers who moved up, down, and into a tier
// for the first time.
func moves(tm projections.TierMonth) (up, down, fresh int) {
	for _, c := range tm.Cells {
		switch moveKind(c.From, c.To) {
		case moveUp:
			up += c.Customers
		case moveDown:
			down += c.Customers
		case moveNew:
			fresh += c.Customers
		}
	}
	return up, down, fresh
}

// ratioOf64 is a/b, 0 when b is not positive.
func ratioOf64(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}
