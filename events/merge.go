package events

// Event types that link two customer streams when a data steward decides
// they hold one person (docs/merge.md). Both streams keep their whole
// history; the link says which customer survives. See docs/events.md.

func init() {
	Register(func() Data { return new(CustomerMerged) })
	Register(func() Data { return new(CustomerMergedInto) })
}

// CustomerMerged is appended to the surviving customer's stream: it
// absorbed mergedId. It is the write's fence (the survivor's If-Match);
// the views follow the CustomerMergedInto of the merged stream, appended
// after it, so a CustomerMerged without its partner (the second append
// failed) changes no view.
type CustomerMerged struct {
	MergedID string `json:"mergedId"`
	Reason   string `json:"reason"` // why the two are one person; must not name or describe the customer
}

// EventType returns "CustomerMerged".
func (*CustomerMerged) EventType() string { return "CustomerMerged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CustomerMerged) Validate() error {
	c := check{}
	c.id("mergedId", &d.MergedID, true)
	c.line("reason", &d.Reason, maxReason, true)
	return c.errOrNil()
}

// CustomerMergedInto is appended to the merged customer's stream: from
// here on survivorId stands for this customer in every view.
type CustomerMergedInto struct {
	SurvivorID string `json:"survivorId"`
	Reason     string `json:"reason"` // as CustomerMerged's
}

// EventType returns "CustomerMergedInto".
func (*CustomerMergedInto) EventType() string { return "CustomerMergedInto" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *CustomerMergedInto) Validate() error {
	c := check{}
	c.id("survivorId", &d.SurvivorID, true)
	c.line("reason", &d.Reason, maxReason, true)
	return c.errOrNil()
}
