package events

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
	Roles = []string{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin"}

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
