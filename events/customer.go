package events

import (
	"bytes"
	"encoding/json"
	"sort"
	"strings"
	"time"
)

// Event types of the customer-<customerId> stream. See shared/EVENTS.md and
// docs/events.md.
//
// Personal data (names, contact details, free text about the customer) is
// reported by EachPersonal and sealed per customer after Validate; the field
// names EachPersonal reports are part of the stored data (they bind each
// ciphertext to its field) and never change for an existing type.

func init() {
	Register(func() Data { return new(CustomerRegistered) })
	Register(func() Data { return new(ProfileChanged) })
	Register(func() Data { return new(ProfileVerified) })
	Register(func() Data { return new(ConsentChanged) })
	Register(func() Data { return new(LifeEventRecorded) })
	Register(func() Data { return new(FinancialsReported) })
	Register(func() Data { return new(TierAssigned) })
	Register(func() Data { return new(AdvisorAssigned) })
	Register(func() Data { return new(ProductHoldingChanged) })
	Register(func() Data { return new(ContactLogged) })
	Register(func() Data { return new(ProductPitched) })
	Register(func() Data { return new(CustomerRequestNoted) })
	Register(func() Data { return new(PersonalDataErased) })

	// Schema 2 of the interaction types added an optional occurredAt.
	for _, typ := range []string{"ProfileChanged", "ProfileVerified", "ProductPitched", "CustomerRequestNoted"} {
		RegisterUpcaster(typ, 1, withoutOccurredAt)
	}
}

// Source says which system a customer record came from.
type Source struct {
	System string `json:"system"`
	Ref    string `json:"ref,omitempty"`
}

// CustomerRegistered is the first event of a customer stream (append it with
// expected version NoStream).
type CustomerRegistered struct {
	CustomerID string `json:"customerId"`
	Name       string `json:"name"`                // personal
	BirthDate  string `json:"birthDate,omitempty"` // personal, YYYY-MM-DD
	Phone      string `json:"phone,omitempty"`     // personal
	Email      string `json:"email,omitempty"`     // personal
	Address    string `json:"address,omitempty"`   // personal
	BranchID   string `json:"branchId"`
	Source     Source `json:"source"`
}

// EventType returns "CustomerRegistered".
func (*CustomerRegistered) EventType() string { return "CustomerRegistered" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CustomerRegistered) Validate() error {
	c := check{}
	c.id("customerId", &d.CustomerID, true)
	for _, f := range ProfileFields {
		c.profileField(f, f, d.profileValue(f))
	}
	c.id("branchId", &d.BranchID, true)
	c.registrar("source.system", &d.Source.System) // its claims rank by it (docs/provenance.md)
	c.line("source.ref", &d.Source.Ref, 128, false)
	return c.errOrNil()
}

func (d *CustomerRegistered) profileValue(field string) *string {
	switch field {
	case "name":
		return &d.Name
	case "birthDate":
		return &d.BirthDate
	case "phone":
		return &d.Phone
	case "email":
		return &d.Email
	case "address":
		return &d.Address
	}
	return nil
}

// profileField checks the value of one profile field (ProfileFields) by
// the rule CustomerRegistered has for it; ProfileChanged uses the same
// rules. Only the name is required.
func (c *check) profileField(field, name string, v *string) {
	switch name {
	case "name":
		c.line(field, v, maxName, true)
	case "birthDate":
		c.day(field, v, false)
	case "phone":
		c.phone(field, v, false)
	case "email":
		// Only the form of a line: a format check would be sane, but
		// events/pii's tests store other values here (see docs/events.md).
		c.line(field, v, 254, false)
	case "address":
		c.text(field, v, 500, false)
	default:
		c.fail(field, "is not a profile field (name, birthDate, phone, email, address)")
	}
}

// EachPersonal visits name, birthDate, phone, email and address.
func (d *CustomerRegistered) EachPersonal(f func(string, *string)) {
	for _, name := range ProfileFields {
		f(name, d.profileValue(name))
	}
}

// ProfileChanged changes personal fields; the old values come from the fold.
type ProfileChanged struct {
	// Changes maps a profile field (ProfileFields) to its new value; every
	// value is personal. An empty value clears an optional field.
	Changes map[string]string `json:"changes"`
	Source  string            `json:"source"` // the contact channel the change came through
	Reason  string            `json:"reason,omitempty"`
	// OccurredAt is when the customer asked for the change, if it was
	// entered later (schema 2); zero means when it was recorded.
	OccurredAt time.Time `json:"occurredAt,omitzero"`
}

// EventType returns "ProfileChanged".
func (*ProfileChanged) EventType() string { return "ProfileChanged" }

// Validate checks the catalog rules; errors are Invalid naming the field,
// "changes.<field>" for a change.
func (d *ProfileChanged) Validate() error {
	c := check{}
	if len(d.Changes) == 0 {
		c.fail("changes", "at least one change is required")
	}
	c.profileMap("changes", d.Changes, func(string, string) {})
	c.enum("source", &d.Source, Channels...)
	c.line("reason", &d.Reason, maxReason, false)
	c.time("occurredAt", &d.OccurredAt, false)
	return c.errOrNil()
}

// Occurred returns when the change was asked for, or zero if it was not
// reported; NewEvent copies it into the envelope's occurredAt.
func (d *ProfileChanged) Occurred() time.Time { return d.OccurredAt }

// EachPersonal visits every changed value as "changes.<field>", in sorted
// field order, writing the new value back into the map.
func (d *ProfileChanged) EachPersonal(f func(string, *string)) {
	for _, k := range sortedKeys(d.Changes) {
		v := d.Changes[k]
		f("changes."+k, &v)
		d.Changes[k] = v
	}
}

// ProfileVerified records that the customer confirmed their data; it resets
// the two-month freshness clock.
type ProfileVerified struct {
	Channel string   `json:"channel"`
	Fields  []string `json:"fields,omitempty"` // confirmed unchanged; ProfileFields
	// OccurredAt is when the customer confirmed, if it was entered later
	// (schema 2); zero means when it was recorded.
	OccurredAt time.Time `json:"occurredAt,omitzero"`
}

// EventType returns "ProfileVerified".
func (*ProfileVerified) EventType() string { return "ProfileVerified" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProfileVerified) Validate() error {
	c := check{}
	c.enum("channel", &d.Channel, Channels...)
	c.enums("fields", d.Fields, ProfileFields)
	c.time("occurredAt", &d.OccurredAt, false)
	return c.errOrNil()
}

// Occurred returns when the customer confirmed their data, or zero if it
// was not reported; NewEvent copies it into the envelope's occurredAt.
func (d *ProfileVerified) Occurred() time.Time { return d.OccurredAt }

// ConsentChanged grants or withdraws consent for one channel and purpose.
// Do-not-contact is "marketing not granted on any channel".
type ConsentChanged struct {
	Channel string `json:"channel"`
	Purpose string `json:"purpose"`
	Granted *bool  `json:"granted"` // a pointer, so that a missing value is not read as false
}

// EventType returns "ConsentChanged".
func (*ConsentChanged) EventType() string { return "ConsentChanged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ConsentChanged) Validate() error {
	c := check{}
	c.enum("channel", &d.Channel, ConsentChannels...)
	c.enum("purpose", &d.Purpose, ConsentPurposes...)
	c.present("granted", d.Granted != nil)
	return c.errOrNil()
}

// LifeEventRecorded notes a life event that drives pitches ("before wedding
// season, offer a loan"). It has no Occurred method: expectedOn is usually
// in the future.
type LifeEventRecorded struct {
	Kind       string `json:"kind"`
	ExpectedOn string `json:"expectedOn,omitempty"` // YYYY-MM-DD
	Note       string `json:"note,omitempty"`       // personal
}

// EventType returns "LifeEventRecorded".
func (*LifeEventRecorded) EventType() string { return "LifeEventRecorded" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *LifeEventRecorded) Validate() error {
	c := check{}
	c.enum("kind", &d.Kind, LifeEventKinds...)
	c.day("expectedOn", &d.ExpectedOn, false)
	c.text("note", &d.Note, maxText, false)
	return c.errOrNil()
}

// EachPersonal visits note.
func (d *LifeEventRecorded) EachPersonal(f func(string, *string)) { f("note", &d.Note) }

// FinancialsReported carries core banking's (typically monthly) figures.
// Amounts are in the smallest unit of currency; the pointers tell a missing
// amount from a zero one.
type FinancialsReported struct {
	AsOf               string `json:"asOf"` // YYYY-MM-DD
	DepositBalance     *int64 `json:"depositBalance"`
	ProfitContribution *int64 `json:"profitContribution"` // negative for a loss-making customer
	Currency           string `json:"currency"`
}

// EventType returns "FinancialsReported".
func (*FinancialsReported) EventType() string { return "FinancialsReported" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *FinancialsReported) Validate() error {
	c := check{}
	c.day("asOf", &d.AsOf, true)
	c.money("depositBalance", d.DepositBalance, 0)
	c.money("profitContribution", d.ProfitContribution, -maxMoney)
	c.iso4217("currency", &d.Currency)
	return c.errOrNil()
}

// TierBasis is why a tier was assigned: the figures the rule saw (in the
// currency of the FinancialsReported they came from) and the rule's name.
type TierBasis struct {
	DepositBalance     *int64 `json:"depositBalance"`
	ProfitContribution *int64 `json:"profitContribution"`
	Rule               string `json:"rule"`
}

// TierAssigned is written by the segmentation job, never by hand.
type TierAssigned struct {
	Tier  string    `json:"tier"`
	Basis TierBasis `json:"basis"`
}

// EventType returns "TierAssigned".
func (*TierAssigned) EventType() string { return "TierAssigned" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *TierAssigned) Validate() error {
	c := check{}
	c.enum("tier", &d.Tier, Tiers...)
	c.money("basis.depositBalance", d.Basis.DepositBalance, 0)
	c.money("basis.profitContribution", d.Basis.ProfitContribution, -maxMoney)
	c.line("basis.rule", &d.Basis.Rule, maxName, true)
	return c.errOrNil()
}

// AdvisorAssigned gives the customer their (one) current advisor.
type AdvisorAssigned struct {
	AdvisorID string `json:"advisorId"`
	Kind      string `json:"kind"`
	BranchID  string `json:"branchId,omitempty"`
}

// EventType returns "AdvisorAssigned".
func (*AdvisorAssigned) EventType() string { return "AdvisorAssigned" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *AdvisorAssigned) Validate() error {
	c := check{}
	c.id("advisorId", &d.AdvisorID, true)
	c.enum("kind", &d.Kind, AdvisorKinds...)
	c.id("branchId", &d.BranchID, false)
	return c.errOrNil()
}

// ProductHoldingChanged comes from core banking: an account opened or closed.
type ProductHoldingChanged struct {
	Product    string `json:"product"` // product code, id syntax
	AccountRef string `json:"accountRef"`
	Change     string `json:"change"`
}

// EventType returns "ProductHoldingChanged".
func (*ProductHoldingChanged) EventType() string { return "ProductHoldingChanged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProductHoldingChanged) Validate() error {
	c := check{}
	c.id("product", &d.Product, true)
	c.line("accountRef", &d.AccountRef, 64, true)
	c.enum("change", &d.Change, HoldingChanges...)
	return c.errOrNil()
}

// ContactLogged is one interaction of the timeline.
type ContactLogged struct {
	Channel     string    `json:"channel"`
	Purpose     string    `json:"purpose"`
	Summary     string    `json:"summary,omitempty"` // personal
	OccurredAt  time.Time `json:"occurredAt"`
	DurationSec int       `json:"durationSec,omitempty"`
	StaffID     string    `json:"staffId,omitempty"`
	CallID      string    `json:"callId,omitempty"`
}

// EventType returns "ContactLogged".
func (*ContactLogged) EventType() string { return "ContactLogged" }

// Occurred returns when the contact happened; NewEvent copies it into the
// envelope's occurredAt.
func (d *ContactLogged) Occurred() time.Time { return d.OccurredAt }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ContactLogged) Validate() error {
	c := check{}
	c.enum("channel", &d.Channel, Channels...)
	c.enum("purpose", &d.Purpose, ContactPurposes...)
	c.text("summary", &d.Summary, maxText, false)
	c.time("occurredAt", &d.OccurredAt, true)
	c.rangeInt("durationSec", int64(d.DurationSec), 0, 86400)
	c.id("staffId", &d.StaffID, false)
	c.id("callId", &d.CallID, false)
	return c.errOrNil()
}

// EachPersonal visits summary.
func (d *ContactLogged) EachPersonal(f func(string, *string)) { f("summary", &d.Summary) }

// ProductPitched records a pitch and its outcome.
//
// A pitch for a campaign (campaignId) or with purpose "marketing" is gated
// by consent (docs/campaigns.md): the customer's marketing consent for the
// channel (ConsentChannelFor; for channels without one, marketing consent
// on some channel) must be granted when it is appended, and the server
// records the consent it relied on in consentChannel ("" for a channel
// without one: then the latest grant in force) and consentVersion (the
// customer stream version of that ConsentChanged). A purpose of "service"
// (the customer asked) is not gated; nor, for the events of earlier
// releases, is a pitch naming neither purpose nor campaign.
type ProductPitched struct {
	Product        string `json:"product"` // product code, id syntax
	Channel        string `json:"channel"`
	Outcome        string `json:"outcome"`
	Reason         string `json:"reason,omitempty"` // personal (free text about the customer)
	CampaignID     string `json:"campaignId,omitempty"`
	FollowUpOn     string `json:"followUpOn,omitempty"` // YYYY-MM-DD
	Purpose        string `json:"purpose,omitempty"`    // ConsentPurposes; a campaign pitch is marketing
	ConsentChannel string `json:"consentChannel,omitempty"`
	ConsentVersion uint64 `json:"consentVersion,omitempty"`
	// OccurredAt is when the pitch was made, if it was entered later
	// (schema 2); zero means when it was recorded.
	OccurredAt time.Time `json:"occurredAt,omitzero"`
}

// EventType returns "ProductPitched".
func (*ProductPitched) EventType() string { return "ProductPitched" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProductPitched) Validate() error {
	c := check{}
	c.id("product", &d.Product, true)
	c.enum("channel", &d.Channel, Channels...)
	c.enum("outcome", &d.Outcome, PitchOutcomes...)
	c.text("reason", &d.Reason, maxReason, false)
	c.id("campaignId", &d.CampaignID, false)
	c.day("followUpOn", &d.FollowUpOn, false)
	c.time("occurredAt", &d.OccurredAt, false)
	if d.Purpose != "" {
		c.enum("purpose", &d.Purpose, ConsentPurposes...)
	}
	if c.err == nil && d.CampaignID != "" && d.Purpose == "service" {
		c.fail("purpose", "must be marketing for a campaign's pitch")
	}
	if d.ConsentChannel != "" {
		c.enum("consentChannel", &d.ConsentChannel, ConsentChannels...)
	}
	return c.errOrNil()
}

// Gated reports whether the pitch needs marketing consent: it is for a
// campaign or its purpose is marketing.
func (d *ProductPitched) Gated() bool { return d.CampaignID != "" || d.Purpose == "marketing" }

// Occurred returns when the pitch was made, or zero if it was not
// reported; NewEvent copies it into the envelope's occurredAt.
func (d *ProductPitched) Occurred() time.Time { return d.OccurredAt }

// EachPersonal visits reason.
func (d *ProductPitched) EachPersonal(f func(string, *string)) { f("reason", &d.Reason) }

// CustomerRequestNoted feeds the weekly idea meeting.
type CustomerRequestNoted struct {
	Text     string `json:"text"`               // personal
	Category string `json:"category,omitempty"` // a slug, id syntax ("fees", "atm-hours")
	// OccurredAt is when the customer made the request, if it was entered
	// later (schema 2); zero means when it was recorded.
	OccurredAt time.Time `json:"occurredAt,omitzero"`
}

// EventType returns "CustomerRequestNoted".
func (*CustomerRequestNoted) EventType() string { return "CustomerRequestNoted" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CustomerRequestNoted) Validate() error {
	c := check{}
	c.text("text", &d.Text, maxText, true)
	c.id("category", &d.Category, false)
	c.time("occurredAt", &d.OccurredAt, false)
	return c.errOrNil()
}

// Occurred returns when the request was made, or zero if it was not
// reported; NewEvent copies it into the envelope's occurredAt.
func (d *CustomerRequestNoted) Occurred() time.Time { return d.OccurredAt }

// EachPersonal visits text.
func (d *CustomerRequestNoted) EachPersonal(f func(string, *string)) { f("text", &d.Text) }

// PersonalDataErased records crypto-shredding: the customer's data key is
// destroyed; every event stays, its personal fields unreadable. It holds no
// personal data itself (it must stay readable after the erasure), so reason
// and requestedBy must not name or describe the customer.
type PersonalDataErased struct {
	Reason      string `json:"reason"`
	RequestedBy string `json:"requestedBy"` // "customer", a staff id, an authority
}

// EventType returns "PersonalDataErased".
func (*PersonalDataErased) EventType() string { return "PersonalDataErased" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *PersonalDataErased) Validate() error {
	c := check{}
	c.line("reason", &d.Reason, maxReason, true)
	c.line("requestedBy", &d.RequestedBy, 128, true)
	return c.errOrNil()
}

// withoutOccurredAt upcasts schema 1 of an interaction type to schema 2,
// which only added the optional occurredAt: the stored bytes are the new
// shape already. A schema 1 event never said when it happened (its type had
// no such field, and its envelope's occurredAt is unset), so a key of that
// name in schema 1 bytes, which only a raw append could have put there, is
// dropped rather than read as a time that nothing ever validated.
func withoutOccurredAt(old json.RawMessage) (json.RawMessage, error) {
	// encoding/json matches keys case-insensitively and unescapes them, so
	// bytes are passed as they are only if they hold neither a look-alike
	// nor an escape (most do: sealed values are base64); the others take
	// the slower, equally right, way through a map.
	if !bytes.ContainsRune(old, '\\') && !containsFold(old, "occurredat") {
		return old, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(old, &m); err != nil {
		return nil, err
	}
	for k := range m {
		if strings.EqualFold(k, "occurredAt") {
			delete(m, k)
		}
	}
	return json.Marshal(m)
}

// containsFold reports whether b holds lower (ASCII, lower case) in any case.
func containsFold(b []byte, lower string) bool {
	l := []byte(lower)
	for i := 0; i+len(l) <= len(b); i++ {
		if bytes.EqualFold(b[i:i+len(l)], l) {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
