package importer

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Kind is what a file's records are (docs/import.md lists their columns).
type Kind string

// The kinds of records a source system sends.
const (
	// Customers is the customer master (core banking): a customer new to
	// the ledger is registered, and the record's profile is reported.
	Customers Kind = "customers"
	// Profiles are the profile fields another system holds: a card or
	// loan application, an internet-banking profile change.
	Profiles Kind = "profiles"
	// Financials are the monthly figures of core banking.
	Financials Kind = "financials"
	// Holdings are accounts opened or closed.
	Holdings Kind = "holdings"
)

// Kinds are the kinds in the order docs/import.md gives them.
var Kinds = []Kind{Customers, Profiles, Financials, Holdings}

// ParseKind returns the kind the operator named; one not in Kinds is
// Invalid.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", events.InvalidField("records", "must be one of customers, profiles, financials, holdings")
}

// The columns every record has: whose record it is, and which record of
// the source system in which version, seen when.
var sourceColumns = []string{"customerId", "ref", "version", "observedAt", "verified"}

var kindColumns = map[Kind][]string{
	Customers:  {"branchId", "name", "birthDate", "phone", "email", "address"},
	Profiles:   events.ProfileFields,
	Financials: {"asOf", "depositBalance", "profitContribution", "currency"},
	Holdings:   {"product", "accountRef", "change"},
}

// columns are the columns of k, those every kind has first.
func (k Kind) columns() []string { return append(slices.Clip(sourceColumns), kindColumns[k]...) }

func (k Kind) hasColumn(c string) bool {
	return slices.Contains(sourceColumns, c) || slices.Contains(kindColumns[k], c)
}

// requiredColumns are the columns without which no record of a kind is
// valid, beside the source's (all but verified, which may be left out).
var requiredColumns = map[Kind][]string{
	Customers:  {"branchId", "name"},
	Financials: {"asOf", "depositBalance", "profitContribution", "currency"},
	Holdings:   {"product", "accountRef", "change"},
}

// missing says which column a file with the columns has lacks that every
// record of k needs ("" if none): such a file is refused whole, or each
// of its rows, personal data and all, would be copied into the rejects
// file.
func (k Kind) missing(has func(column string) bool) string {
	for _, c := range append(slices.Clip(sourceColumns), requiredColumns[k]...) {
		if c != "verified" && !has(c) {
			return "column " + c + " is missing: every " + string(k) + " record needs it"
		}
	}
	if k == Profiles && !slices.ContainsFunc(events.ProfileFields, has) {
		return "no profile column (" + strings.Join(events.ProfileFields, ", ") + "): a profiles record holds at least one"
	}
	return ""
}

// record is a row read as a record of its kind: its source and the
// entries it becomes, each one event, in the order they are appended.
type record struct {
	customer string
	source   events.RecordSource
	entries  []events.StreamAppend
}

// builder turns rows into records for one source system.
type builder struct {
	system string
	kind   Kind
	actor  events.Actor
	// seal returns the sealer of a customer's personal fields (nil: the
	// fields are not sealed, as in a dry run).
	seal func(customerID string) func(events.Personal) error
	// latest is the latest observedAt taken (Config.Now + MaxAhead).
	latest time.Time
}

// build reads r's columns into a record. Every event is validated (and,
// with a sealer, sealed) here, so a row that fails appends nothing. The
// error is Invalid naming the column, or the sealer's.
func (b *builder) build(r row) (record, error) {
	f := r.fields
	rec := record{customer: f["customerId"]}
	if !events.ValidID(rec.customer) {
		return rec, events.InvalidField("customerId", "is required: 1-64 letters, digits, '_' or '-'")
	}
	src, err := b.source(f)
	if err != nil {
		return rec, err
	}
	rec.source = src
	var seal func(events.Personal) error
	if b.seal != nil {
		seal = b.seal(rec.customer)
	}
	stream := events.CustomerStream(rec.customer)
	add := func(d events.Data, expected events.ExpectedVersion) error {
		ev, err := events.NewEvent(d, events.Meta{ID: eventID(b.system, b.kind, src, d.EventType()), Actor: b.actor, Seal: seal})
		if err != nil {
			return err
		}
		ev.OccurredAt = src.ObservedAt // when the source system recorded it: where the timeline puts it
		rec.entries = append(rec.entries, events.StreamAppend{Stream: stream, Expected: expected, Events: []events.Event{ev}})
		return nil
	}
	switch b.kind {
	case Customers:
		reg := &events.CustomerRegistered{CustomerID: rec.customer, Name: f["name"], BirthDate: f["birthDate"], Phone: f["phone"],
			Email: f["email"], Address: f["address"], BranchID: f["branchId"], Source: events.Source{System: b.system, Ref: src.Ref}}
		if err := add(reg, events.NoStream); err != nil {
			return rec, err
		}
		err = add(b.profile(f, src), events.StreamExists)
	case Profiles:
		err = add(b.profile(f, src), events.StreamExists)
	case Financials:
		err = b.financials(f, add)
	case Holdings:
		err = add(&events.ProductHoldingChanged{Product: f["product"], AccountRef: f["accountRef"], Change: f["change"]}, events.StreamExists)
	}
	return rec, err
}

// source reads the columns naming the source record.
func (b *builder) source(f map[string]string) (events.RecordSource, error) {
	src := events.RecordSource{System: b.system, Ref: f["ref"], Version: f["version"]}
	for _, c := range []struct {
		name, value string
		max         int
	}{{"ref", src.Ref, 128}, {"version", src.Version, 64}} {
		if c.value == "" || len([]rune(c.value)) > c.max || strings.ContainsFunc(c.value, isControl) {
			return src, events.InvalidField(c.name, "is required: one line of at most %d characters", c.max)
		}
	}
	at, err := parseTime(f["observedAt"])
	if err != nil {
		return src, err
	}
	if at.After(b.latest) {
		return src, events.InvalidField("observedAt", "is later than a day after the import's clock: a record cannot be observed in the future")
	}
	src.ObservedAt = at
	src.Verified, err = parseBool("verified", f["verified"])
	return src, err
}

// profile is the ProfileReported of the profile columns f holds.
func (b *builder) profile(f map[string]string, src events.RecordSource) *events.ProfileReported {
	p := &events.ProfileReported{Source: src, Fields: map[string]string{}}
	for _, k := range events.ProfileFields {
		if v := f[k]; v != "" {
			p.Fields[k] = v
		}
	}
	return p
}

// financials adds the FinancialsReported of f.
func (b *builder) financials(f map[string]string, add func(events.Data, events.ExpectedVersion) error) error {
	fr := &events.FinancialsReported{AsOf: f["asOf"], Currency: f["currency"]}
	var err error
	if fr.DepositBalance, err = parseAmount("depositBalance", f["depositBalance"]); err != nil {
		return err
	}
	if fr.ProfitContribution, err = parseAmount("profitContribution", f["profitContribution"]); err != nil {
		return err
	}
	return add(fr, events.StreamExists)
}

// parseTime reads observedAt: RFC 3339, or a date (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, events.InvalidField("observedAt", "is required: an RFC 3339 time (2026-11-02T09:30:00+09:00) or a date (2026-11-02)")
}

// parseBool reads a yes/no column; empty is no.
func parseBool(column, s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "false", "0", "n", "no":
		return false, nil
	case "true", "1", "y", "yes":
		return true, nil
	}
	return false, events.InvalidField(column, "must be true or false (1/0, yes/no, y/n)")
}

// parseAmount reads an amount in the smallest unit of the currency;
// empty is missing (nil), which the event's rules judge.
func parseAmount(column, s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return nil, events.InvalidField(column, "must be a whole number in the smallest unit of the currency, without separators")
	}
	return &n, nil
}

func isControl(r rune) bool { return r < ' ' || r == 0x7f }

// CheckSystem checks a source system's name, which names the actor
// (system:import:<system>) and every record's source: one that is not
// id-shaped, not in lower case, or is the CRM's own name, is Invalid.
func CheckSystem(s string) error {
	if p := events.SystemNameProblem(s); p != "" { // the name is in every event id and claim
		return events.InvalidField("source", "%s", p)
	}
	return nil
}

// Actor returns who appends an import of system's records.
func Actor(system string) events.Actor { return events.System("import:" + system) }
