package console

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/dangol/dangol/api"
)

// Pages that follow the live feed (static/live.js) render an element with
// data-live-topics (the /v1/live topics, space-separated) and data-live-from
// (the read side's position when the page was read, as the API writes
// positions in JSON); the script subscribes from there and, on each event,
// the page fetches the part of itself that changed (fragmentHeader),
// asking the read side to have applied that event first (api.MinPositionHeader).

func (c *Console) liveRoutes() {
	c.page("GET /live/status", everyone, c.liveStatus)
}

// liveStatus answers live.js when the live feed refused a connection (a
// browser is not told why): 204 while the session lives; without one,
// page's redirect to sign in, which the script, not following redirects,
// takes for "ended".
func (c *Console) liveStatus(w http.ResponseWriter, r *http.Request, s *Session) error {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// livePosition is where a page's live feed resumes: the read side's
// position when the page is read (before its data: whatever is applied
// after it the feed replays), as the API writes positions in JSON; ""
// without Progress.
func (c *Console) livePosition() string {
	if c.Progress == nil {
		return ""
	}
	b, _ := json.Marshal(c.Progress.Position()) // a Position always encodes
	return string(b)
}

// fragmentHeader (customer.go) asks a page for a part of itself: on the
// worklist "rows" (its filters, counts and rows; worklist.js), on
// /live/status "probe" (live.js). Such a request is the page refreshing
// itself, not the member using it (see background).

// background reports whether r is a page's own refresh rather than the
// member's doing: it leaves the session's idle clock alone, so that a page
// left open on the live feed still goes idle.
func background(r *http.Request) bool { return r.Header.Get(fragmentHeader) != "" }

// awaitPosition waits, as the API's reads do, until the read side has
// applied the event at the position of r's api.MinPositionHeader, if any
// (the live event that made the page refresh): past the wait's bound the
// page answers 503 and the script tries again.
func (c *Console) awaitPosition(r *http.Request) error {
	return api.AwaitMinPosition(r, c.Store, c.Progress)
}

// renderWorkFragment writes the template name of page (a part of it, without
// the layout) with data, for the fragment request of kind.
func (c *Console) renderWorkFragment(w http.ResponseWriter, r *http.Request, page, name, kind string, data any) error {
	t, ok := c.pages.byName[page]
	if !ok {
		panic("console: no page " + page)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, c.viewOf(r, "", data)); err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", fragmentHeader)
	h.Set(fragmentHeader, kind)
	_, err := w.Write(buf.Bytes())
	return err
}
