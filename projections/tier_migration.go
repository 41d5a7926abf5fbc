package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// TierMigration is the read model of moves between tiers month by month
// (KST months, reportMonth), folded from TierAssigned.
//
// An assignment counts in the month of its recordedAt, or of the latest
// recordedAt folded before it if that is later (log time never goes
// back), so the months close in log order: only the current month's cells
// change. Like every projection it is folded from one goroutine and must
// not be queried while an event is being applied.
type TierMigration struct {
	tiers map[string]tierHeld // customer → tier and profit now
	// from holds, for the customers whose tier changed in the current
	// month, their tier at the end of the previous one; the others' is
	// their tier now.
	from     map[string]uint8
	merged   map[string]struct{} // customers merged into another: their later TierAssigned are skipped (merge.go)
	months   []tierMatrix        // oldest first; the last is the current month
	last     time.Time           // the latest recordedAt folded
	next     time.Time           // when the month after the current one begins
	restored bool                // by RestoreTierMigration: answers Report only
}

// tierHeld is a customer's latest TierAssigned: tier (an index of
// tierOrder, never 0) and its basis's profit.
type tierHeld struct {
	tier   uint8
	profit int64
}

// tierOrder is the order of the matrix's rows and columns; "" is no tier.
var tierOrder = [...]string{"", "general", "potential_vip", "vip"}

// tierMatrix is one month's cells: [from][to].
type tierMatrix struct {
	month string
	cells [len(tierOrder)][len(tierOrder)]tierSum
}

// tierSum is what one cell holds.
type tierSum struct {
	customers int
	profit    int64
}

// NewTierMigration returns an empty tier migration read model.
func NewTierMigration() *TierMigration {
	return &TierMigration{tiers: map[string]tierHeld{}, from: map[string]uint8{}, merged: map[string]struct{}{}}
}

// expect sizes tiers, which holds every customer ever assigned a tier, for
// n while it is empty.
func (t *TierMigration) expect(n int) {
	if len(t.tiers) == 0 && !t.restored {
		t.tiers = make(map[string]tierHeld, n)
	}
}

// Name returns "tier-migration".
func (*TierMigration) Name() string { return "tier-migration" }

// Apply folds TierAssigned; other events, unknown tiers and the
// TierAssigned of a customer merged into another are ignored, as is every
// event once the model was restored (RestoreTierMigration).
func (tm *TierMigration) Apply(e Event) {
	d, ok := e.Data.(*events.TierAssigned)
	cat, id := e.StreamID()
	if cat == events.CategoryCustomer && !tm.restored && isMergedInto(e.Data) {
		tm.mergedOut(id, e.RecordedAt) // merge.go
		return
	}
	if !ok || cat != events.CategoryCustomer || tm.restored {
		return
	}
	if _, out := tm.merged[id]; out {
		return
	}
	to := uint8(slices.Index(tierOrder[:], d.Tier))
	if to == 0 || int(to) >= len(tierOrder) {
		return
	}
	tm.advance(e.RecordedAt)
	m := &tm.months[len(tm.months)-1]
	held, known := tm.tiers[id]
	if !known {
		id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
	}
	from, moved := tm.from[id]
	if !moved {
		from = held.tier
	}
	if known {
		m.cells[from][held.tier].add(-1, -held.profit)
	}
	held = tierHeld{tier: to, profit: deref(d.Basis.ProfitContribution)}
	m.cells[from][to].add(1, held.profit)
	tm.tiers[id] = held
	if from == to {
		delete(tm.from, id)
	} else {
		tm.from[id] = from
	}
}

// advance makes the month of at (or of the latest instant folded, if
// later) the current one.
func (tm *TierMigration) advance(at time.Time) {
	if at.After(tm.last) {
		tm.last = at
	}
	if len(tm.months) == 0 || !tm.last.Before(tm.next) {
		tm.current(reportMonth(tm.last))
		t := tm.last.In(reportZone)
		tm.next = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, reportZone)
	}
}

func (s *tierSum) add(customers int, profit int64) {
	s.customers += customers
	s.profit += profit
}

// current makes month the current one, first closing the months before
// it: each month after the last one folded starts with every tiered
// customer on the diagonal, where the previous month left them.
func (tm *TierMigration) current(month string) {
	if len(tm.months) == 0 {
		tm.months = append(tm.months, tierMatrix{month: month})
		return
	}
	for tm.months[len(tm.months)-1].month < month {
		prev := &tm.months[len(tm.months)-1]
		next := tierMatrix{month: nextMonth(prev.month)}
		for _, row := range prev.cells {
			for to, s := range row {
				next.cells[to][to].add(s.customers, s.profit)
			}
		}
		tm.months = append(tm.months, next)
		clear(tm.from)
	}
}

// nextMonth returns the month after month ("2027-12" → "2028-01").
func nextMonth(month string) string {
	t, err := time.Parse("2006-01", month)
	if err != nil {
		panic("projections: tier migration month " + month) // the fold writes only reportMonth's
	}
	return t.AddDate(0, 1, 0).Format("2006-01")
}

// TierMonth is one month's matrix of tier moves. For every customer tiered
// by the end of the month, From is their tier at the end of the previous
// month ("" if they had none) and To their tier at the end of this one;
// Cells has one entry per (From, To) pair that occurs, the diagonal
// (stayed) included, in the order "", general, potential_vip, vip of From
// then To. Profit is the profit contribution of each customer's latest
// TierAssigned basis by the end of the month; ProfitShare is a cell's
// profit over the month's total (0 when the total is not positive).
type TierMonth struct {
	Month       string     `json:"month"` // "2027-03"
	Customers   int        `json:"customers"`
	Profit      int64      `json:"profit"`
	Moved       int        `json:"moved"`       // customers whose From ≠ To
	MovedProfit int64      `json:"movedProfit"` // their profit
	Cells       []TierCell `json:"cells"`
}

// TierCell is one (From, To) cell of a month's matrix.
type TierCell struct {
	From        string  `json:"from"`
	To          string  `json:"to"`
	Customers   int     `json:"customers"`
	Profit      int64   `json:"profit"`
	ProfitShare float64 `json:"profitShare"`
}

// Report returns every month from the first with a TierAssigned to the
// last, oldest first (a month without one repeats the previous month's
// tiers on the diagonal).
func (tm *TierMigration) Report() []TierMonth {
	out := make([]TierMonth, 0, len(tm.months))
	for i := range tm.months {
		out = append(out, tm.months[i].report())
	}
	return out
}

func (m *tierMatrix) report() TierMonth {
	r := TierMonth{Month: m.month, Cells: []TierCell{}}
	for from, row := range m.cells {
		for to, s := range row {
			if s.customers == 0 {
				continue
			}
			r.Customers += s.customers
			r.Profit += s.profit
			if from != to {
				r.Moved += s.customers
				r.MovedProfit += s.profit
			}
			r.Cells = append(r.Cells, TierCell{From: tierOrder[from], To: tierOrder[to], Customers: s.customers, Profit: s.profit})
		}
	}
	for i := range r.Cells {
		if r.Profit > 0 {
			r.Cells[i].ProfitShare = math.Round(float64(r.Cells[i].Profit)/float64(r.Profit)*10000) / 10000
		}
	}
	return r
}

// tierMigrationState is the JSON form of what the report reads: the
// months' cells, without the shares (computed again on reading).
type tierMigrationState struct {
	Months []tierMonthState `json:"months"`
}

type tierMonthState struct {
	Month string          `json:"month"`
	Cells []tierCellState `json:"cells"`
}

type tierCellState struct {
	From      string `json:"from"`
	To        string `json:"to"`
	Customers int    `json:"customers"`
	Profit    int64  `json:"profit"`
}

// MarshalJSON encodes what Report reads, for a read store that keeps the
// tier migration as one aggregate row (RestoreTierMigration decodes it):
// a few cells per month, not the customers' tiers. Equal states encode to
// equal bytes.
func (tm *TierMigration) MarshalJSON() ([]byte, error) {
	s := tierMigrationState{Months: make([]tierMonthState, 0, len(tm.months))}
	for _, r := range tm.Report() {
		ms := tierMonthState{Month: r.Month, Cells: make([]tierCellState, len(r.Cells))}
		for i, c := range r.Cells {
			ms.Cells[i] = tierCellState{From: c.From, To: c.To, Customers: c.Customers, Profit: c.Profit}
		}
		s.Months = append(s.Months, ms)
	}
	return json.Marshal(s)
}

// RestoreTierMigration returns a tier migration read model whose Report is
// the one of the model MarshalJSON encoded. It holds no customer's tier, so
// it folds nothing more (its Apply ignores every event): a read store's
// writer folds the log, its readers restore. It errs on what MarshalJSON
// never writes: other JSON, a missing list (months, or a month's cells;
// null included), a month not of the form "2027-03" or not the one after
// the previous, a cell of an unknown tier, to no tier, twice, out of order
// or with no customers.
func RestoreTierMigration(b []byte) (*TierMigration, error) {
	var s tierMigrationState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("tier migration state: %w", err)
	}
	if s.Months == nil {
		return nil, errors.New("tier migration state: months are required")
	}
	tm := NewTierMigration()
	tm.restored = true
	for _, ms := range s.Months {
		m, err := restoreTierMonth(ms)
		if err != nil {
			return nil, fmt.Errorf("tier migration state: %w", err)
		}
		if n := len(tm.months); n > 0 && nextMonth(tm.months[n-1].month) != m.month {
			return nil, fmt.Errorf("tier migration state: month %s after %s", m.month, tm.months[n-1].month)
		}
		tm.months = append(tm.months, m)
	}
	return tm, nil
}

func restoreTierMonth(ms tierMonthState) (tierMatrix, error) {
	m := tierMatrix{month: ms.Month}
	if t, err := time.Parse("2006-01", ms.Month); err != nil || t.Format("2006-01") != ms.Month {
		return m, fmt.Errorf("month %q is not of the form 2027-03", ms.Month)
	}
	if ms.Cells == nil {
		return m, fmt.Errorf("month %s: cells are required", ms.Month)
	}
	lastCell := -1
	for _, c := range ms.Cells {
		from, to := slices.Index(tierOrder[:], c.From), slices.Index(tierOrder[:], c.To)
		switch {
		case from < 0 || to <= 0:
			return m, fmt.Errorf("month %s: cell %q → %q of no known tier", ms.Month, c.From, c.To)
		case from*len(tierOrder)+to <= lastCell:
			return m, fmt.Errorf("month %s: cell %q → %q twice or out of order", ms.Month, c.From, c.To)
		case c.Customers <= 0:
			return m, fmt.Errorf("month %s: cell %q → %q without customers", ms.Month, c.From, c.To)
		}
		lastCell = from*len(tierOrder) + to
		m.cells[from][to] = tierSum{customers: c.Customers, profit: c.Profit}
	}
	return m, nil
}
