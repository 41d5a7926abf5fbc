package console

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// A form of a merged customer's page sent after the merge (the page was
// open in another tab, or the merge was made meanwhile) is refused by the
// API, naming the survivor (api.MergedError), and nothing is appended.
// The page that comes back is the survivor's, with the form open, the
// user's input in it and the refusal above it: the form now posts to the
// survivor at their current version, so that the advisor who checks the
// input and submits again writes to the customer who stands for the
// person.

// mergedAway reports whether err is the API's refusal of form f as a
// write to a merged customer and, if so, answers it as above.
func (c *Console) mergedAway(w http.ResponseWriter, r *http.Request, s *Session, f *form, err error) (bool, error) {
	var me *api.MergedError
	if !errors.As(err, &me) {
		return false, nil
	}
	// The survivor may have been merged in turn (a chain): the page and the
	// form are those of the chain's end, the customer who stands for the
	// person now.
	f.Key = events.NewID().String() // a new write, to another stream
	survivor := me.SurvivorID
	var p *customerPage
	for range projections.MaxMergeHops {
		f.Action = "/customers/" + url.PathEscape(survivor) + "/" + f.spec.path
		f.Err = c.cat.text(language(r), "cust.mergedWrite", me.CustomerID, survivor)
		p, err = c.customerData(r, s, survivor, "", f)
		var further *mergedError
		if !errors.As(err, &further) || further.survivor == survivor {
			break
		}
		survivor = further.survivor
	}
	if err != nil {
		return true, err
	}
	f.Version, p.MergedFrom = p.V.Version, me.CustomerID
	c.render(w, r, http.StatusConflict, "customer", "cust.title", p)
	return true, nil
}
