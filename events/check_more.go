package events

import "unicode/utf8"

// Enumerations of the catalog, exported for the API's documentation and
// the projections.
var (
	Channels         = []string{"branch", "phone_inbound", "phone_outbound", "internet", "mobile", "atm", "email", "sms"}
	ContactPurposes  = []string{"inquiry", "advice", "sale", "service", "complaint", "data_refresh"}
	PitchOutcomes    = []string{"accepted", "declined", "considering", "unreachable"}
	Tiers            = []string{"vip", "potential_vip", "general"}
	Roles            = []string{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin"}
	LifeEventKinds   = []string{"child_wedding", "birth", "marriage", "retirement", "relocation", "other"}
	ConsentChannels  = []string{"phone", "sms", "email", "post"}
	ConsentPurposes  = []string{"marketing", "service"}
	SelectionReasons = []string{"random_sample", "new_rep", "complaint", "long_call", "requested"}
	AdvisorKinds     = []string{"private_banker", "call_centre_rep"}
	CallDirections   = []string{"inbound", "outbound"}
	HoldingChanges   = []string{"opened", "closed"}
	FollowUpOutcomes = []string{"improved", "not_improved"}
	ProfileFields    = []string{"name", "birthDate", "phone", "email", "address"}
)

// present checks that a required pointer field was given.
func (c *check) present(field string, ok bool) {
	if !ok {
		c.fail(field, "is required")
	}
}

// ids checks a list of ids.
func (c *check) ids(field string, list []string, max int) {
	if len(list) > max {
		c.fail(field, "must have at most %d entries", max)
		return
	}
	for i := range list {
		c.id(field+"["+itoa(i)+"]", &list[i], true)
	}
}

// enums checks a list of enum values.
func (c *check) enums(field string, list []string, allowed []string) {
	if len(list) > len(allowed) {
		c.fail(field, "has too many entries")
		return
	}
	for i := range list {
		c.enum(field+"["+itoa(i)+"]", &list[i], allowed...)
	}
}

// hex64 checks a 64-digit lowercase hex string (a SHA-256).
func (c *check) hex64(field string, s *string, required bool) {
	if *s == "" {
		if required {
			c.fail(field, "is required")
		}
		return
	}
	if len(*s) != 64 || !utf8.ValidString(*s) {
		c.fail(field, "must be 64 lowercase hex digits")
		return
	}
	for _, r := range *s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			c.fail(field, "must be 64 lowercase hex digits")
			return
		}
	}
}
