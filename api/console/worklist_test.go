package console

import (
	"html"
	"html/template"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/projections"
)

// rowTemplate is the worklist row as html/template would write it: rowsHTML
// must give exactly its output, escaping included.
var rowTemplate = template.Must(template.New("rows").Parse(`{{$dnc := .DNC}}{{range .Rows}}<tr data-customer="{{.ID}}"{{if .DoNotContact}} class="wl-dnc" data-dnc="true"{{end}}>` +
	`<td><a href="/customers/{{.ID}}" class="cid">{{.ID}}</a></td><td>{{.Name}}{{if .DoNotContact}} <span class="tag bad dnc-tag">{{$dnc}}</span>{{end}}</td>` +
	`<td>{{if .TierLabel}}<span class="tag tier" data-tier="{{.Tier}}">{{.TierLabel}}</span>{{end}}</td><td>{{.Branch}}</td>` +
	`<td>{{range .Tags}}<span class="tag {{.Class}}" data-reason="{{.Reason}}">{{.Text}}</span>{{end}}</td><td class="num">{{.LastContact}}</td></tr>
{{end}}`))

// TestWorklistRowsEscape: the hand-written rows are html/template's rows
// for the values a book holds (Hangul, ampersands, apostrophes, quotes,
// plus signs); and a hostile value (markup, quotes, NUL) in any field a
// row shows lands escaped in the same markup as a plain one.
func TestWorklistRowsEscape(t *testing.T) {
	rows := []workRow{
		{ID: "C0000001", Name: "김민준", Tier: "vip", TierLabel: "VIP", Branch: "B001", LastContact: "2026-11-25 18:00",
			Tags: []workTag{{"stale_data", "정보가 2개월 넘음", "warn"}, {"no_recent_contact", "연락한 적 없음", ""}}},
		{ID: "C2", Name: `Kim & Lee's "Best" +82`, DoNotContact: true, Branch: "B002", LastContact: "never",
			Tags: []workTag{{"life_event_soon", "Child's wedding on 2030-04-01", "ok"}}},
	}
	var want strings.Builder
	if err := rowTemplate.Execute(&want, map[string]any{"Rows": rows, "DNC": "Do not <contact>"}); err != nil {
		t.Fatal(err)
	}
	if got := string(rowsHTML(rows, "Do not <contact>")); got != want.String() {
		t.Fatalf("rows differ from html/template's:\n got %s\nwant %s", got, want.String())
	}

	hostile := `<script>alert("x&y")</script>'` + "\x00" + `"><img src=x onerror=alert(1)>`
	esc := escapedForTest(hostile)
	if strings.ContainsAny(esc, "<>\"'\x00") || html.UnescapeString(esc) != strings.ReplaceAll(hostile, "\x00", "\uFFFD") {
		t.Fatalf("escaped %q", esc)
	}
	row := func(v string) []workRow {
		return []workRow{{ID: "C3", Name: v, Tier: v, TierLabel: v, Branch: v, DoNotContact: true, LastContact: v, Tags: []workTag{{v, v, v}}}}
	}
	const mark = "\x01value\x01"
	if got, want := string(rowsHTML(row(hostile), hostile)), strings.ReplaceAll(string(rowsHTML(row(mark), mark)), mark, esc); got != want {
		t.Fatalf("a hostile value changed the markup:\n got %s\nwant %s", got, want)
	}
}

// TestWorklistDetails: the details of projections.Worklist become the
// tags' dates and names.
func TestWorklistDetails(t *testing.T) {
	d := parseWorkDetails([]string{"child_wedding on 2030-04-01", "loan-a follow-up on 2030-03-14", "other on 2030-05-05"})
	if len(d.life) != 2 || d.life[0] != (workDetail{"child_wedding", "2030-04-01"}) || d.life[1] != (workDetail{"other", "2030-05-05"}) ||
		len(d.followUps) != 1 || d.followUps[0] != (workDetail{"loan-a", "2030-03-14"}) {
		t.Fatalf("details %+v", d)
	}
	c := New(Config{Secret: make([]byte, 32)})
	now := time.Date(2030, 3, 14, 3, 0, 0, 0, time.UTC)
	p := c.buildWorklist("en", []projections.WorkItem{{CustomerID: "W1", Name: "N", Reasons: []string{projections.ReasonLifeEvent, projections.ReasonPitchFollowUp, projections.ReasonNoContact},
		Details: []string{"child_wedding on 2030-04-01", "loan-a follow-up on 2030-03-14"}, LastContact: now.Add(-95 * 24 * time.Hour)}}, worklistFilter{}, now)
	var texts []string
	for _, tg := range p.Rows[0].Tags {
		texts = append(texts, tg.Text)
	}
	if got := strings.Join(texts, " | "); got != "Child's wedding on 2030-04-01 | Follow up loan-a (due 2030-03-14) | No contact for 95 days" {
		t.Fatalf("tags %q", got)
	}
}

func escapedForTest(s string) string {
	var b strings.Builder
	escapeHTML(&b, s)
	return b.String()
}
