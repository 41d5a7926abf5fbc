package console

import (
	"maps"
	"slices"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The customer page's provenance panel is the template
// _cust_provenance.html over the view's Provenance; the worklist shows a
// data conflict (projections.ReasonDataConflict) as one tag per field,
// from the item's details "<field>: <system>, <system>" (never values).

// conflictField returns the profile field a data conflict's detail names,
// or false if detail is not one.
func conflictField(detail string) (field, systems string, ok bool) {
	field, systems, ok = strings.Cut(detail, ": ")
	return field, systems, ok && slices.Contains(events.ProfileFields, field)
}

// conflictTags are the tags of a data conflict from the item's details, in
// the page's language t: one per field, naming it and its systems.
func conflictTags(details []string, t func(string, ...any) string) []workTag {
	const reason = projections.ReasonDataConflict
	var tags []workTag
	for _, d := range details {
		if field, systems, ok := conflictField(d); ok {
			tags = append(tags, workTag{reason, t("work.tag.data_conflict", t("cust.profileField."+field), systems), workReasonClass[reason]})
		}
	}
	if len(tags) == 0 { // a reason without its detail still shows
		tags = append(tags, workTag{reason, t("work.reason." + reason), workReasonClass[reason]})
	}
	return tags
}

// profileParts adds a timeline entry's part per profile field of fields,
// in field-name order: "<field> → <value>".
func profileParts(fields map[string]string, add func(string), t func(string, ...any) string) {
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		add(t("cust.part.change", t("cust.profileField."+k), fields[k]))
	}
}

// reportParts describes a ProfileReported on the timeline: the system, the
// values its record holds, whether it verified them, the record's key.
func reportParts(d *events.ProfileReported, add func(string), tag func(text, class string), muted func(string), t func(string, ...any) string) {
	add(d.Source.System)
	profileParts(d.Fields, add, t)
	if d.Source.Verified {
		tag(t("prov.verified"), "ok")
	}
	muted(d.Source.Ref)
}
