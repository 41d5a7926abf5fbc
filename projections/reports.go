package projections

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Counters is the read model behind the reports that need every event
// rather than the latest state: pitch outcomes and customer requests.
type Counters struct {
	pitches  map[pitchKey]*Conversion
	requests map[requestKey]int
}

type pitchKey struct{ dim, value string }
type requestKey struct{ week, category string }

// NewCounters returns empty counters.
func NewCounters() *Counters {
	return &Counters{pitches: map[pitchKey]*Conversion{}, requests: map[requestKey]int{}}
}

// Name returns "counters".
func (*Counters) Name() string { return "counters" }

// Apply counts ProductPitched and CustomerRequestNoted.
func (c *Counters) Apply(e Event) {
	switch d := e.Data.(type) {
	case *events.ProductPitched:
		campaign := d.CampaignID
		if campaign == "" {
			campaign = "(none)"
		}
		for _, k := range []pitchKey{{"product", d.Product}, {"channel", d.Channel}, {"advisor", e.Actor.ID}, {"campaign", campaign}} {
			cv := c.pitches[k]
			if cv == nil {
				k.value = strings.Clone(k.value) // the actor id shares a read buffer
				cv = &Conversion{Dimension: k.dim, Value: k.value}
				c.pitches[k] = cv
			}
			cv.add(d.Outcome)
		}
	case *events.CustomerRequestNoted:
		cat := d.Category
		if cat == "" {
			cat = "uncategorised"
		}
		y, w := e.RecordedAt.In(reportZone).ISOWeek()
		c.requests[requestKey{isoWeek(y, w), cat}]++
	}
}

// reportZone is the time zone of the reports' months and ISO weeks: Korea
// Standard Time (a fixed +09:00), the zone of the sampler's days and of
// every time the product shows, so that a call reviewed at 08:00 KST on
// the 1st counts in that month, not the previous one. It is
// DefaultSamplerPolicy's Location, not a zone of its own.
var reportZone = DefaultSamplerPolicy().Location

// reportMonth is t's calendar month in reportZone ("2030-04").
func reportMonth(t time.Time) string { return t.In(reportZone).Format("2006-01") }

func isoWeek(y, w int) string {
	return time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006") + "-W" + twoDigits(w)
}

func twoDigits(n int) string { return string([]byte{byte('0' + n/10), byte('0' + n%10)}) }

// Conversion counts pitch outcomes for one value of one dimension.
type Conversion struct {
	Dimension   string  `json:"dimension"`
	Value       string  `json:"value"`
	Pitches     int     `json:"pitches"`
	Accepted    int     `json:"accepted"`
	Declined    int     `json:"declined"`
	Considering int     `json:"considering"`
	Unreachable int     `json:"unreachable"`
	Rate        float64 `json:"conversionRate"` // accepted / pitches
}

func (c *Conversion) add(outcome string) {
	c.Pitches++
	switch outcome {
	case "accepted":
		c.Accepted++
	case "declined":
		c.Declined++
	case "considering":
		c.Considering++
	case "unreachable":
		c.Unreachable++
	}
}

// PitchReport returns conversion by product, channel, advisor and campaign.
func (c *Counters) PitchReport() map[string][]Conversion {
	out := map[string][]Conversion{"product": {}, "channel": {}, "advisor": {}, "campaign": {}}
	for k, v := range c.pitches {
		cv := *v
		cv.Rate = ratio(cv.Accepted, cv.Pitches)
		out[k.dim] = append(out[k.dim], cv)
	}
	for _, rows := range out {
		slices.SortFunc(rows, func(a, b Conversion) int {
			if a.Pitches != b.Pitches {
				return b.Pitches - a.Pitches
			}
			if a.Value < b.Value {
				return -1
			}
			return 1
		})
	}
	return out
}

// RequestWeek counts requests of one category in one ISO week.
type RequestWeek struct {
	Week     string `json:"week"`
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// RequestReport returns requests per category per ISO week (KST, of
// recordedAt), newest week first.
func (c *Counters) RequestReport() []RequestWeek {
	out := make([]RequestWeek, 0, len(c.requests))
	for k, n := range c.requests {
		out = append(out, RequestWeek{Week: k.week, Category: k.category, Count: n})
	}
	slices.SortFunc(out, func(a, b RequestWeek) int {
		if a.Week != b.Week {
			if a.Week > b.Week {
				return -1
			}
			return 1
		}
		if a.Count != b.Count {
			return b.Count - a.Count
		}
		if a.Category < b.Category {
			return -1
		}
		return 1
	})
	return out
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// TierReport is the tier distribution and the profit concentration.
type TierReport struct {
	Customers     int            `json:"customers"`
	ByTier        map[string]int `json:"byTier"`
	WithFinancial int            `json:"withFinancials"`
	TotalProfit   int64          `json:"totalProfit"`
	// Concentration maps "top N%" to the share of total profit held by the
	// top N% of customers by profit contribution.
	Concentration []ShareOfTop `json:"profitConcentration"`
}

// ShareOfTop is the profit share of the top Percent of customers.
type ShareOfTop struct {
	Percent float64 `json:"topPercent"`
	Share   float64 `json:"shareOfProfit"`
}

// TierReport computes the tier distribution and profit concentration for
// the top percentages given (default 1, 7, 20, 50).
func (cs *Customers) TierReport(tops []float64) TierReport {
	return TierReportFrom(cs.tierCounts(), cs.tierProfits(), tops)
}

// tierCounts returns a copy of the number of customers per tier the tiers
// report counts: merged customers excluded (counted as their survivor), ""
// for those without a tier. O(tiers): a query copies it under the runner's
// read lock and computes the report after.
func (cs *Customers) tierCounts() map[string]int {
	out := make(map[string]int, len(cs.tierN))
	for t, n := range cs.tierN {
		out[t] = n
	}
	return out
}

// tierProfits returns a copy of the profit contribution of every customer
// the tiers report counts who has financials, in no order: one copy of a
// dense slice.
func (cs *Customers) tierProfits() []int64 { return slices.Clone(cs.profits) }

// countTier adds d to the number of customers in tier the report counts.
func (cs *Customers) countTier(tier string, d int) {
	if cs.tierN == nil {
		cs.tierN = map[string]int{}
	}
	if n := cs.tierN[tier] + d; n != 0 {
		cs.tierN[tier] = n
	} else {
		delete(cs.tierN, tier)
	}
}

// setProfit records p as the profit contribution of c, a customer the
// report counts.
func (cs *Customers) setProfit(c *customer, p int64) {
	if c.pslot == 0 {
		cs.profits, cs.profOf = append(cs.profits, p), append(cs.profOf, c)
		c.pslot = uint32(len(cs.profits))
		return
	}
	cs.profits[c.pslot-1] = p
}

// dropProfit removes c's profit contribution from the report (c was
// merged): the last one takes its place.
func (cs *Customers) dropProfit(c *customer) {
	if c.pslot == 0 {
		return
	}
	i, last := c.pslot-1, len(cs.profits)-1
	cs.profits[i], cs.profOf[i] = cs.profits[last], cs.profOf[last]
	cs.profOf[i].pslot = i + 1
	cs.profOf[last] = nil
	cs.profits, cs.profOf = cs.profits[:last], cs.profOf[:last]
	c.pslot = 0
}

// recountTiers rebuilds what the tiers report counts from byID (after
// RestoreCustomers put records there).
func (cs *Customers) recountTiers() {
	cs.tierN, cs.profits, cs.profOf = map[string]int{}, nil, nil
	for _, c := range cs.byID {
		c.pslot = 0
		if c.mergedInto() != "" {
			continue // counted as their survivor
		}
		cs.countTier(c.tier, 1)
		if c.fin != nil {
			cs.setProfit(c, c.fin.ProfitContribution)
		}
	}
}

// TierReportFrom computes the tier report from the number of customers per
// tier ("" for customers without one) and the profit contribution of every
// customer with financials (in any order; the slice is sorted in place).
// Read stores that keep customers outside memory use it to give the same
// answer as Customers.TierReport.
func TierReportFrom(byTier map[string]int, profits []int64, tops []float64) TierReport {
	var total int64
	for _, p := range profits {
		total += p
	}
	slices.Sort(profits) // ascending: the top n are the last n
	r, _ := TierReportOf(byTier, len(profits), total, func(n int) (int64, error) {
		var sum int64
		for _, p := range profits[len(profits)-n:] {
			sum += p
		}
		return sum, nil
	}, tops)
	return r
}

// TierReportOf computes the tier report from the number of customers per
// tier ("" for customers without one), how many customers have financials
// (withFin) and the sum of their profit contributions, and topSum(n), the
// sum of the n largest of those (0 <= n <= withFin): for a read store that
// keeps the profits summed in order rather than each one at hand. It
// returns topSum's first error.
func TierReportOf(byTier map[string]int, withFin int, total int64, topSum func(n int) (int64, error), tops []float64) (TierReport, error) {
	if len(tops) == 0 {
		tops = []float64{1, 7, 20, 50}
	}
	r := TierReport{ByTier: map[string]int{}, WithFinancial: withFin, TotalProfit: total}
	for t, n := range byTier {
		r.Customers += n
		if t == "" {
			t = "unassigned"
		}
		r.ByTier[t] += n
	}
	for _, pct := range tops {
		n := int(math.Ceil(float64(withFin) * pct / 100))
		sum, err := topSum(min(max(n, 0), withFin))
		if err != nil {
			return TierReport{}, err
		}
		share := 0.0
		if r.TotalProfit != 0 {
			share = math.Round(float64(sum)/float64(r.TotalProfit)*10000) / 10000
		}
		r.Concentration = append(r.Concentration, ShareOfTop{Percent: pct, Share: share})
	}
	return r, nil
}

// Freshness is the data freshness of one advisor's book.
type Freshness struct {
	AdvisorID string  `json:"advisorId"`
	Customers int     `json:"customers"`
	Stale     int     `json:"stale"`
	FreshRate float64 `json:"freshRate"`
}

// FreshnessReport returns, per advisor, how many customers' data is stale at
// now: O(advisors), from the books' stale instants kept as the customers
// change (freshness_index.go).
func (cs *Customers) FreshnessReport(now time.Time) []Freshness {
	cut := staleCut(now)
	out := make([]Freshness, 0, len(cs.books))
	for adv, book := range cs.books {
		f := Freshness{AdvisorID: adv, Customers: len(book)}
		if s := cs.fresh[adv]; s != nil {
			f.Stale = s.before(cut)
		}
		out = append(out, f)
	}
	return FreshnessFrom(out)
}

// FreshnessFrom completes per-advisor counts of customers and stale
// customers (one entry per advisor who ever had a book, empty books
// included) into the freshness report: rates computed, rows in report
// order. It reorders and returns rows.
func FreshnessFrom(out []Freshness) []Freshness {
	for i := range out {
		out[i].FreshRate = ratio(out[i].Customers-out[i].Stale, out[i].Customers)
	}
	slices.SortFunc(out, func(a, b Freshness) int {
		if a.FreshRate != b.FreshRate {
			if a.FreshRate < b.FreshRate {
				return -1
			}
			return 1
		}
		if a.AdvisorID < b.AdvisorID {
			return -1
		}
		return 1
	})
	return out
}

// QAScore is one rep's review scores in one month.
type QAScore struct {
	RepID   string  `json:"repId"`
	Month   string  `json:"month"`
	Reviews int     `json:"reviews"`
	Average float64 `json:"averageTotal"`
	Min     float64 `json:"min"`
	Max     float64 `json:"max"`
	// CriticalFailed counts the reviews that failed a critical item.
	CriticalFailed int `json:"criticalFailed"`
}

// QAReport returns review scores per rep per calendar month (KST), by rep
// then month. Each call counts once, with its latest evaluation, in the
// month it was first evaluated: a re-score replaces the score it
// supersedes in that month.
func (cs *Calls) QAReport() []QAScore {
	type key struct{ rep, month string }
	acc := map[key]*QAScore{}
	sums := map[key]float64{}
	for _, r := range latestReviews(cs.reviews) {
		k := key{r.RepID, reportMonth(r.At)}
		s := acc[k]
		if s == nil {
			s = &QAScore{RepID: r.RepID, Month: k.month, Min: r.Total, Max: r.Total}
			acc[k] = s
		}
		s.Reviews++
		sums[k] += r.Total
		s.Min, s.Max = math.Min(s.Min, r.Total), math.Max(s.Max, r.Total)
		if r.CriticalFailed {
			s.CriticalFailed++
		}
	}
	out := make([]QAScore, 0, len(acc))
	for k, s := range acc {
		s.Average = math.Round(sums[k]/float64(s.Reviews)*10) / 10
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b QAScore) int { return cmp.Or(cmp.Compare(a.RepID, b.RepID), cmp.Compare(a.Month, b.Month)) })
	return out
}

// latestReviews returns, of reviews in log order, each call's latest
// evaluation, dated when the call was first evaluated: a re-score corrects
// the month the call was scored in rather than moving the call to the
// month of the re-score. Entries without a call id (kept by a read store
// from before evaluations were numbered) each count.
func latestReviews(reviews []ReviewScore) []ReviewScore {
	latest := map[string]int{}      // call id → index of its latest evaluation
	first := map[string]time.Time{} // call id → when it was first evaluated
	for i, r := range reviews {
		if r.CallID == "" {
			continue
		}
		if j, ok := latest[r.CallID]; !ok || reviews[j].Evaluation <= r.Evaluation {
			latest[r.CallID] = i
		}
		if t, ok := first[r.CallID]; !ok || r.At.Before(t) {
			first[r.CallID] = r.At
		}
	}
	out := make([]ReviewScore, 0, len(reviews))
	for i, r := range reviews {
		if r.CallID == "" || latest[r.CallID] == i {
			if r.CallID != "" {
				r.At = first[r.CallID]
			}
			out = append(out, r)
		}
	}
	return out
}

// CoachingReport is the improvement rate of coaching follow-ups.
type CoachingReport struct {
	Points      int            `json:"points"`
	ByStatus    map[string]int `json:"byStatus"`
	Checks      int            `json:"checks"`
	Improved    int            `json:"improved"`
	NotImproved int            `json:"notImproved"`
	Rate        float64        `json:"improvementRate"` // improved / checks
	Overdue     int            `json:"overdue"`
	ByRep       []RepCoaching  `json:"byRep"`
}

// RepCoaching is one rep's coaching outcomes.
type RepCoaching struct {
	RepID    string  `json:"repId"`
	Checks   int     `json:"checks"`
	Improved int     `json:"improved"`
	Rate     float64 `json:"improvementRate"`
}

// CoachingReport computes improvement rates overall and per rep at now.
func (cs *Calls) CoachingReport(now time.Time) CoachingReport {
	r := CoachingReport{Points: len(cs.points), ByStatus: map[string]int{}}
	for _, p := range cs.points {
		r.ByStatus[p.Status]++
		if p.at(now).Overdue {
			r.Overdue++
		}
	}
	reps := map[string]*RepCoaching{}
	for _, f := range cs.followUp {
		rc := reps[f.RepID]
		if rc == nil {
			rc = &RepCoaching{RepID: f.RepID}
			reps[f.RepID] = rc
		}
		rc.Checks++
		r.Checks++
		if f.Outcome == StatusImproved {
			rc.Improved++
			r.Improved++
		} else {
			r.NotImproved++
		}
	}
	r.Rate = ratio(r.Improved, r.Checks)
	r.ByRep = []RepCoaching{}
	for _, rc := range reps {
		rc.Rate = ratio(rc.Improved, rc.Checks)
		r.ByRep = append(r.ByRep, *rc)
	}
	slices.SortFunc(r.ByRep, func(a, b RepCoaching) int {
		if a.RepID < b.RepID {
			return -1
		}
		return 1
	})
	return r
}
