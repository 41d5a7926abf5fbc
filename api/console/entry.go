package console

import (
	"context"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// part is one piece of a timeline entry's line: a label or a value, with
// the class of a tag if it is one, and the address it links to if any.
type part struct{ Text, Class, Href string }

// describe fills e's parts and note from its data (or its call), in lang:
// enumerations by their translated labels, amounts in won, the free text
// (a summary, a note, a request) as the note. Values of an erased customer
// read as erased.
func (c *Console) describe(ctx context.Context, e *entry, lang string, names *staffNames) {
	t := func(key string, args ...any) string { return c.cat.text(lang, key, args...) }
	add := func(text string) {
		if text != "" {
			e.Parts = append(e.Parts, part{Text: text})
		}
	}
	tag := func(text, class string) { e.Parts = append(e.Parts, part{Text: text, Class: "tag " + class}) }
	muted := func(text string) {
		if text != "" {
			e.Parts = append(e.Parts, part{Text: text, Class: "muted"})
		}
	}
	if e.Call != nil {
		add(t("cust.direction." + e.Call.Channel))
		add(t("cust.minutes", minutes(e.Call.DurationSec)))
		muted(e.Call.CallID)
		return
	}
	if p, ok := e.Data.(events.Personal); ok {
		erased := t("cust.erasedValue")
		p.EachPersonal(func(_ string, v *string) {
			if *v == projections.Erased {
				*v = erased
			}
		})
	}
	switch d := e.Data.(type) {
	case *events.ContactLogged:
		add(t("cust.channel." + d.Channel))
		add(t("cust.purpose." + d.Purpose))
		if d.DurationSec > 0 {
			add(t("cust.minutes", minutes(d.DurationSec)))
		}
		muted(d.CallID)
		e.Note = d.Summary
	case *events.ProductPitched:
		add(d.Product)
		tag(t("cust.outcome."+d.Outcome), outcomeClass(d.Outcome))
		add(t("cust.channel." + d.Channel))
		if d.FollowUpOn != "" {
			add(t("cust.part.followUp", d.FollowUpOn))
		}
		muted(d.CampaignID)
		e.Note = d.Reason
	case *events.ProfileChanged:
		profileParts(d.Changes, add, t)
		if d.Source != "" {
			add(t("cust.channel." + d.Source))
		}
		e.Note = d.Reason
	case *events.ProfileReported: // provenance.go
		reportParts(d, add, tag, muted, t)
	case *events.ProfileVerified:
		add(t("cust.channel." + d.Channel))
		if len(d.Fields) > 0 {
			labels := make([]string, len(d.Fields))
			for i, f := range d.Fields {
				labels[i] = t("cust.profileField." + f)
			}
			add(t("cust.part.confirmed", strings.Join(labels, ", ")))
		}
	case *events.ConsentChanged:
		add(t("cust.consentChannel." + d.Channel))
		add(t("cust.consentPurpose." + d.Purpose))
		if d.Granted != nil && *d.Granted {
			tag(t("cust.granted.true"), "ok")
		} else {
			tag(t("cust.granted.false"), "bad")
		}
	case *events.LifeEventRecorded:
		add(t("cust.lifeEvent." + d.Kind))
		if d.ExpectedOn != "" {
			add(t("cust.part.expected", d.ExpectedOn))
		}
		e.Note = d.Note
	case *events.FinancialsReported:
		add(t("cust.part.asOf", d.AsOf))
		if d.DepositBalance != nil {
			add(t("cust.part.deposit", formatAmount(*d.DepositBalance, d.Currency)))
		}
		if d.ProfitContribution != nil {
			add(t("cust.part.profit", formatAmount(*d.ProfitContribution, d.Currency)))
		}
	case *events.TierAssigned:
		tag(t("cust.tier."+d.Tier), "tier")
		muted(d.Basis.Rule)
	case *events.AdvisorAssigned:
		add(names.name(ctx, d.AdvisorID))
		add(t("cust.advisorKind." + d.Kind))
	case *events.ProductHoldingChanged:
		add(d.Product)
		add(t("cust.holding." + d.Change))
		muted(d.AccountRef)
	case *events.CustomerRequestNoted:
		if d.Category != "" {
			tag(d.Category, "")
		}
		e.Note = d.Text
	case *events.CustomerRegistered:
		add(t("cust.part.branch", d.BranchID))
		muted(d.Source.System)
	case *events.PersonalDataErased:
		add(d.Reason)
		muted(d.RequestedBy)
	case *events.CustomerMerged: // the merged customer's history stays on their timeline
		e.Parts = append(e.Parts, part{Text: t("cust.part.customer", d.MergedID), Href: "/customers/" + d.MergedID + "/timeline"})
		e.Note = d.Reason
	case *events.CustomerMergedInto:
		e.Parts = append(e.Parts, part{Text: t("cust.part.customer", d.SurvivorID), Href: "/customers/" + d.SurvivorID})
		e.Note = d.Reason
	}
}

// minutes shows seconds as minutes, to the tenth under ten minutes.
func minutes(sec int) string {
	if sec < 600 && sec%60 != 0 {
		return strconv.FormatFloat(float64(sec)/60, 'f', 1, 64)
	}
	return strconv.Itoa((sec + 30) / 60)
}

// outcomeClass is the tag class of a pitch outcome.
func outcomeClass(o string) string {
	switch o {
	case "accepted":
		return "ok"
	case "declined":
		return "bad"
	case "considering":
		return "warn"
	}
	return ""
}
