package projections

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// This file holds the figures of a calibration session: the consensus,
// each evaluator's distance from it, the per-item spread, and the report
// of every evaluator's distance over time.

// score folds one evaluator's score: only an evaluator of the session,
// while it is open, and once (the API refuses the rest).
func (s *CalibrationSession) score(d *events.CalibrationScored, at time.Time) {
	if s.Status != CalibrationOpen || !slices.Contains(s.Evaluators, d.EvaluatorID) || slices.Contains(s.Scored, d.EvaluatorID) {
		return
	}
	s.Scored = append(s.Scored, d.EvaluatorID)
	s.Scores = append(s.Scores, CalibrationScore{EvaluatorID: d.EvaluatorID, Items: d.Items, Total: d.Total,
		CriticalFailed: d.CriticalFailed, ScoredAt: at})
}

// close computes a closed session's figures: the consensus is the mean of
// the totals (one decimal), a distance is |total − consensus| (one
// decimal), and the items are those of form (the session's version) in
// form order, or, without it, those of the first score.
func (s *CalibrationSession) close(form *ScorecardForm) {
	if len(s.Scores) == 0 {
		return
	}
	var sum float64
	for _, sc := range s.Scores {
		sum += sc.Total
	}
	s.Consensus = round1(sum / float64(len(s.Scores)))
	for i := range s.Scores {
		s.Scores[i].Distance = round1(math.Abs(s.Scores[i].Total - s.Consensus))
	}
	var items []events.FormItem
	if form != nil {
		items = form.Items
	} else {
		for _, it := range s.Scores[0].Items {
			items = append(items, events.FormItem{ItemID: it.ItemID, Label: it.Criterion})
		}
	}
	s.Items = make([]ItemSpread, 0, len(items))
	for _, it := range items {
		s.Items = append(s.Items, s.spread(it))
	}
}

// spread returns how the session's scores of item lie apart, each as a
// percentage of the item's max (one decimal), N/A (or unscored) as -1 and
// left out of mean, min and max.
func (s *CalibrationSession) spread(item events.FormItem) ItemSpread {
	sp := ItemSpread{ItemID: item.ItemID, Label: item.Label, Scores: make([]float64, 0, len(s.Scores))}
	var sum float64
	n := 0
	for _, sc := range s.Scores {
		pct := -1.0
		if it, ok := findItem(sc.Items, item); ok && !it.NA && it.Score != nil && it.Max > 0 {
			pct = round1(100 * float64(*it.Score) / float64(it.Max))
		}
		sp.Scores = append(sp.Scores, pct)
		if pct < 0 {
			continue
		}
		if n == 0 || pct < sp.Min {
			sp.Min = pct
		}
		if n == 0 || pct > sp.Max {
			sp.Max = pct
		}
		sum += pct
		n++
	}
	if n > 0 {
		sp.Mean = round1(sum / float64(n))
		sp.Spread = round1(sp.Max - sp.Min)
	}
	return sp
}

// findItem returns the scored item of items that is item: by item id, or
// by label for items without one.
func findItem(items []events.ReviewItem, item events.FormItem) (events.ReviewItem, bool) {
	for _, it := range items {
		if item.ItemID != "" && it.ItemID == item.ItemID || item.ItemID == "" && it.ItemID == "" && it.Criterion == item.Label {
			return it, true
		}
	}
	return events.ReviewItem{}, false
}

// CalibrationReport returns, per evaluator per calendar month (KST) in
// which sessions closed, how many closed sessions they scored and their
// mean distance from the consensus (one decimal); by evaluator, then
// month.
func (q *QA) CalibrationReport() []CalibrationDistance {
	type key struct{ evaluator, month string }
	acc := map[key]*CalibrationDistance{}
	sums := map[key]float64{}
	for _, id := range q.order {
		s := q.calibrations[id]
		if s.Status != CalibrationClosed || s.ClosedAt == nil {
			continue
		}
		month := reportMonth(*s.ClosedAt)
		for _, sc := range s.Scores {
			k := key{sc.EvaluatorID, month}
			if acc[k] == nil {
				acc[k] = &CalibrationDistance{EvaluatorID: sc.EvaluatorID, Month: month}
			}
			acc[k].Sessions++
			sums[k] += sc.Distance
		}
	}
	out := make([]CalibrationDistance, 0, len(acc))
	for k, d := range acc {
		d.MeanDistance = round1(sums[k] / float64(d.Sessions))
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b CalibrationDistance) int {
		return cmp.Or(cmp.Compare(a.EvaluatorID, b.EvaluatorID), cmp.Compare(a.Month, b.Month))
	})
	return out
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
