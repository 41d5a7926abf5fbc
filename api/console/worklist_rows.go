package console

import (
	"html/template"
	"net/url"
	"strings"

	"github.com/dangol/dangol/projections"
)

// The worklist's rows are written here rather than by html/template: a
// book is ~600 rows of some twenty values each, and the template's
// reflection and per-value escaper calls made them ~90% of the page's
// time and ~48,000 allocations a page, which on a small server showed in
// the p99 (GC). This writes the same markup into one buffer; every value
// goes through escapeHTML (what html/template escapes in text and in
// quoted attributes), and the only URL is a customer id,
// path-escaped. TestWorklistRowsEscape holds it to that.

// rowsHTML returns the <tr> elements of rows; dnc is the do-not-contact
// label.
func rowsHTML(rows []workRow, dnc string) template.HTML {
	var b strings.Builder
	b.Grow(len(rows) * 420)
	for i := range rows {
		r := &rows[i]
		b.WriteString(`<tr data-customer="`)
		escapeHTML(&b, r.ID)
		b.WriteByte('"')
		if r.DoNotContact {
			b.WriteString(` class="wl-dnc" data-dnc="true"`)
		}
		b.WriteString(`><td><a href="/customers/`)
		escapeHTML(&b, url.PathEscape(r.ID))
		b.WriteString(`" class="cid">`)
		escapeHTML(&b, r.ID)
		b.WriteString(`</a></td><td>`)
		escapeHTML(&b, r.Name)
		if r.DoNotContact {
			b.WriteString(` <span class="tag bad dnc-tag">`)
			escapeHTML(&b, dnc)
			b.WriteString(`</span>`)
		}
		b.WriteString(`</td><td>`)
		if r.TierLabel != "" {
			b.WriteString(`<span class="tag tier" data-tier="`)
			escapeHTML(&b, r.Tier)
			b.WriteString(`">`)
			escapeHTML(&b, r.TierLabel)
			b.WriteString(`</span>`)
		}
		b.WriteString(`</td><td>`)
		escapeHTML(&b, r.Branch)
		b.WriteString(`</td><td>`)
		for _, t := range r.Tags {
			b.WriteString(`<span class="tag `)
			escapeHTML(&b, t.Class)
			b.WriteString(`" data-reason="`)
			escapeHTML(&b, t.Reason)
			b.WriteString(`">`)
			escapeHTML(&b, t.Text)
			b.WriteString(`</span>`)
		}
		b.WriteString(`</td><td class="num">`)
		escapeHTML(&b, r.LastContact)
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

// escapeHTML writes s with &, <, >, ", ' and + escaped and NUL replaced
// by U+FFFD, as html/template escapes text and quoted attribute values.
func escapeHTML(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '+':
			esc = "&#43;"
		case 0:
			esc = "\uFFFD"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// The details of the reasons of target marketing (projections.Worklist,
// AddCampaignReasons): "campaign: <name>" and "balance -25% since
// 2026-08-31".
const (
	campaignDetail = "campaign: "
	balanceDetail  = "balance "
)

// outcomeDetail reports whether detail is a campaign's or a VIP at risk's.
func outcomeDetail(detail string) bool {
	return strings.HasPrefix(detail, campaignDetail) || strings.HasPrefix(detail, balanceDetail)
}

// outcomeTags are the tags of reason (a campaign or a VIP at risk) from
// the item's details, in the page's language t: one per campaign the
// customer is a target of, one for the fall of a VIP's balance.
func outcomeTags(reason string, details []string, t func(string, ...any) string) []workTag {
	var tags []workTag
	for _, d := range details {
		switch reason {
		case projections.ReasonCampaign:
			if name, ok := strings.CutPrefix(d, campaignDetail); ok {
				tags = append(tags, workTag{reason, t("out.work.campaign", name), workReasonClass[reason]})
			}
		case projections.ReasonVIPAtRisk:
			if rest, ok := strings.CutPrefix(d, balanceDetail); ok {
				pct, since, _ := strings.Cut(rest, " since ")
				tags = append(tags, workTag{reason, t("out.work.vipRisk", pct, since), workReasonClass[reason]})
			}
		}
	}
	if len(tags) == 0 { // a reason without its detail still shows
		tags = append(tags, workTag{reason, t("work.reason." + reason), workReasonClass[reason]})
	}
	return tags
}
