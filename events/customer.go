package events

import (
	"sort"
	"time"
)

// Event types of the customer-<customerId> stream. See shared/EVENTS.md and
// docs/events.md.

func init() {
	Register(func() Data { return new(CustomerRegistered) })
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
	c.required("name", &d.Name, 200)
	c.date("birthDate", &d.BirthDate, false)
	c.optional("phone", &d.Phone, 40)
	c.optional("email", &d.Email, 254)
	c.optional("address", &d.Address, 500)
	c.id("branchId", &d.BranchID, true)
	c.required("source.system", &d.Source.System, 64)
	c.optional("source.ref", &d.Source.Ref, 128)
	return c.errOrNil()
}

// EachPersonal visits name, birthDate, phone, email and address.
func (d *CustomerRegistered) EachPersonal(f func(string, *string)) {
	f("name", &d.Name)
	f("birthDate", &d.BirthDate)
	f("phone", &d.Phone)
	f("email", &d.Email)
	f("address", &d.Address)
}

func init() {
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
}

// ProfileChanged changes personal fields; the old values come from the fold.
type ProfileChanged struct {
	Changes map[string]string `json:"changes"` // field → new value; every value is personal
	Source  string            `json:"source"`  // the contact channel the change came through
	Reason  string            `json:"reason,omitempty"`
}

// EventType returns "ProfileChanged".
func (*ProfileChanged) EventType() string { return "ProfileChanged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProfileChanged) Validate() error {
	c := check{}
	if len(d.Changes) == 0 {
		c.fail("changes", "at least one change is required")
	}
	for _, k := range sortedKeys(d.Changes) {
		v := d.Changes[k]
		f := "changes." + k
		switch k {
		case "name":
			c.required(f, &v, 200)
		case "birthDate":
			c.date(f, &v, true)
		case "phone":
			c.required(f, &v, 40)
		case "email":
			c.required(f, &v, 254)
		case "address":
			c.required(f, &v, 500)
		default:
			c.fail(f, "is not a profile field (name, birthDate, phone, email, address)")
		}
		d.Changes[k] = v
	}
	c.enum("source", &d.Source, Channels...)
	c.optional("reason", &d.Reason, 500)
	return c.errOrNil()
}

// EachPersonal visits every changed value, in field order.
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
	Fields  []string `json:"fields,omitempty"` // confirmed unchanged
}

// EventType returns "ProfileVerified".
func (*ProfileVerified) EventType() string { return "ProfileVerified" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProfileVerified) Validate() error {
	c := check{}
	c.enum("channel", &d.Channel, Channels...)
	c.enums("fields", d.Fields, ProfileFields)
	return c.errOrNil()
}

// ConsentChanged grants or withdraws consent for one channel and purpose.
type ConsentChanged struct {
	Channel string `json:"channel"`
	Purpose string `json:"purpose"`
	Granted *bool  `json:"granted"`
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

// LifeEventRecorded notes a life event that drives pitches.
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
	c.date("expectedOn", &d.ExpectedOn, false)
	c.optional("note", &d.Note, 2000)
	return c.errOrNil()
}

// EachPersonal visits note.
func (d *LifeEventRecorded) EachPersonal(f func(string, *string)) { f("note", &d.Note) }

// FinancialsReported carries core banking's monthly figures.
type FinancialsReported struct {
	AsOf               string `json:"asOf"` // YYYY-MM-DD
	DepositBalance     *int64 `json:"depositBalance"`
	ProfitContribution *int64 `json:"profitContribution"` // may be negative
	Currency           string `json:"currency"`
}

// EventType returns "FinancialsReported".
func (*FinancialsReported) EventType() string { return "FinancialsReported" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *FinancialsReported) Validate() error {
	c := check{}
	c.date("asOf", &d.AsOf, true)
	c.present("depositBalance", d.DepositBalance != nil)
	if d.DepositBalance != nil {
		c.rangeInt("depositBalance", *d.DepositBalance, 0, maxMoney)
	}
	c.present("profitContribution", d.ProfitContribution != nil)
	if d.ProfitContribution != nil {
		c.rangeInt("profitContribution", *d.ProfitContribution, -maxMoney, maxMoney)
	}
	c.currency("currency", &d.Currency)
	return c.errOrNil()
}

// maxMoney bounds amounts (10^15 in the smallest unit).
const maxMoney = 1_000_000_000_000_000

// TierBasis is why a tier was assigned.
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
	c.present("basis.depositBalance", d.Basis.DepositBalance != nil)
	c.present("basis.profitContribution", d.Basis.ProfitContribution != nil)
	c.required("basis.rule", &d.Basis.Rule, 200)
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
	Product    string `json:"product"`
	AccountRef string `json:"accountRef"`
	Change     string `json:"change"`
}

// EventType returns "ProductHoldingChanged".
func (*ProductHoldingChanged) EventType() string { return "ProductHoldingChanged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProductHoldingChanged) Validate() error {
	c := check{}
	c.id("product", &d.Product, true)
	c.required("accountRef", &d.AccountRef, 64)
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

// Occurred returns when the contact happened.
func (d *ContactLogged) Occurred() time.Time { return d.OccurredAt }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ContactLogged) Validate() error {
	c := check{}
	c.enum("channel", &d.Channel, Channels...)
	c.enum("purpose", &d.Purpose, ContactPurposes...)
	c.optional("summary", &d.Summary, 2000)
	c.time("occurredAt", &d.OccurredAt, true)
	c.rangeInt("durationSec", int64(d.DurationSec), 0, 86400)
	c.id("staffId", &d.StaffID, false)
	c.id("callId", &d.CallID, false)
	return c.errOrNil()
}

// EachPersonal visits summary.
func (d *ContactLogged) EachPersonal(f func(string, *string)) { f("summary", &d.Summary) }

// ProductPitched records a pitch and its outcome.
type ProductPitched struct {
	Product    string `json:"product"`
	Channel    string `json:"channel"`
	Outcome    string `json:"outcome"`
	Reason     string `json:"reason,omitempty"` // personal (free text)
	CampaignID string `json:"campaignId,omitempty"`
	FollowUpOn string `json:"followUpOn,omitempty"` // YYYY-MM-DD
}

// EventType returns "ProductPitched".
func (*ProductPitched) EventType() string { return "ProductPitched" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *ProductPitched) Validate() error {
	c := check{}
	c.id("product", &d.Product, true)
	c.enum("channel", &d.Channel, Channels...)
	c.enum("outcome", &d.Outcome, PitchOutcomes...)
	c.optional("reason", &d.Reason, 500)
	c.id("campaignId", &d.CampaignID, false)
	c.date("followUpOn", &d.FollowUpOn, false)
	return c.errOrNil()
}

// EachPersonal visits reason.
func (d *ProductPitched) EachPersonal(f func(string, *string)) { f("reason", &d.Reason) }

// CustomerRequestNoted feeds the weekly idea meeting.
type CustomerRequestNoted struct {
	Text     string `json:"text"` // personal
	Category string `json:"category,omitempty"`
}

// EventType returns "CustomerRequestNoted".
func (*CustomerRequestNoted) EventType() string { return "CustomerRequestNoted" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CustomerRequestNoted) Validate() error {
	c := check{}
	c.required("text", &d.Text, 2000)
	c.id("category", &d.Category, false)
	return c.errOrNil()
}

// EachPersonal visits text.
func (d *CustomerRequestNoted) EachPersonal(f func(string, *string)) { f("text", &d.Text) }

// PersonalDataErased records crypto-shredding: the customer's data key is
// destroyed; every event stays, its personal fields unreadable.
type PersonalDataErased struct {
	Reason      string `json:"reason"`
	RequestedBy string `json:"requestedBy"`
}

// EventType returns "PersonalDataErased".
func (*PersonalDataErased) EventType() string { return "PersonalDataErased" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *PersonalDataErased) Validate() error {
	c := check{}
	c.required("reason", &d.Reason, 500)
	c.required("requestedBy", &d.RequestedBy, 128)
	return c.errOrNil()
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
