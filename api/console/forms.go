package console

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The customer page has a form for every rep and private-banker write of
// the API (shared/API.md): each names its inputs, how they become the
// route's JSON body (the event's data, built as the typed event so that
// the field names are the catalog's), and which input an API error naming
// a field of that body belongs to. The console itself checks only what the
// JSON cannot carry (a time typed in KST, a whole number); everything else
// is the API's validation, shown next to the input.

// Hidden fields of every customer form.
const (
	keyField     = "_key"     // the Idempotency-Key: one per rendered form
	versionField = "_version" // If-Match: the stream version the page was rendered at
	wasPrefix    = "_was_"    // the profile form's values as rendered (its changes are what differs)
	// defaultPrefix marks a time input's value as rendered (the minute the
	// page was made): a time submitted unchanged means "now", the moment
	// of the submission (submittedTime).
	defaultPrefix = "_default_"
)

// inputKind is how an input is shown.
type inputKind int

const (
	inText     inputKind = iota // one line
	inTextarea                  // free text
	inSelect                    // one of enum
	inChecks                    // any of enum (checkboxes)
	inDate                      // YYYY-MM-DD
	inDateTime                  // a KST datetime-local, sent as RFC 3339
	inNumber                    // a whole number
	inChoice                    // one of choices that depend on the customer and the moment (input.choices)
)

// input is one input of a form.
type input struct {
	name     string
	kind     inputKind
	enum     string   // select and checks: the catalog prefix of the values' labels ("cust.channel.")
	values   []string // select and checks: the allowed values, in order
	api      string   // the body field it fills, if not name
	required bool     // marked required (the API decides)
	// choices names an inChoice input's choices (form.choices), as
	// "campaigns".
	choices string
}

// formSpec is one write form of the customer page.
type formSpec struct {
	kind   string // "contact": its catalog keys are cust.form.<kind>.*, its element ids <kind>-<input>
	path   string // the API route under /v1/customers/{id}/ and the console route under /customers/{id}/
	event  string // the event type the route appends
	inputs []input
	// body builds the JSON body from the form's values, submitted at now
	// (the console's clock). An error is Invalid naming an input.
	body func(v url.Values, now time.Time) (events.Data, error)
}

var grantedValues = []string{"true", "false"}

// formSpecs are the forms, in the order the page shows them.
var formSpecs = []*formSpec{
	{kind: "contact", path: "contacts", event: "ContactLogged", inputs: []input{
		{name: "channel", kind: inSelect, enum: "cust.channel.", values: events.Channels, required: true},
		{name: "purpose", kind: inSelect, enum: "cust.purpose.", values: events.ContactPurposes, required: true},
		{name: "occurredAt", kind: inDateTime, required: true},
		{name: "durationMin", kind: inNumber, api: "durationSec"},
		{name: "summary", kind: inTextarea},
		{name: "callId", kind: inText},
	}, body: contactBody},
	{kind: "pitch", path: "pitches", event: "ProductPitched", inputs: []input{
		{name: "product", kind: inText, required: true},
		{name: "outcome", kind: inSelect, enum: "cust.outcome.", values: events.PitchOutcomes, required: true},
		{name: "channel", kind: inSelect, enum: "cust.channel.", values: events.Channels, required: true},
		{name: "occurredAt", kind: inDateTime},
		{name: "followUpOn", kind: inDate},
		// A marketing pitch, or one for a campaign, needs the customer's
		// marketing consent for its channel: the API refuses it otherwise,
		// naming the consent, next to the channel.
		{name: "purpose", kind: inSelect, enum: "cust.consentPurpose.", values: events.ConsentPurposes},
		{name: "campaign", kind: inChoice, api: "campaignId", choices: choicesCampaigns},
		{name: "reason", kind: inTextarea},
	}, body: pitchBody},
	{kind: "lifeEvent", path: "life-events", event: "LifeEventRecorded", inputs: []input{
		{name: "kind", kind: inSelect, enum: "cust.lifeEvent.", values: events.LifeEventKinds, required: true},
		{name: "expectedOn", kind: inDate},
		{name: "note", kind: inTextarea},
	}, body: lifeEventBody},
	{kind: "verification", path: "verifications", event: "ProfileVerified", inputs: []input{
		{name: "channel", kind: inSelect, enum: "cust.channel.", values: events.Channels, required: true},
		{name: "fields", kind: inChecks, enum: "cust.profileField.", values: events.ProfileFields},
		{name: "occurredAt", kind: inDateTime},
	}, body: verificationBody},
	{kind: "profile", path: "profile", event: "ProfileChanged", inputs: []input{
		{name: "name", kind: inText, api: "changes.name", required: true},
		{name: "birthDate", kind: inDate, api: "changes.birthDate"},
		{name: "phone", kind: inText, api: "changes.phone"},
		{name: "email", kind: inText, api: "changes.email"},
		{name: "address", kind: inTextarea, api: "changes.address"},
		{name: "source", kind: inSelect, enum: "cust.channel.", values: events.Channels, required: true},
		{name: "occurredAt", kind: inDateTime},
		{name: "reason", kind: inText},
	}, body: profileBody},
	{kind: "consent", path: "consents", event: "ConsentChanged", inputs: []input{
		{name: "channel", kind: inSelect, enum: "cust.consentChannel.", values: events.ConsentChannels, required: true},
		{name: "purpose", kind: inSelect, enum: "cust.consentPurpose.", values: events.ConsentPurposes, required: true},
		{name: "granted", kind: inSelect, enum: "cust.granted.", values: grantedValues, required: true},
	}, body: consentBody},
	{kind: "request", path: "requests", event: "CustomerRequestNoted", inputs: []input{
		{name: "text", kind: inTextarea, required: true},
		{name: "category", kind: inText},
		{name: "occurredAt", kind: inDateTime},
	}, body: requestBody},
}

// formSpecOf returns the spec of kind, or nil.
func formSpecOf(kind string) *formSpec {
	for _, f := range formSpecs {
		if f.kind == kind {
			return f
		}
	}
	return nil
}

// inputFor returns the input an API error naming body field apiField
// belongs to ("changes.phone" → phone, "fields[1]" → fields), or "" for
// the form as a whole.
func (f *formSpec) inputFor(apiField string) string {
	if i := strings.IndexByte(apiField, '['); i >= 0 {
		apiField = apiField[:i]
	}
	if apiField == "" {
		return ""
	}
	for _, in := range f.inputs {
		if in.api == apiField || in.api == "" && in.name == apiField {
			return in.name
		}
	}
	return ""
}

// minutesMax bounds a contact's duration (the API's limit is a day, in seconds).
const minutesMax = 24 * 60

// kstLayouts are what a datetime-local input sends (with seconds if the
// browser shows them), and a space for the T typed by hand.
var kstLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05"}

// kstInputLayout is a datetime-local input's value.
const kstInputLayout = "2006-01-02T15:04"

// submittedTime is time input name of a form submitted at now. A value
// still at the default it was rendered with is now itself: the form
// rendered the minute the page was made, and an entry saved as of that
// minute would sort before whatever happened between the page and the
// submission (a colleague's pitch, say, whose outcome would then pass for
// the last). A time the user changed is taken as typed, in KST.
func submittedTime(v url.Values, name string, now time.Time) (time.Time, error) {
	t, err := parseKST(name, v.Get(name))
	if err != nil || t.IsZero() {
		return t, err
	}
	if untouched(v, name) {
		// To the microsecond, as every store keeps it: a retry sent with
		// the saved event's time is then the same request (replaySaved).
		return now.UTC().Truncate(time.Microsecond), nil
	}
	return t, nil
}

// untouched reports whether time input name holds the default it was
// rendered with.
func untouched(v url.Values, name string) bool {
	t, err := parseKST(name, v.Get(name))
	d, derr := parseKST(name, v.Get(defaultPrefix+name))
	return err == nil && derr == nil && !t.IsZero() && d.Equal(t)
}

// timeUntouched reports whether a time input of the form holds its
// default, so that its value is the moment of the submission.
func (f *formSpec) timeUntouched(v url.Values) bool {
	for _, in := range f.inputs {
		if in.kind == inDateTime && untouched(v, in.name) {
			return true
		}
	}
	return false
}

// parseKST reads a time typed in KST; empty is the zero time.
func parseKST(name, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, l := range kstLayouts {
		if t, err := time.ParseInLocation(l, s, kst); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, events.InvalidField(name, "must be a date and time such as %s", "2026-11-25T09:30")
}

func contactBody(v url.Values, now time.Time) (events.Data, error) {
	d := &events.ContactLogged{Channel: v.Get("channel"), Purpose: v.Get("purpose"), Summary: v.Get("summary"), CallID: v.Get("callId")}
	var err error
	if d.OccurredAt, err = submittedTime(v, "occurredAt", now); err != nil {
		return nil, err
	}
	if s := strings.TrimSpace(v.Get("durationMin")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > minutesMax {
			return nil, events.InvalidField("durationMin", "must be a whole number of minutes from %d to %d", 0, minutesMax)
		}
		d.DurationSec = n * 60
	}
	return d, nil
}

func pitchBody(v url.Values, now time.Time) (events.Data, error) {
	d := &events.ProductPitched{Product: v.Get("product"), Channel: v.Get("channel"), Outcome: v.Get("outcome"),
		Reason: v.Get("reason"), CampaignID: v.Get("campaign"), FollowUpOn: v.Get("followUpOn"), Purpose: v.Get("purpose")}
	var err error
	d.OccurredAt, err = submittedTime(v, "occurredAt", now)
	return d, err
}

func lifeEventBody(v url.Values, _ time.Time) (events.Data, error) {
	return &events.LifeEventRecorded{Kind: v.Get("kind"), ExpectedOn: v.Get("expectedOn"), Note: v.Get("note")}, nil
}

func verificationBody(v url.Values, now time.Time) (events.Data, error) {
	d := &events.ProfileVerified{Channel: v.Get("channel"), Fields: v["fields"]}
	var err error
	d.OccurredAt, err = submittedTime(v, "occurredAt", now)
	return d, err
}

// profileBody changes the fields whose value differs from the value the
// form was rendered with (its _was_ field), not from the current one: a
// field someone else changed in the meantime, and this user left alone, is
// not changed back.
func profileBody(v url.Values, now time.Time) (events.Data, error) {
	d := &events.ProfileChanged{Changes: map[string]string{}, Source: v.Get("source"), Reason: v.Get("reason")}
	for _, f := range events.ProfileFields {
		if !v.Has(f) {
			continue
		}
		if nv := strings.TrimSpace(v.Get(f)); nv != strings.TrimSpace(v.Get(wasPrefix+f)) {
			d.Changes[f] = nv
		}
	}
	var err error
	d.OccurredAt, err = submittedTime(v, "occurredAt", now)
	return d, err
}

func consentBody(v url.Values, _ time.Time) (events.Data, error) {
	d := &events.ConsentChanged{Channel: v.Get("channel"), Purpose: v.Get("purpose")}
	switch v.Get("granted") {
	case "true":
		d.Granted = new(true)
	case "false":
		d.Granted = new(false)
	case "":
	default:
		return nil, events.InvalidField("granted", "must be one of %s", "true, false")
	}
	return d, nil
}

func requestBody(v url.Values, now time.Time) (events.Data, error) {
	d := &events.CustomerRequestNoted{Text: v.Get("text"), Category: v.Get("category")}
	var err error
	d.OccurredAt, err = submittedTime(v, "occurredAt", now)
	return d, err
}

// encodeBody is the JSON body of d, as a client of the API would send it.
func encodeBody(d events.Data) ([]byte, error) { return json.Marshal(d) }

// defaults are a new form's values: now (in KST, to the minute, marked as
// the default: submitted unchanged it is the time of the submission) for
// its time, the
// outbound call for its channel (the call centre calls out), the view's
// values for the profile form, every field for the two-month refresh.
func (f *formSpec) defaults(v *projections.CustomerView, now time.Time, q url.Values) url.Values {
	vals := url.Values{}
	for _, in := range f.inputs {
		switch {
		case in.kind == inDateTime:
			vals.Set(in.name, now.In(kst).Format(kstInputLayout))
			vals.Set(defaultPrefix+in.name, vals.Get(in.name))
		case in.name == "channel" && f.kind != "consent", in.name == "source":
			vals.Set(in.name, "phone_outbound")
		}
	}
	switch f.kind {
	case "profile":
		for _, fld := range events.ProfileFields {
			cur := profileValue(v, fld)
			vals.Set(fld, cur)
			vals.Set(wasPrefix+fld, cur)
		}
	case "verification":
		vals["fields"] = slices.Clone(events.ProfileFields)
	case "pitch":
		// "Record an outcome" on a product of the last pitches opens the
		// form for that product.
		if p := q.Get("product"); p != "" && events.ValidID(p) {
			vals.Set("product", p)
		}
	}
	return vals
}

// profileValue is field of the view's profile.
func profileValue(v *projections.CustomerView, field string) string {
	switch field {
	case "name":
		return v.Name
	case "birthDate":
		return v.BirthDate
	case "phone":
		return v.Phone
	case "email":
		return v.Email
	case "address":
		return v.Address
	}
	return ""
}

// rebase carries the profile form's input over to a newer view after a
// conflict: a field the user left alone takes the current value, a field
// they changed keeps theirs, and every _was_ value becomes the current
// one, so that submitting again changes exactly what the user changed.
// It returns the fields that someone else changed too, to another value:
// submitted again, the user's value replaces theirs, so the form says so
// next to each.
func rebase(vals url.Values, v *projections.CustomerView) (clashes []string) {
	for _, fld := range events.ProfileFields {
		cur := profileValue(v, fld)
		mine, was := strings.TrimSpace(vals.Get(fld)), strings.TrimSpace(vals.Get(wasPrefix+fld))
		switch {
		case mine == was:
			vals.Set(fld, cur)
		case vals.Has(fld) && cur != was && cur != mine:
			clashes = append(clashes, fld)
		}
		vals.Set(wasPrefix+fld, cur)
	}
	return clashes
}

// choicesCampaigns are the campaigns a pitch to the customer may be for.
const choicesCampaigns = "campaigns"

// formChoices gives the forms their choices that depend on customer and
// now: the pitch form's campaigns.
func (c *Console) formChoices(ctx context.Context, customer string, now time.Time, forms []*form) {
	var campaigns []option
	for _, f := range forms {
		if f.Kind != "pitch" {
			continue
		}
		if campaigns == nil {
			campaigns = c.campaignChoices(ctx, customer, now)
		}
		f.choices = map[string][]option{choicesCampaigns: campaigns}
	}
}

// campaignChoices are the campaigns running at now whose target group
// customer is on (not removed), as "name · product": the API refuses a
// pitch for any other (a hold-out member, a campaign closed). None if the
// read side cannot say.
func (c *Console) campaignChoices(ctx context.Context, customer string, now time.Time) []option {
	out := []option{}
	list, err := c.Queries.Campaigns(ctx, projections.CampaignFilter{Status: projections.CampaignRunning}, now)
	if err != nil {
		return out
	}
	for _, cp := range list {
		t, err := c.Queries.CampaignTarget(ctx, cp.ID, customer)
		if err != nil || t.Group != projections.GroupTarget || !t.RemovedAt.IsZero() {
			continue
		}
		out = append(out, option{Value: cp.ID, Label: cp.Name + " · " + cp.Product})
	}
	return out
}
