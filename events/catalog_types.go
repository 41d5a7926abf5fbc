package events

import "strings"

// Enumerations of the catalog (shared/EVENTS.md), exported for the API's
// documentation, request checks and the projections. Validate accepts
// exactly these values, case-sensitively, after trimming. The slices are
// shared: read them, never modify them.
var (
	// Channels are the contact channels: ContactLogged.channel,
	// ProductPitched.channel, ProfileVerified.channel, ProfileChanged.source
	// and CampaignLaunched.channel.
	Channels = []string{"branch", "phone_inbound", "phone_outbound", "internet", "mobile", "atm", "email", "sms"}

	// ContactPurposes are the values of ContactLogged.purpose.
	ContactPurposes = []string{"inquiry", "advice", "sale", "service", "complaint", "data_refresh"}

	// PitchOutcomes are the values of ProductPitched.outcome.
	PitchOutcomes = []string{"accepted", "declined", "considering", "unreachable"}

	// Tiers are the customer segments of TierAssigned.tier and
	// CampaignLaunched.criteria.tiers.
	Tiers = []string{"vip", "potential_vip", "general"}

	// Roles are the staff roles of StaffRegistered and StaffRoleChanged.
	// A marketer launches, amends and closes campaigns and reads their
	// outcomes; they read no customer's personal data.
	Roles = []string{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin", "marketer"}

	// LifeEventKinds are the values of LifeEventRecorded.kind and
	// CampaignLaunched.criteria.lifeEvents.
	LifeEventKinds = []string{"child_wedding", "birth", "marriage", "retirement", "relocation", "other"}

	// ConsentChannels are the channels consent is given for
	// (ConsentChanged.channel); "post" is not a contact channel.
	ConsentChannels = []string{"phone", "sms", "email", "post"}

	// ConsentPurposes are the values of ConsentChanged.purpose.
	ConsentPurposes = []string{"marketing", "service"}

	// SelectionReasons say why a call was selected for review
	// (CallSelectedForReview.reason).
	SelectionReasons = []string{"random_sample", "new_rep", "complaint", "long_call", "requested"}

	// AdvisorKinds are the values of AdvisorAssigned.kind.
	AdvisorKinds = []string{"private_banker", "call_centre_rep"}

	// CallDirections are the values of CallRecorded.direction.
	CallDirections = []string{"inbound", "outbound"}

	// HoldingChanges are the values of ProductHoldingChanged.change.
	HoldingChanges = []string{"opened", "closed"}

	// FollowUpOutcomes are the values of CoachingFollowedUp.outcome.
	FollowUpOutcomes = []string{"improved", "not_improved"}

	// ProfileFields are the personal fields of a customer profile: the keys
	// of ProfileChanged.changes and the values of ProfileVerified.fields.
	ProfileFields = []string{"name", "birthDate", "phone", "email", "address"}
)

// currencies are the ISO 4217 codes FinancialsReported accepts: the active
// currencies and funds, and the precious metals, without XTS (testing) and
// XXX (no currency). A new code (such as XCG in 2025) needs a line here
// before amounts in it can be recorded; rejecting "WON" is worth that.
var currencies = setOf(`
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN
NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL
SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XUA YER ZAR ZMW ZWG ZWL`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}
