package console

import (
	"cmp"
	"net/http"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// workRoutes registers the worklist, the customer page, its forms, search
// and the language switch.
func (c *Console) workRoutes() {
	c.worklistRoutes()
	c.searchRoutes()
	c.liveRoutes()
	c.customerRoutes()
	c.auditRoutes()       // audit.go: log, streams, seals
	c.auditAccessRoutes() // audit_access.go: export builder, access record
	c.qaRoutes()          // qa.go: the QA queue, the call page, disputes, forms, the sampling plan
	c.calibrationRoutes() // qa_calibration.go: calibration sessions
	c.myQARoutes()        // qa_mine.go: the rep's evaluations and coaching points
	c.followUpRoutes()    // qa_followup.go: the centre head's follow-ups and team
	c.reportRoutes()      // reports.go: the six reports and calibration, as pages and CSV
	c.campaignRoutes()    // campaigns.go: the campaign list, builder, page and targets
	c.outcomeRoutes()     // campaign_outcome.go: funnel and lift, the tier migration matrix
	c.duplicateRoutes()   // duplicates.go: likely duplicates and their merge
	c.mux.HandleFunc("GET /lang/{lang}", c.switchLanguage)
}

var errNoPage = events.Errorf(events.NotFound, "no such page")

// switchLanguage remembers the language chosen (langCookie, a year) and
// goes back to the page it was chosen on. It needs no session: the sign-in
// page has the switch too.
func (c *Console) switchLanguage(w http.ResponseWriter, r *http.Request) {
	lang := r.PathValue("lang")
	if !slices.Contains(Languages, lang) {
		c.fail(w, r, http.StatusNotFound, errNoPage)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: int((365 * 24 * time.Hour).Seconds()),
		HttpOnly: true, Secure: c.SecureCookies, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, cmp.Or(localPath(r.URL.Query().Get("next")), "/"), http.StatusSeeOther) // login.go
}
