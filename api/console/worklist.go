package console

import (
	"cmp"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The worklist is a rep's or private banker's start page: every customer of
// their book, with the reasons to call now, on one page (a book is about
// 600 customers; no paging). Filters, counts and sort are query parameters,
// so that each is a link that works without script; worklist.js adds the
// keyboard, live.js the updates.

func (c *Console) worklistRoutes() {
	c.page("GET /{$}", everyone, c.home)
}

// home is the start page: the worklist for the advisor roles; the admin's
// staff screen; for the others, what they can do here for now.
func (c *Console) home(w http.ResponseWriter, r *http.Request, s *Session) error {
	switch {
	case slices.Contains(advisorRoles, s.Role):
		return c.worklist(w, r, s)
	case slices.Contains(adminRoles, s.Role):
		http.Redirect(w, r, "/admin/staff", http.StatusSeeOther)
		return nil
	case s.Role == "supervisor":
		http.Redirect(w, r, "/qa", http.StatusSeeOther)
		return nil
	case s.Role == "centre_head":
		http.Redirect(w, r, "/coaching", http.StatusSeeOther)
		return nil
	}
	c.render(w, r, http.StatusOK, "worklist", "work.home.title", worklistPage{Elsewhere: true})
	return nil
}

// Sort keys of the worklist (?sort=, "-" before one reverses it).
var worklistSorts = []string{"priority", "id", "name", "tier", "branch", "contact"}

// worklistFilter is what the query asks for; the zero value is the whole
// book in priority order.
type worklistFilter struct {
	Reason string // one of worklistReasons, or "" for all
	Branch string
	Tier   string // one of events.Tiers, workTierNone, or ""
	Sort   string // one of worklistSorts, maybe with "-"; "" is "priority"
}

// workTierNone filters the customers not yet segmented.
const workTierNone = "none"

var worklistReasons = []string{projections.ReasonStale, projections.ReasonLifeEvent, projections.ReasonPitchFollowUp, projections.ReasonNoContact,
	projections.ReasonCampaign, projections.ReasonVIPAtRisk, projections.ReasonDataConflict}

// parseWorklistFilter reads q; a value it does not know names its
// parameter in bad (and nothing is shown but the error).
func parseWorklistFilter(q url.Values) (f worklistFilter, bad string) {
	f = worklistFilter{Reason: q.Get("reason"), Branch: q.Get("branch"), Tier: q.Get("tier"), Sort: q.Get("sort")}
	switch {
	case f.Reason != "" && !slices.Contains(worklistReasons, f.Reason):
		return f, "reason"
	case f.Branch != "" && !events.ValidID(f.Branch):
		return f, "branch"
	case f.Tier != "" && f.Tier != workTierNone && !slices.Contains(events.Tiers, f.Tier):
		return f, "tier"
	case f.Sort != "" && !slices.Contains(worklistSorts, strings.TrimPrefix(f.Sort, "-")):
		return f, "sort"
	}
	if f.Sort == "priority" {
		f.Sort = ""
	}
	return f, ""
}

// href is the worklist's link with f's filters.
func (f worklistFilter) href() string {
	q := url.Values{}
	for k, v := range map[string]string{"reason": f.Reason, "branch": f.Branch, "tier": f.Tier, "sort": f.Sort} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return "/"
	}
	return "/?" + q.Encode()
}

func (f worklistFilter) matches(it *projections.WorkItem, skip string) bool {
	if skip != "reason" && f.Reason != "" && !slices.Contains(it.Reasons, f.Reason) {
		return false
	}
	if skip != "branch" && f.Branch != "" && it.BranchID != f.Branch {
		return false
	}
	if skip != "tier" && f.Tier != "" && cmp.Or(it.Tier, workTierNone) != f.Tier {
		return false
	}
	return true
}

// worklistPage is the worklist template's data.
type worklistPage struct {
	Elsewhere bool // the member's role has no worklist

	Rows     []workRow
	Total    int          // customers in the book
	Facets   []workFacets // reason, tier, branch
	Columns  []workColumn
	Filtered bool   // some filter is set
	Clear    string // the link without filters (sort kept)
	AsOf     time.Time

	LifeEventDays, NoContactDays int

	// The live feed: the topic of the member's book, and the read side's
	// position when the page was read (JSON, as the API writes positions).
	LiveTopics string
	LiveFrom   string

	RowsHTML template.HTML // the rows' markup (worklist_rows.go)
}

// workFacets is one filter with its choices.
type workFacets struct {
	Name    string // the query parameter
	Label   string
	Choices []workChoice
}

// workChoice is one choice of a filter, with how many rows it would show.
type workChoice struct {
	Label   string
	Count   int
	Href    string
	Current bool
	Class   string // the tag's look
	Value   string
}

// workColumn is a sortable column's header.
type workColumn struct {
	Key   string
	Label string
	Href  string
	Sort  string // aria-sort of the current sort column: "ascending" or "descending"
	Num   bool   // right-aligned, as its values (rowsHTML's td class="num")
}

// workRow is one customer line, translated.
type workRow struct {
	ID, Name, Tier, Branch string
	Tags                   []workTag
	TierLabel              string // "" when not segmented
	LastContact            string // KST, or "never" translated
	DoNotContact           bool
}

type workTag struct {
	Reason, Text, Class string
}

// worklistOptions are the thresholds of the reasons (the API's defaults).
var worklistOptions = projections.WorklistOptions{LifeEventWithinDays: 60, NoContactDays: 90}

func (c *Console) worklist(w http.ResponseWriter, r *http.Request, s *Session) error {
	lang := language(r)
	f, bad := parseWorklistFilter(r.URL.Query())
	if bad != "" {
		c.render(w, r, http.StatusBadRequest, "error", "error.title", pageError{Status: http.StatusBadRequest,
			Message: c.cat.text(lang, "work.bad."+bad)})
		return nil
	}
	fragment := r.Header.Get(fragmentHeader) == "rows"
	if fragment {
		if err := c.awaitPosition(r); err != nil {
			return err
		}
	}
	from := c.livePosition() // first: at worst a refresh that changes nothing
	now := c.now()
	items, err := c.Queries.Worklist(r.Context(), s.StaffID, now, worklistOptions)
	if err != nil {
		return err
	}
	// The rows name the book's customers: a read for the access record,
	// as GET /v1/worklist records it (one entry, no customer).
	c.API.RecordRead(r.Context(), s.Principal(), c.clientAddr(r), "worklist", "", api.WorklistReadDetail(s.StaffID, len(items)))
	p := c.buildWorklist(lang, items, f, now)
	p.LiveTopics, p.LiveFrom = "advisor:"+s.StaffID, from
	if fragment {
		return c.renderWorkFragment(w, r, "worklist", "work-fragment", "rows", p)
	}
	w.Header().Set("Vary", fragmentHeader)
	c.render(w, r, http.StatusOK, "worklist", "work.title", p)
	return nil
}

// buildWorklist filters, counts, sorts and translates the book's items.
func (c *Console) buildWorklist(lang string, items []projections.WorkItem, f worklistFilter, now time.Time) worklistPage {
	t := func(key string, args ...any) string { return c.cat.text(lang, key, args...) }
	p := worklistPage{Total: len(items), AsOf: now, Filtered: f.Reason != "" || f.Branch != "" || f.Tier != "",
		Clear: worklistFilter{Sort: f.Sort}.href(), LifeEventDays: worklistOptions.LifeEventWithinDays, NoContactDays: worklistOptions.NoContactDays}

	// Counts per choice, each with the other filters applied (what its
	// link would show).
	reasons, tiers, branches := map[string]int{}, map[string]int{}, map[string]int{}
	var allReasons, allTiers, allBranches int
	for i := range items {
		it := &items[i]
		if f.matches(it, "reason") {
			allReasons++
			for _, x := range it.Reasons {
				reasons[x]++
			}
		}
		if f.matches(it, "tier") {
			allTiers++
			tiers[cmp.Or(it.Tier, workTierNone)]++
		}
		branches[it.BranchID] += 0 // every branch of the book is a choice
		if f.matches(it, "branch") {
			allBranches++
			branches[it.BranchID]++
		}
	}
	choice := func(field, value, label string, n int, class string) workChoice {
		g := f
		var cur string
		switch field {
		case "reason":
			cur, g.Reason = f.Reason, value
		case "tier":
			cur, g.Tier = f.Tier, value
		case "branch":
			cur, g.Branch = f.Branch, value
		}
		return workChoice{Label: label, Count: n, Href: g.href(), Current: cur == value, Class: class, Value: value}
	}
	byReason := workFacets{Name: "reason", Label: t("work.filter.reason"), Choices: []workChoice{choice("reason", "", t("work.filter.all"), allReasons, "")}}
	for _, x := range worklistReasons {
		byReason.Choices = append(byReason.Choices, choice("reason", x, t("work.reason."+x), reasons[x], workReasonClass[x]))
	}
	byTier := workFacets{Name: "tier", Label: t("work.filter.tier"), Choices: []workChoice{choice("tier", "", t("work.filter.all"), allTiers, "")}}
	for _, x := range append(slices.Clone(events.Tiers), workTierNone) {
		byTier.Choices = append(byTier.Choices, choice("tier", x, t("work.tier."+x), tiers[x], "tier"))
	}
	byBranch := workFacets{Name: "branch", Label: t("work.filter.branch"), Choices: []workChoice{choice("branch", "", t("work.filter.all"), allBranches, "")}}
	if f.Branch != "" {
		branches[f.Branch] += 0 // chosen, if no longer in the book: shown, to be unchosen
	}
	for _, b := range slices.Sorted(maps.Keys(branches)) {
		byBranch.Choices = append(byBranch.Choices, choice("branch", b, b, branches[b], ""))
	}
	p.Facets = []workFacets{byReason, byTier, byBranch}

	shown := make([]*projections.WorkItem, 0, len(items))
	for i := range items {
		if f.matches(&items[i], "") {
			shown = append(shown, &items[i])
		}
	}
	sortWorkItems(shown, f.Sort)
	p.Columns = c.workColumns(lang, f)

	never := t("work.never")
	p.Rows = make([]workRow, len(shown))
	for i, it := range shown {
		row := workRow{ID: it.CustomerID, Name: it.Name, Tier: cmp.Or(it.Tier, workTierNone), Branch: it.BranchID,
			LastContact: formatTime(it.LastContact), DoNotContact: it.DoNotContact}
		if it.Tier != "" {
			row.TierLabel = t("work.tier." + it.Tier)
		}
		if row.LastContact == "" {
			row.LastContact = never
		}
		details := parseWorkDetails(it.Details)
		for _, reason := range it.Reasons {
			switch reason {
			case projections.ReasonStale:
				row.Tags = append(row.Tags, workTag{reason, t("work.tag.stale"), workReasonClass[reason]})
			case projections.ReasonLifeEvent:
				for _, d := range details.life {
					row.Tags = append(row.Tags, workTag{reason, t("work.tag.life", t("work.life."+d.what), d.on), workReasonClass[reason]})
				}
			case projections.ReasonPitchFollowUp:
				for _, d := range details.followUps {
					row.Tags = append(row.Tags, workTag{reason, t("work.tag.follow_up", d.what, d.on), workReasonClass[reason]})
				}
			case projections.ReasonNoContact:
				if it.LastContact.IsZero() {
					row.Tags = append(row.Tags, workTag{reason, t("work.tag.never"), workReasonClass[reason]})
				} else {
					days := int(now.Sub(it.LastContact) / (24 * time.Hour))
					row.Tags = append(row.Tags, workTag{reason, t("work.tag.no_contact", days), workReasonClass[reason]})
				}
			case projections.ReasonCampaign, projections.ReasonVIPAtRisk: // worklist_rows.go
				row.Tags = append(row.Tags, outcomeTags(reason, it.Details, t)...)
			case projections.ReasonDataConflict: // provenance.go
				row.Tags = append(row.Tags, conflictTags(it.Details, t)...)
			default:
				row.Tags = append(row.Tags, workTag{reason, reason, ""})
			}
		}
		p.Rows[i] = row
	}
	p.RowsHTML = rowsHTML(p.Rows, t("work.dnc"))
	return p
}

var workReasonClass = map[string]string{
	projections.ReasonStale:         "warn",
	projections.ReasonLifeEvent:     "ok",
	projections.ReasonPitchFollowUp: "info",
	projections.ReasonNoContact:     "",
	projections.ReasonCampaign:      "campaign",
	projections.ReasonVIPAtRisk:     "bad",
	projections.ReasonDataConflict:  "warn",
}

// workDetails are a WorkItem's details: "<kind> on <date>" for a life
// event, "<product> follow-up on <date>" for a pitch (projections.Worklist).
type workDetails struct{ life, followUps []workDetail }

type workDetail struct{ what, on string }

func parseWorkDetails(ds []string) workDetails {
	var out workDetails
	for _, d := range ds {
		if _, _, conflict := conflictField(d); outcomeDetail(d) || conflict { // a campaign's name may hold " on "
			continue
		}
		if what, on, ok := strings.Cut(d, " follow-up on "); ok {
			out.followUps = append(out.followUps, workDetail{what, on})
		} else if what, on, ok := strings.Cut(d, " on "); ok {
			out.life = append(out.life, workDetail{what, on})
		}
	}
	return out
}

// workTierRank orders tiers from the most valuable down, unsegmented last.
var workTierRank = map[string]int{"vip": 0, "potential_vip": 1, "general": 2, "": 3}

// sortWorkItems sorts the rows by key (worklistSorts, "-" reverses); ties
// keep the worklist's order (most reasons first, then customer id).
func sortWorkItems(items []*projections.WorkItem, key string) {
	desc := strings.HasPrefix(key, "-")
	key = strings.TrimPrefix(key, "-")
	var by func(a, b *projections.WorkItem) int
	switch key {
	case "id":
		by = func(a, b *projections.WorkItem) int { return strings.Compare(a.CustomerID, b.CustomerID) }
	case "name":
		by = func(a, b *projections.WorkItem) int { return strings.Compare(a.Name, b.Name) }
	case "tier":
		by = func(a, b *projections.WorkItem) int { return cmp.Compare(workTierRank[a.Tier], workTierRank[b.Tier]) }
	case "branch":
		by = func(a, b *projections.WorkItem) int { return strings.Compare(a.BranchID, b.BranchID) }
	case "contact": // longest without contact (never) first
		by = func(a, b *projections.WorkItem) int { return a.LastContact.Compare(b.LastContact) }
	default: // priority: the worklist's own order
		if desc {
			slices.Reverse(items)
		}
		return
	}
	slices.SortStableFunc(items, func(a, b *projections.WorkItem) int {
		if desc {
			return by(b, a)
		}
		return by(a, b)
	})
}

// columns are the table's headers, each a link sorting by it (again:
// the other way).
func (c *Console) workColumns(lang string, f worklistFilter) []workColumn {
	cur, desc := strings.TrimPrefix(f.Sort, "-"), strings.HasPrefix(f.Sort, "-")
	if cur == "" {
		cur = "priority"
	}
	var cols []workColumn
	for _, k := range []string{"id", "name", "tier", "branch", "priority", "contact"} {
		col := workColumn{Key: k, Label: c.cat.text(lang, "work.col."+k), Num: k == "contact"}
		g := f
		g.Sort = k
		if k == cur {
			col.Sort = "ascending"
			if desc {
				col.Sort = "descending"
			} else {
				g.Sort = "-" + k
			}
		}
		if g.Sort == "priority" {
			g.Sort = ""
		}
		col.Href = g.href()
		cols = append(cols, col)
	}
	return cols
}
