package events

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
