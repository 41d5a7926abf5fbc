package api

import (
	"context"
	"strconv"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// scoreInput is one item of a review, a re-score or a calibration score as
// a client sends it: which item of the form, its score or N/A, a comment.
// Weight, max, label and whether it is critical come from the form.
type scoreInput struct {
	ItemID  string `json:"itemId"`
	Score   *int   `json:"score"`
	NA      bool   `json:"na"`
	Comment string `json:"comment"`
}

// publishedForm returns version of form id (0: the latest), or Invalid
// naming formId or formVersion when it was never published.
func (s *Server) publishedForm(ctx context.Context, id string, version int) (projections.ScorecardForm, error) {
	if !events.ValidID(id) {
		return projections.ScorecardForm{}, events.InvalidField("formId", "must be a form id")
	}
	if version < 0 {
		return projections.ScorecardForm{}, events.InvalidField("formVersion", "must be a published version")
	}
	f, err := s.Queries.ScorecardForm(ctx, id, version)
	if events.ErrorCode(err) == events.NotFound {
		if version == 0 {
			return f, events.InvalidField("formId", "no scorecard form %s was published", id)
		}
		if _, err := s.Queries.ScorecardForm(ctx, id, 0); err == nil {
			return f, events.InvalidField("formVersion", "form %s has no version %d", id, version)
		}
		return f, events.InvalidField("formId", "no scorecard form %s was published", id)
	}
	return f, err
}

// scoredItems returns the review items of in scored on form f, in the
// form's order, with the form's label, weight, max and critical flag.
// Every item of the form is scored exactly once, or marked N/A where the
// form allows it; errors are Invalid naming the input's field
// ("items[2].score").
func scoredItems(f projections.ScorecardForm, in []scoreInput) ([]events.ReviewItem, error) {
	at := make(map[string]int, len(in))
	for i, x := range in {
		field := "items[" + strconv.Itoa(i) + "]."
		fi := formItemIndex(f, x.ItemID)
		switch {
		case fi < 0:
			return nil, events.InvalidField(field+"itemId", "form %s version %d has no item %q", f.ID, f.Version, x.ItemID)
		case at[x.ItemID] > 0:
			return nil, events.InvalidField(field+"itemId", "item %s is scored twice", x.ItemID)
		case x.NA && !f.Items[fi].NAAllowed:
			return nil, events.InvalidField(field+"na", "item %s may not be N/A", x.ItemID)
		case x.NA && x.Score != nil:
			return nil, events.InvalidField(field+"score", "must be absent when the item is N/A")
		case !x.NA && x.Score == nil:
			return nil, events.InvalidField(field+"score", "is required (or na, where the form allows it)")
		case !x.NA && (*x.Score < 0 || *x.Score > f.Items[fi].Max):
			return nil, events.InvalidField(field+"score", "must be between 0 and %d", f.Items[fi].Max)
		}
		at[x.ItemID] = i + 1
	}
	out := make([]events.ReviewItem, 0, len(f.Items))
	for _, it := range f.Items {
		i := at[it.ItemID]
		if i == 0 {
			return nil, events.InvalidField("items", "item %s (%s) is not scored", it.ItemID, it.Label)
		}
		x := in[i-1]
		out = append(out, events.ReviewItem{ItemID: it.ItemID, Criterion: it.Label, Weight: it.Weight, Max: it.Max,
			Critical: it.Critical, NA: x.NA, Score: x.Score, Comment: x.Comment})
	}
	return out, nil
}

func formItemIndex(f projections.ScorecardForm, id string) int {
	for i, it := range f.Items {
		if it.ItemID == id {
			return i
		}
	}
	return -1
}
