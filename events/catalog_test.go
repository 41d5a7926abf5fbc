package events_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

const (
	sha       = "3ebb153fb24e4411400e94a9a92b0ec458c3a8473e51e03cd37d4a34c99dfda6"
	merkle    = "7975edd9e7393c229e744913fe0d0bb86fb4cf46906e2e51152137e20ad15590"
	zeros     = "0000000000000000000000000000000000000000000000000000000000000000"
	sig       = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
	pointID   = "01JDQ8Z6M3V9K2X7R4T5Y6W8N0"
	disputeID = "01JDQ8Z6M3V9K2X7R4T5Y6W8N2"
	sessionID = "01JDQ8Z6M3V9K2X7R4T5Y6W8N3"
	tokenHash = "3c469e9d6c5875d37a43f353d4f88e61fcf812c66eee3457465a40b0da4153e0"
	phc       = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"
)

// examples holds one valid event of every registered type, in its canonical
// encoding (struct field order, no insignificant white space): Encode of
// Parse of each must give back the same bytes. A type registered without an
// example here fails TestEveryTypeHasAnExample.
var examples = map[string]string{
	"CustomerRegistered": `{"customerId":"C1001","name":"김민지","birthDate":"1970-03-15","phone":"+82 10-5550-1234",` +
		`"email":"minji.kim@example.kr","address":"12 Sejong-daero, Jung-gu\nSeoul 04519","branchId":"B01",` +
		`"source":{"system":"core-banking","ref":"CIF-778812"}}`,
	"ProfileChanged": `{"changes":{"email":"minji@example.com","phone":"+82 10-5550-9999"},"source":"phone_inbound","reason":"new mobile number",` +
		`"occurredAt":"2026-11-24T05:00:00Z"}`,
	"ProfileVerified":       `{"channel":"phone_outbound","fields":["name","phone","email"],"occurredAt":"2026-11-24T05:10:00Z"}`,
	"ConsentChanged":        `{"channel":"sms","purpose":"marketing","granted":false}`,
	"LifeEventRecorded":     `{"kind":"child_wedding","expectedOn":"2027-05-15","note":"daughter's wedding in spring"}`,
	"FinancialsReported":    `{"asOf":"2026-10-31","depositBalance":0,"profitContribution":-125000,"currency":"KRW"}`,
	"TierAssigned":          `{"tier":"potential_vip","basis":{"depositBalance":350000000,"profitContribution":2400000,"rule":"2026-Q4 deposit or profit"}}`,
	"AdvisorAssigned":       `{"advisorId":"R017","kind":"call_centre_rep","branchId":"B01"}`,
	"ProductHoldingChanged": `{"product":"LOAN-WED","accountRef":"110-234-567890","change":"opened"}`,
	"ContactLogged": `{"channel":"phone_outbound","purpose":"advice","summary":"asked about wedding loans; call back in May",` +
		`"occurredAt":"2026-11-25T00:30:00Z","durationSec":312,"staffId":"R017","callId":"CALL-8812"}`,
	"ProductPitched": `{"product":"LOAN-WED","channel":"phone_outbound","outcome":"considering","reason":"wants to compare rates",` +
		`"campaignId":"CMP-WED-2027","followUpOn":"2026-12-10","purpose":"marketing","consentChannel":"phone","consentVersion":4,` +
		`"occurredAt":"2026-11-25T00:35:00Z"}`,
	"CustomerRequestNoted": `{"text":"would like Saturday opening at the Jongno branch","category":"branch-hours","occurredAt":"2026-11-20T02:00:00Z"}`,
	"PersonalDataErased":   `{"reason":"erasure request (PIPA art. 36)","requestedBy":"customer"}`,

	"CallRecorded": `{"callId":"CALL-8812","customerId":"C1001","staffId":"R017","direction":"outbound",` +
		`"startedAt":"2026-11-25T00:30:00Z","durationSec":312,"recording":{"sha256":"` + sha + `","contentType":"audio/mpeg","bytes":4992000}}`,
	"CallSelectedForReview": `{"reason":"random_sample","supervisorId":"SUP02","planVersion":2}`,
	"CallReviewed": `{"reviewerId":"SUP02","formId":"QA-2026","formVersion":2,"items":[` +
		`{"itemId":"greeting","criterion":"greeting","weight":20,"score":4,"max":5,"comment":"warm"},` +
		`{"itemId":"accuracy","criterion":"accuracy","weight":50,"score":9,"max":10},` +
		`{"itemId":"closing","criterion":"closing","weight":30,"score":3,"max":5,"comment":"no summary of next steps"},` +
		`{"itemId":"complaint","criterion":"complaint handling","weight":10,"score":null,"max":5,"na":true}],"total":79,` +
		`"coachingPoints":[{"pointId":"` + pointID + `","criterion":"closing","note":"summarise next steps before hanging up",` +
		`"followUpDue":"2026-12-25T09:00:00Z","atSec":281,"itemId":"closing"}],"supersedes":1,"disputeId":"` + disputeID + `"}`,
	"CoachingAcknowledged": `{"pointId":"` + pointID + `","staffId":"R017","comment":"will do"}`,
	"CoachingFollowedUp": `{"pointId":"` + pointID + `","checkerId":"CH01","outcome":"not_improved","note":"still no summary",` +
		`"nextFollowUpDue":"2027-01-25T09:00:00Z"}`,

	"StaffRegistered":  `{"staffId":"R017","name":"Park Jisoo","role":"rep","branchIds":["B01","B02","B07"]}`,
	"StaffRoleChanged": `{"role":"supervisor"}`,
	"TokenIssued":      `{"tokenId":"TOK-01","tokenHash":"` + tokenHash + `","expiresAt":"2027-11-25T00:00:00Z"}`,
	"TokenRevoked":     `{"tokenId":"TOK-01","reason":"laptop lost"}`,

	"StaffDeactivated":     `{"reason":"left the bank"}`,
	"PasswordSetupIssued":  `{"setupId":"SET-01","codeHash":"` + sha + `","expiresAt":"2026-11-28T00:00:00.123456Z"}`,
	"PasswordSet":          `{"passwordHash":"` + phc + `","setupId":"SET-01"}`,
	"SecondFactorEnrolled": `{"secretSealed":"` + sig + `"}`,
	"SecondFactorReset":    `{"reason":"phone lost"}`,
	"SignedIn": `{"sessionId":"01JDQ8Z6M3V9K2X7R4T5Y6W8N1","sessionHash":"` + tokenHash + `","expiresAt":"2026-11-25T12:00:00Z",` +
		`"secondFactor":true,"address":"2001:db8::7"}`,
	"SignInFailed":          `{"reason":"bad_password","address":"203.0.113.7"}`,
	"SignedOut":             `{"sessionId":"01JDQ8Z6M3V9K2X7R4T5Y6W8N1","reason":"idle"}`,
	"SecondFactorPolicySet": `{"roles":["admin","private_banker"]}`,

	"CampaignLaunched": `{"campaignId":"CMP-WED-2027","name":"Wedding season 2027","product":"LOAN-WED",` +
		`"criteria":{"tiers":["potential_vip","vip"],"lifeEvents":["child_wedding"],"lifeEventWithinDays":120,"notHolding":["LOAN-WED"],` +
		`"branchIds":["B01","B02"],"minBalance":50000000,"noContactDays":30},` +
		`"channel":"phone_outbound","startsOn":"2027-01-10","endsOn":"2027-04-30","holdOutPercent":10,"attributionDays":45}`,
	"CampaignAmended": `{"name":"Wedding season 2027 (Seoul)","criteria":{"tiers":["vip"],"lifeEvents":["child_wedding","marriage"],` +
		`"lifeEventWithinDays":90,"branchIds":["B01"],"minBalance":0},"endsOn":"2027-05-31","reason":"extended a month; Seoul branches only"}`,
	"CampaignClosed": `{"reason":"season over"}`,

	"LedgerSealed": `{"fromPosition":1,"toPosition":1000,"count":1000,"merkleRoot":"` + merkle + `","prevSealHash":"` + zeros +
		`","signature":"` + sig + `"}`,

	"PersonalDataRead": `{"reads":[{"staffId":"R017","role":"rep","at":"2026-11-30T23:59:59.5Z","from":"203.0.113.7",` +
		`"customerId":"C1001","action":"customer_view"},{"staffId":"SUP02","role":"supervisor","at":"2026-11-30T23:59:59.75Z",` +
		`"from":"2001:db8::7","customerId":"C1001","action":"recording_play","detail":"CALL-8812"},` +
		`{"staffId":"R017","role":"rep","at":"2026-11-30T23:59:59.9Z","action":"worklist","detail":"advisor R017, 600 customers"}]}`,
	"AccessCheckSignedOff": `{"month":"2026-11","flagged":1,"note":"R017's lookups were inbound callers (checked with the call log)"}`,

	"ScorecardFormPublished": `{"formId":"QA-2026","version":2,"name":"Call quality 2026","items":[` +
		`{"itemId":"greeting","label":"Greeting","weight":20,"max":5},` +
		`{"itemId":"complaint","label":"Complaint handling","weight":10,"max":5,"naAllowed":true},` +
		`{"itemId":"disclosure","label":"Risk disclosure read","weight":10,"max":1,"critical":true}],` +
		`"note":"risk disclosure is critical from December"}`,
	"SamplingPlanPublished": `{"version":2,"newRepCalls":10,"perRepWeek":3,"longCallSec":900,"complaintDays":3,"note":"three a week from December"}`,
	"ReviewAcknowledged":    `{"evaluation":1,"repId":"R017","comment":"understood, will summarise"}`,
	"ReviewDisputed": `{"disputeId":"` + disputeID + `","evaluation":1,"repId":"R017",` +
		`"reason":"the disclosure was read at 02:10"}`,
	"DisputeResolved": `{"disputeId":"` + disputeID + `","resolverId":"SUP02","resolution":"rescored",` +
		`"note":"disclosure confirmed at 02:10","evaluation":2}`,
	"CalibrationOpened": `{"sessionId":"` + sessionID + `","callId":"CALL-8812","formId":"QA-2026","formVersion":2,` +
		`"openerId":"CH01","evaluators":["SUP02","SUP03","CH01"],"note":"December calibration"}`,
	"CalibrationScored": `{"sessionId":"` + sessionID + `","evaluatorId":"SUP03","items":[` +
		`{"itemId":"greeting","criterion":"Greeting","weight":20,"score":4,"max":5},` +
		`{"itemId":"complaint","criterion":"Complaint handling","weight":10,"score":null,"max":5,"na":true},` +
		`{"itemId":"disclosure","criterion":"Risk disclosure read","weight":10,"score":0,"max":1,"critical":true,` +
		`"comment":"not heard"}],"total":0,"criticalFailed":true}`,
	"CalibrationClosed": `{"sessionId":"` + sessionID + `","closerId":"CH01","note":"closing is where we differ"}`,

	testUpcastType: `{"title":"hello","count":2}`,
}

// catalogV1 is the v1 catalog of shared/EVENTS.md: removing a type fails
// the test as surely as adding one without an example.
var catalogV1 = []string{
	"AdvisorAssigned", "CallRecorded", "CallReviewed", "CallSelectedForReview", "CampaignClosed", "CampaignLaunched",
	"CoachingAcknowledged", "CoachingFollowedUp", "ConsentChanged", "ContactLogged", "CustomerRegistered",
	"CustomerRequestNoted", "FinancialsReported", "LedgerSealed", "LifeEventRecorded", "PersonalDataErased",
	"ProductHoldingChanged", "ProductPitched", "ProfileChanged", "ProfileVerified", "StaffRegistered",
	"StaffRoleChanged", "TierAssigned", "TokenIssued", "TokenRevoked",
}

// catalogSignIn are the types added for people signing in (issue 10,
// events/signin.go).
var catalogSignIn = []string{
	"PasswordSet", "PasswordSetupIssued", "SecondFactorEnrolled", "SecondFactorPolicySet", "SecondFactorReset",
	"SignInFailed", "SignedIn", "SignedOut", "StaffDeactivated",
}

// catalogAccess are the types of the access record (issue 12,
// events/access.go).
var catalogAccess = []string{"AccessCheckSignedOff", "PersonalDataRead"}

// catalogQA are the types of quality assurance beyond the review (issue 11,
// events/qa.go).
var catalogQA = []string{
	"CalibrationClosed", "CalibrationOpened", "CalibrationScored", "DisputeResolved", "ReviewAcknowledged",
	"ReviewDisputed", "SamplingPlanPublished", "ScorecardFormPublished",
}

// catalogCampaigns are the types added for target marketing (issue 13,
// events/campaign.go).
var catalogCampaigns = []string{"CampaignAmended"}

// catalogProvenance are the types of per-field provenance (issue 14,
// events/provenance.go).
var catalogProvenance = []string{"ProfileReported"}

// catalogTypes returns the registered types without the test-only ones.
func catalogTypes() []string {
	return slices.DeleteFunc(events.Types(), func(n string) bool { return n == testUpcastType })
}

func mustParse(t testing.TB, typ string, raw []byte) events.Data {
	t.Helper()
	d, err := events.Parse(typ, raw)
	if err != nil {
		t.Fatalf("Parse(%s, %s): %v", typ, raw, err)
	}
	return d
}

func mustEncode(t testing.TB, d events.Data) []byte {
	t.Helper()
	b, err := events.Encode(d)
	if err != nil {
		t.Fatalf("Encode(%T): %v", d, err)
	}
	return b
}

func TestEveryTypeHasAnExample(t *testing.T) {
	want := slices.Sorted(slices.Values(slices.Concat(catalogV1, catalogSignIn, catalogAccess, catalogQA, catalogCampaigns, catalogProvenance)))
	if got := catalogTypes(); !slices.Equal(got, want) {
		t.Errorf("registered types\n got %q\nwant %q", got, want)
	}
	for _, typ := range events.Types() {
		if _, ok := examples[typ]; !ok {
			t.Errorf("%s is registered but has no example in catalog_test.go", typ)
		}
		if events.Schema(typ) < 1 {
			t.Errorf("Schema(%s) = %d", typ, events.Schema(typ))
		}
		if d := events.New(typ); d == nil || d.EventType() != typ {
			t.Errorf("New(%s) = %#v", typ, d)
		}
	}
	for typ := range examples {
		if events.New(typ) == nil {
			t.Errorf("example for unregistered type %s", typ)
		}
	}
	if events.New("NoSuchType") != nil || events.Schema("NoSuchType") != 0 {
		t.Error("an unknown type must have no constructor and schema 0")
	}
}

// TestExamplesAreCanonical parses every example and checks that Encode
// gives back exactly its bytes: valid, and written in canonical form.
func TestExamplesAreCanonical(t *testing.T) {
	for _, typ := range events.Types() {
		t.Run(typ, func(t *testing.T) {
			d := mustParse(t, typ, []byte(examples[typ]))
			if got := mustEncode(t, d); string(got) != examples[typ] {
				t.Errorf("Encode(Parse(example))\n got %s\nwant %s", got, examples[typ])
			}
		})
	}
}

// TestEncodeIsCanonical checks that the same document spelled differently
// (keys reordered, white space everywhere) encodes to the same bytes, and
// that encoding is a fixed point.
func TestEncodeIsCanonical(t *testing.T) {
	for _, typ := range events.Types() {
		t.Run(typ, func(t *testing.T) {
			want := mustEncode(t, mustParse(t, typ, []byte(examples[typ])))
			variant := reordered(generic(t, examples[typ]))
			if bytes.Equal(variant, want) {
				t.Fatal("the variant is not spelled differently")
			}
			if got := mustEncode(t, mustParse(t, typ, variant)); !bytes.Equal(got, want) {
				t.Errorf("from\n%s\n got %s\nwant %s", variant, got, want)
			}
			if again := mustEncode(t, mustParse(t, typ, want)); !bytes.Equal(again, want) {
				t.Errorf("re-encoding is not stable:\n got %s\nwant %s", again, want)
			}
		})
	}
}

// timeOrPosition reports whether the example value at path is a time or a
// position, which must not be padded or typed as anything but themselves.
func timeOrPosition(path string) bool {
	last := path[strings.LastIndexAny(path, ".]")+1:]
	switch last {
	case "occurredAt", "startedAt", "followUpDue", "nextFollowUpDue", "expiresAt", "fromPosition", "toPosition",
		"observedAt", // ProfileReported's source.observedAt
		"at":         // PersonalDataRead's reads[].at
		return true
	}
	return false
}

// TestTrimming surrounds every string of every example with white space:
// the encoding must be the example's again.
func TestTrimming(t *testing.T) {
	for _, typ := range events.Types() {
		t.Run(typ, func(t *testing.T) {
			raw := compact(t, padded(generic(t, examples[typ]), "", timeOrPosition))
			if got := mustEncode(t, mustParse(t, typ, raw)); string(got) != examples[typ] {
				t.Errorf("from %s\n got %s\nwant %s", raw, got, examples[typ])
			}
		})
	}
}

// TestNormalisation covers the rewrites Validate makes besides trimming.
func TestNormalisation(t *testing.T) {
	for _, tc := range []struct {
		name, typ, path string
		in, want        any
	}{
		{"time to UTC", "ContactLogged", "occurredAt", "2026-11-25T09:30:00+09:00", "2026-11-25T00:30:00Z"},
		{"time to UTC keeps nanoseconds", "CallRecorded", "startedAt", "2026-11-24T19:30:00.123456789-05:00", "2026-11-25T00:30:00.123456789Z"},
		{"nested time to UTC", "CallReviewed", "coachingPoints[0].followUpDue", "2026-12-25T18:00:00+09:00", "2026-12-25T09:00:00Z"},
		{"media type lowercased", "CallRecorded", "recording.contentType", "Audio/MPEG", "audio/mpeg"},
		{"media type parameters", "CallRecorded", "recording.contentType", "audio/ogg;  Codecs=opus", "audio/ogg; codecs=opus"},
		{"total set to the computed one", "CallReviewed", "total", json.Number("79.04"), json.Number("79")},
		{"total within tolerance below", "CallReviewed", "total", json.Number("78.95"), json.Number("79")},
		{"criticalFailed set to the computed one", "CalibrationScored", "criticalFailed", del, true},
		{"a calibration total set to the computed one", "CalibrationScored", "total", json.Number("0.04"), json.Number("0")},
		{"position pair given as the number it is", "LedgerSealed", "toPosition", "1000/1000", json.Number("1000")},
		{"trimmed map value", "ProfileChanged", "changes.email", "  minji@example.com\t", "minji@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := mutate(t, examples[tc.typ], tc.path, tc.in)
			want := mutate(t, examples[tc.typ], tc.path, tc.want)
			// Key order is TestEncodeIsCanonical's business; compare values.
			if got := mustEncode(t, mustParse(t, tc.typ, in)); !reflect.DeepEqual(generic(t, string(got)), generic(t, string(want))) {
				t.Errorf("from %s\n got %s\nwant %s", in, got, want)
			}
		})
	}
}

// TestParseValid covers edge values that are valid: limits exactly met,
// zeros that are not missing values, optional fields left out.
func TestParseValid(t *testing.T) {
	for _, tc := range []struct {
		typ, path string
		val       any
	}{
		{"CustomerRegistered", "name", strings.Repeat("가", 200)}, // characters, not bytes
		{"CustomerRegistered", "name", "O'Brien-Kim Ji-soo"},
		{"CustomerRegistered", "birthDate", del},
		{"CustomerRegistered", "birthDate", "2024-02-29"},
		{"CustomerRegistered", "phone", del},
		{"CustomerRegistered", "phone", "(02) 555.0100 / 7"},
		{"CustomerRegistered", "email", del},
		{"CustomerRegistered", "address", del},
		{"CustomerRegistered", "address", "line 1\r\n\tline 2"},
		{"CustomerRegistered", "source.ref", del},
		{"CustomerRegistered", "source.system", "crm"}, // staff registered the customer in the CRM
		{"CustomerRegistered", "source.system", "core-banking"},
		{"CustomerRegistered", "source.system", "card_app2"},
		{"CustomerRegistered", "customerId", strings.Repeat("C", 64)},
		{"ProfileChanged", "changes", map[string]any{"phone": ""}}, // clears an optional field
		{"ProfileChanged", "changes", map[string]any{"name": "Kim Minji", "birthDate": "1970-03-16", "address": "Busan"}},
		{"ProfileChanged", "reason", del},
		{"ProfileChanged", "occurredAt", del},
		{"ProfileVerified", "fields", del},
		{"ProfileVerified", "occurredAt", del},
		{"ProfileVerified", "occurredAt", nil},
		{"ProfileVerified", "fields", []any{"name", "birthDate", "phone", "email", "address"}},
		{"ConsentChanged", "granted", true},
		{"LifeEventRecorded", "expectedOn", del},
		{"LifeEventRecorded", "note", strings.Repeat("n", 2000)},
		{"FinancialsReported", "depositBalance", json.Number("1000000000000000")},
		{"FinancialsReported", "profitContribution", json.Number("-1000000000000000")},
		{"FinancialsReported", "profitContribution", json.Number("0")},
		{"TierAssigned", "basis.depositBalance", json.Number("0")},
		{"AdvisorAssigned", "branchId", del},
		{"ContactLogged", "durationSec", json.Number("0")},
		{"ContactLogged", "durationSec", json.Number("86400")},
		{"ContactLogged", "summary", del},
		{"ContactLogged", "staffId", del},
		{"ContactLogged", "callId", del},
		{"ProductPitched", "campaignId", del},
		{"ProductPitched", "followUpOn", del},
		{"ProductPitched", "reason", del},
		{"ProductPitched", "occurredAt", del},
		{"ProductPitched", "occurredAt", "0001-01-01T00:00:00Z"}, // Go's zero time counts as missing
		{"ProductPitched", "occurredAt", "1900-01-01T00:00:00Z"},
		{"ProductPitched", "occurredAt", "2200-12-31T23:59:59.999999999Z"},
		{"ProductPitched", "purpose", del}, // a pitch of an earlier release
		{"ProductPitched", "consentChannel", del},
		{"ProductPitched", "consentVersion", del},
		{"ProductPitched", "channel", "branch"}, // consentChannel is phone: the fields are independent
		{"CustomerRequestNoted", "category", del},
		{"CustomerRequestNoted", "occurredAt", del},
		{"CallRecorded", "durationSec", json.Number("1")},
		{"CallRecorded", "durationSec", json.Number("86400")},
		{"CallSelectedForReview", "supervisorId", del},
		{"CallReviewed", "coachingPoints", del},
		{"CallReviewed", "items[0].comment", del},
		{"CallReviewed", "items", []any{map[string]any{"itemId": "closing", "criterion": "single", "weight": 100, "score": 79, "max": 100}}}, // total 79 still
		{"CallSelectedForReview", "planVersion", del}, // a supervisor's request, or the built-in plan
		{"CallReviewed", "formVersion", del},          // a review from before forms were versioned
		{"CallReviewed", "items[0].itemId", del},
		{"CallReviewed", "coachingPoints[0].atSec", del},
		{"CallReviewed", "coachingPoints[0].atSec", num("0")},
		{"CallReviewed", "coachingPoints[0].itemId", del},
		{"CallReviewed", "disputeId", del}, // a supervisor's own correction
		{"ScorecardFormPublished", "note", del},
		{"ScorecardFormPublished", "items", []any{formItem("only")}},
		{"ScorecardFormPublished", "items", list(50, func(i int) any { return formItem(fmt.Sprint("i", i)) })},
		{"ScorecardFormPublished", "items[2].naAllowed", true}, // a critical item may be N/A
		{"SamplingPlanPublished", "note", del},
		{"SamplingPlanPublished", "newRepCalls", num("0")}, // a rule set to 0 is off
		{"SamplingPlanPublished", "perRepWeek", num("100")},
		{"SamplingPlanPublished", "longCallSec", num("0")},
		{"SamplingPlanPublished", "longCallSec", num("60")},
		{"SamplingPlanPublished", "longCallSec", num("86400")},
		{"SamplingPlanPublished", "complaintDays", num("0")},
		{"SamplingPlanPublished", "complaintDays", num("30")},
		{"ReviewAcknowledged", "comment", del},
		{"DisputeResolved", "evaluation", num("1000")},
		{"CalibrationOpened", "note", del},
		{"CalibrationOpened", "evaluators", []any{"SUP02", "SUP03"}},
		{"CalibrationOpened", "evaluators", list(20, func(i int) any { return fmt.Sprint("S", i) })},
		{"CalibrationScored", "total", del}, // a missing total reads 0, which a failed critical item scores
		{"CalibrationClosed", "note", del},
		{"CoachingAcknowledged", "comment", del},
		{"CoachingFollowedUp", "note", del},
		{"StaffRegistered", "branchIds", del},
		{"TokenIssued", "expiresAt", del},
		{"TokenRevoked", "reason", del},
		{"StaffDeactivated", "reason", del},
		{"PasswordSet", "setupId", del},
		{"PasswordSet", "passwordHash", "$argon2id$" + rep("x", 246)},
		{"SecondFactorEnrolled", "secretSealed", rep("A", 512)},
		{"SecondFactorReset", "reason", del},
		{"SignedIn", "secondFactor", del},
		{"SignedIn", "address", del},
		{"SignedIn", "address", "10.0.0.1"},
		{"SignInFailed", "address", del},
		{"SignedOut", "reason", "deactivated"},
		{"SecondFactorPolicySet", "roles", []any{}},
		{"SecondFactorPolicySet", "roles", del},
		{"SecondFactorPolicySet", "roles", nil},
		{"SecondFactorPolicySet", "roles", []any{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin", "marketer"}},
		{"CampaignLaunched", "endsOn", del},
		{"CampaignLaunched", "endsOn", "2027-01-10"}, // a one-day campaign
		{"CampaignLaunched", "criteria", map[string]any{}},
		{"CampaignLaunched", "criteria.lifeEventWithinDays", del}, // any life event of the kinds, whenever expected
		{"CampaignLaunched", "criteria.lifeEventWithinDays", num("366")},
		{"CampaignLaunched", "criteria.minBalance", num("0")},
		{"CampaignLaunched", "criteria.minBalance", num("1000000000000000")},
		{"CampaignLaunched", "criteria.noContactDays", num("366")},
		{"CampaignLaunched", "holdOutPercent", num("50")},
		{"CampaignLaunched", "holdOutPercent", del},
		{"CampaignLaunched", "attributionDays", del}, // the default, 30
		{"CampaignLaunched", "attributionDays", num("365")},
		{"CampaignAmended", "endsOn", del},
		{"CampaignAmended", "reason", del},
		{"CampaignAmended", "criteria", map[string]any{}},
		{"CampaignClosed", "reason", del},
		{"LedgerSealed", "signature", del},
		{"LedgerSealed", "toPosition", json.Number("1")}, // a seal of one event
	} {
		t.Run(fmt.Sprintf("%s/%s=%.20v", tc.typ, tc.path, tc.val), func(t *testing.T) {
			raw := mutate(t, examples[tc.typ], tc.path, tc.val)
			d := mustParse(t, tc.typ, raw)
			mustEncode(t, d) // still valid after Validate's rewrites
		})
	}

	t.Run("CoachingFollowedUp/improved without a next due date", func(t *testing.T) {
		raw := mutate(t, string(mutate(t, examples["CoachingFollowedUp"], "outcome", "improved")), "nextFollowUpDue", del)
		mustParse(t, "CoachingFollowedUp", raw)
	})
	t.Run("LedgerSealed/commit-prepare positions", func(t *testing.T) {
		raw := mutate(t, string(mutate(t, examples["LedgerSealed"], "fromPosition", "100/90")), "toPosition", "2000/1990")
		d := mustParse(t, "LedgerSealed", raw).(*events.LedgerSealed)
		if d.FromPosition != (events.Position{Commit: 100, Prepare: 90}) {
			t.Errorf("fromPosition = %v", d.FromPosition)
		}
		if got := string(mustEncode(t, d)); !strings.Contains(got, `"fromPosition":"100/90","toPosition":"2000/1990"`) {
			t.Errorf("encoded %s", got)
		}
	})
	t.Run("CampaignClosed/empty", func(t *testing.T) { mustParse(t, "CampaignClosed", []byte(`{}`)) })
	t.Run("DisputeResolved/upheld without an evaluation", func(t *testing.T) {
		raw := mutate(t, string(mutate(t, examples["DisputeResolved"], "resolution", "upheld")), "evaluation", del)
		mustParse(t, "DisputeResolved", raw)
	})
	t.Run("CustomerRegistered/only required fields", func(t *testing.T) {
		mustParse(t, "CustomerRegistered", []byte(`{"customerId":"C1","name":"Kim","branchId":"B1","source":{"system":"crm"}}`))
	})
}

// list returns n values made by f.
func list(n int, f func(i int) any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func rep(s string, n int) string { return strings.Repeat(s, n) }

func num(s string) json.Number { return json.Number(s) }

func reviewItem(criterion string, weight, score, max int) map[string]any {
	return map[string]any{"criterion": criterion, "weight": weight, "score": score, "max": max}
}

func formItem(id string) map[string]any {
	return map[string]any{"itemId": id, "label": id, "weight": 1, "max": 1}
}

func point(id string) map[string]any {
	return map[string]any{"pointId": id, "criterion": "closing", "note": "n", "followUpDue": "2026-12-25T09:00:00Z"}
}

// invalid is one broken rule: the example of typ with the value at path
// set to val (or removed, for del) must fail with an Invalid error naming
// field (path, if field is empty).
type invalid struct {
	typ, path string
	val       any
	field     string
}

// invalidCases lists every rule of every type, each broken alone.
var invalidCases = []invalid{
	// CustomerRegistered
	{"CustomerRegistered", "customerId", del, ""},
	{"CustomerRegistered", "customerId", "", ""},
	{"CustomerRegistered", "customerId", "   ", ""},
	{"CustomerRegistered", "customerId", nil, ""},
	{"CustomerRegistered", "customerId", "C 1001", ""},
	{"CustomerRegistered", "customerId", "-C1001", ""},
	{"CustomerRegistered", "customerId", "C/1001", ""},
	{"CustomerRegistered", "customerId", rep("C", 65), ""},
	{"CustomerRegistered", "name", del, ""},
	{"CustomerRegistered", "name", "", ""},
	{"CustomerRegistered", "name", " \t\n ", ""},
	{"CustomerRegistered", "name", rep("가", 201), ""},
	{"CustomerRegistered", "name", "Kim\nMinji", ""}, // single line
	{"CustomerRegistered", "name", "Kim\u0000", ""},
	{"CustomerRegistered", "name", "Kim\u0085Minji", ""}, // C1 control
	{"CustomerRegistered", "birthDate", "1970-3-15", ""},
	{"CustomerRegistered", "birthDate", "1970-02-30", ""},
	{"CustomerRegistered", "birthDate", "15/03/1970", ""},
	{"CustomerRegistered", "birthDate", "1970-03-15T00:00:00Z", ""},
	{"CustomerRegistered", "birthDate", "1899-12-31", ""},
	{"CustomerRegistered", "birthDate", "0000-01-01", ""},
	{"CustomerRegistered", "phone", "call me", ""},
	{"CustomerRegistered", "phone", "12", ""},
	{"CustomerRegistered", "phone", "10+82", ""},
	{"CustomerRegistered", "phone", rep("1", 41), ""},
	{"CustomerRegistered", "phone", rep("1", 21), ""},
	{"CustomerRegistered", "email", "m@" + rep("e", 250) + ".kr", ""},
	{"CustomerRegistered", "email", "minji@\nexample.kr", ""},
	{"CustomerRegistered", "address", rep("a", 501), ""},
	{"CustomerRegistered", "address", "Seoul\u0007", ""},
	{"CustomerRegistered", "branchId", del, ""},
	{"CustomerRegistered", "branchId", "B 01", ""},
	{"CustomerRegistered", "source", del, "source.system"},
	{"CustomerRegistered", "source", map[string]any{}, "source.system"},
	{"CustomerRegistered", "source.system", del, ""},
	{"CustomerRegistered", "source.system", " ", ""},
	{"CustomerRegistered", "source.system", rep("s", 65), ""},
	{"CustomerRegistered", "source.system", "core\tbanking", ""},
	{"CustomerRegistered", "source.system", "Core", ""}, // another system than core to the survivorship rule
	{"CustomerRegistered", "source.system", "core banking", ""},
	{"CustomerRegistered", "source.system", "코어", ""},
	{"CustomerRegistered", "source.ref", rep("r", 129), ""},

	// ProfileChanged
	{"ProfileChanged", "changes", del, ""},
	{"ProfileChanged", "changes", nil, ""},
	{"ProfileChanged", "changes", map[string]any{}, ""},
	{"ProfileChanged", "changes.nickname", "Minnie", ""},
	{"ProfileChanged", "changes.Email", "minji@example.com", ""}, // keys are case-sensitive
	{"ProfileChanged", "changes", map[string]any{"not a field!": "x"}, "changes"},
	{"ProfileChanged", "changes.name", "", ""}, // the name cannot be cleared
	{"ProfileChanged", "changes.name", rep("n", 201), ""},
	{"ProfileChanged", "changes.name", "a\tb", ""},
	{"ProfileChanged", "changes.birthDate", "1970-13-01", ""},
	{"ProfileChanged", "changes.phone", "none", ""},
	{"ProfileChanged", "changes.email", rep("m", 255), ""},
	{"ProfileChanged", "changes.address", rep("a", 501), ""},
	{"ProfileChanged", "source", del, ""},
	{"ProfileChanged", "source", "fax", ""},
	{"ProfileChanged", "source", "Branch", ""},
	{"ProfileChanged", "reason", rep("r", 501), ""},
	{"ProfileChanged", "reason", "moved\nhouse", ""},
	{"ProfileChanged", "occurredAt", "1899-12-31T23:59:59Z", ""},

	// ProfileVerified
	{"ProfileVerified", "channel", del, ""},
	{"ProfileVerified", "channel", "post", ""},
	{"ProfileVerified", "fields[1]", "nickname", ""},
	{"ProfileVerified", "fields[1]", "", ""},
	{"ProfileVerified", "fields[2]", "name", ""},
	{"ProfileVerified", "fields", list(6, func(int) any { return "name" }), "fields"},
	{"ProfileVerified", "occurredAt", "2201-01-01T00:00:00Z", ""},

	// ConsentChanged
	{"ConsentChanged", "channel", del, ""},
	{"ConsentChanged", "channel", "phone_inbound", ""}, // a contact channel, not a consent channel
	{"ConsentChanged", "purpose", del, ""},
	{"ConsentChanged", "purpose", "sales", ""},
	{"ConsentChanged", "granted", del, ""},
	{"ConsentChanged", "granted", nil, ""},

	// LifeEventRecorded
	{"LifeEventRecorded", "kind", del, ""},
	{"LifeEventRecorded", "kind", "divorce", ""},
	{"LifeEventRecorded", "expectedOn", "next spring", ""},
	{"LifeEventRecorded", "expectedOn", "2027-02-29", ""},
	{"LifeEventRecorded", "expectedOn", "2201-01-01", ""},
	{"LifeEventRecorded", "note", rep("n", 2001), ""},
	{"LifeEventRecorded", "note", "bell\u0007", ""},

	// FinancialsReported
	{"FinancialsReported", "asOf", del, ""},
	{"FinancialsReported", "asOf", "2026-10-32", ""},
	{"FinancialsReported", "depositBalance", del, ""},
	{"FinancialsReported", "depositBalance", nil, ""},
	{"FinancialsReported", "depositBalance", num("-1"), ""},
	{"FinancialsReported", "depositBalance", num("1000000000000001"), ""},
	{"FinancialsReported", "profitContribution", del, ""},
	{"FinancialsReported", "profitContribution", num("-1000000000000001"), ""},
	{"FinancialsReported", "profitContribution", num("1000000000000001"), ""},
	{"FinancialsReported", "currency", del, ""},
	{"FinancialsReported", "currency", "krw", ""},
	{"FinancialsReported", "currency", "WON", ""}, // well-formed, but not a currency
	{"FinancialsReported", "currency", "XXX", ""}, // "no currency"
	{"FinancialsReported", "currency", "KRWX", ""},

	// TierAssigned
	{"TierAssigned", "tier", del, ""},
	{"TierAssigned", "tier", "gold", ""},
	{"TierAssigned", "basis", del, "basis.depositBalance"},
	{"TierAssigned", "basis.depositBalance", del, ""},
	{"TierAssigned", "basis.depositBalance", num("-5"), ""},
	{"TierAssigned", "basis.profitContribution", del, ""},
	{"TierAssigned", "basis.profitContribution", num("1000000000000001"), ""},
	{"TierAssigned", "basis.rule", del, ""},
	{"TierAssigned", "basis.rule", rep("r", 201), ""},

	// AdvisorAssigned
	{"AdvisorAssigned", "advisorId", del, ""},
	{"AdvisorAssigned", "advisorId", "R 017", ""},
	{"AdvisorAssigned", "kind", del, ""},
	{"AdvisorAssigned", "kind", "teller", ""},
	{"AdvisorAssigned", "kind", "rep", ""}, // a role, not an advisor kind
	{"AdvisorAssigned", "branchId", "B.01", ""},

	// ProductHoldingChanged
	{"ProductHoldingChanged", "product", del, ""},
	{"ProductHoldingChanged", "product", "wedding loan", ""},
	{"ProductHoldingChanged", "product", rep("P", 65), ""},
	{"ProductHoldingChanged", "accountRef", del, ""},
	{"ProductHoldingChanged", "accountRef", rep("1", 65), ""},
	{"ProductHoldingChanged", "change", del, ""},
	{"ProductHoldingChanged", "change", "frozen", ""},

	// ContactLogged
	{"ContactLogged", "channel", del, ""},
	{"ContactLogged", "channel", "pigeon", ""},
	{"ContactLogged", "channel", "phone", ""}, // a consent channel, not a contact channel
	{"ContactLogged", "purpose", del, ""},
	{"ContactLogged", "purpose", "gossip", ""},
	{"ContactLogged", "summary", rep("s", 2001), ""},
	{"ContactLogged", "summary", "esc\u001b[31m", ""},
	{"ContactLogged", "occurredAt", del, ""},
	{"ContactLogged", "occurredAt", nil, ""},
	{"ContactLogged", "occurredAt", "0001-01-01T00:00:00Z", ""},
	{"ContactLogged", "occurredAt", "1899-12-31T23:59:59Z", ""},
	{"ContactLogged", "occurredAt", "2201-01-01T00:00:00Z", ""},
	{"ContactLogged", "durationSec", num("-1"), ""},
	{"ContactLogged", "durationSec", num("86401"), ""},
	{"ContactLogged", "staffId", "R 017", ""},
	{"ContactLogged", "callId", "CALL#1", ""},

	// ProductPitched
	{"ProductPitched", "product", del, ""},
	{"ProductPitched", "product", "LOAN WED", ""},
	{"ProductPitched", "channel", del, ""},
	{"ProductPitched", "channel", "post", ""},
	{"ProductPitched", "outcome", del, ""},
	{"ProductPitched", "outcome", "maybe", ""},
	{"ProductPitched", "reason", rep("r", 501), ""},
	{"ProductPitched", "campaignId", "CMP WED", ""},
	{"ProductPitched", "followUpOn", "tomorrow", ""},
	{"ProductPitched", "occurredAt", "1899-12-31T23:59:59Z", ""},
	{"ProductPitched", "occurredAt", "2201-01-01T00:00:00Z", ""},
	{"ProductPitched", "occurredAt", "yesterday", ""},
	{"ProductPitched", "occurredAt", "2026-11-25", ""},
	{"ProductPitched", "purpose", "sales", ""},
	{"ProductPitched", "purpose", "service", ""}, // the example names a campaign
	{"ProductPitched", "consentChannel", "branch", ""},
	{"ProductPitched", "consentChannel", "Phone", ""},

	// CustomerRequestNoted
	{"CustomerRequestNoted", "text", del, ""},
	{"CustomerRequestNoted", "text", "  ", ""},
	{"CustomerRequestNoted", "text", rep("t", 2001), ""},
	{"CustomerRequestNoted", "occurredAt", "1899-12-31T23:59:59Z", ""},
	{"CustomerRequestNoted", "category", "branch hours", ""},
	{"CustomerRequestNoted", "category", rep("c", 65), ""},

	// PersonalDataErased
	{"PersonalDataErased", "reason", del, ""},
	{"PersonalDataErased", "reason", rep("r", 501), ""},
	{"PersonalDataErased", "requestedBy", del, ""},
	{"PersonalDataErased", "requestedBy", rep("q", 129), ""},

	// CallRecorded
	{"CallRecorded", "callId", del, ""},
	{"CallRecorded", "callId", "CALL 8812", ""},
	{"CallRecorded", "customerId", del, ""},
	{"CallRecorded", "customerId", "C:1001", ""},
	{"CallRecorded", "staffId", del, ""},
	{"CallRecorded", "direction", del, ""},
	{"CallRecorded", "direction", "sideways", ""},
	{"CallRecorded", "startedAt", del, ""},
	{"CallRecorded", "startedAt", "1800-01-01T00:00:00Z", ""},
	{"CallRecorded", "durationSec", del, ""},
	{"CallRecorded", "durationSec", num("0"), ""},
	{"CallRecorded", "durationSec", num("-1"), ""},
	{"CallRecorded", "durationSec", num("86401"), ""},
	{"CallRecorded", "recording", del, "recording.sha256"},
	{"CallRecorded", "recording.sha256", del, ""},
	{"CallRecorded", "recording.sha256", strings.ToUpper(sha), ""},
	{"CallRecorded", "recording.sha256", sha[:63], ""},
	{"CallRecorded", "recording.sha256", sha + "0", ""},
	{"CallRecorded", "recording.sha256", "g" + sha[1:], ""},
	{"CallRecorded", "recording.contentType", del, ""},
	{"CallRecorded", "recording.contentType", "video/mp4", ""},
	{"CallRecorded", "recording.contentType", "audio", ""},
	{"CallRecorded", "recording.contentType", "audio/" + rep("x", 95), ""},
	{"CallRecorded", "recording.bytes", del, ""},
	{"CallRecorded", "recording.bytes", num("-1"), ""},
	{"CallRecorded", "recording.bytes", num("68719476737"), ""},

	// CallSelectedForReview
	{"CallSelectedForReview", "reason", del, ""},
	{"CallSelectedForReview", "reason", "boredom", ""},
	{"CallSelectedForReview", "supervisorId", "SUP 02", ""},
	{"CallSelectedForReview", "planVersion", num("-1"), ""},

	// CallReviewed
	{"CallReviewed", "reviewerId", del, ""},
	{"CallReviewed", "reviewerId", "SUP 02", ""},
	{"CallReviewed", "formId", del, ""},
	{"CallReviewed", "items", del, ""},
	{"CallReviewed", "items", []any{}, ""},
	{"CallReviewed", "items", list(51, func(i int) any { return reviewItem(fmt.Sprint("c", i), 1, 1, 1) }), ""},
	{"CallReviewed", "items[1].criterion", del, ""},
	{"CallReviewed", "items[1].criterion", " ", ""},
	{"CallReviewed", "items[1].criterion", rep("c", 201), ""},
	{"CallReviewed", "items[1].weight", del, ""},
	{"CallReviewed", "items[1].weight", num("0"), ""},
	{"CallReviewed", "items[1].weight", num("101"), ""},
	{"CallReviewed", "items[1].score", del, ""},
	{"CallReviewed", "items[1].score", nil, ""},
	{"CallReviewed", "items[1].score", num("-1"), ""},
	{"CallReviewed", "items[1].score", num("11"), ""}, // above its max of 10
	{"CallReviewed", "items[2].max", del, ""},
	{"CallReviewed", "items[2].max", num("0"), ""},
	{"CallReviewed", "items[2].max", num("101"), ""},
	{"CallReviewed", "items[2].max", num("2"), "items[2].score"}, // score 3 is now above max
	{"CallReviewed", "items[0].comment", rep("c", 2001), ""},
	{"CallReviewed", "total", del, ""},
	{"CallReviewed", "total", num("80"), ""},
	{"CallReviewed", "total", num("79.06"), ""},
	{"CallReviewed", "total", num("78.94"), ""},
	{"CallReviewed", "coachingPoints", list(21, func(i int) any { return point(fmt.Sprint("P", i)) }), ""},
	{"CallReviewed", "coachingPoints", []any{point("P1"), point("P2"), point("P1")}, "coachingPoints[2].pointId"},
	{"CallReviewed", "coachingPoints[0].pointId", del, ""},
	{"CallReviewed", "coachingPoints[0].pointId", "P 1", ""},
	{"CallReviewed", "coachingPoints[0].criterion", del, ""},
	{"CallReviewed", "coachingPoints[0].criterion", rep("c", 201), ""},
	{"CallReviewed", "coachingPoints[0].note", del, ""},
	{"CallReviewed", "coachingPoints[0].note", rep("n", 2001), ""},
	{"CallReviewed", "coachingPoints[0].followUpDue", del, ""},
	{"CallReviewed", "coachingPoints[0].followUpDue", "2300-01-01T00:00:00Z", ""},
	{"CallReviewed", "formVersion", num("-1"), ""},
	{"CallReviewed", "items[0].itemId", "greet ing", ""},
	{"CallReviewed", "items[1].itemId", "greeting", ""}, // appears twice
	{"CallReviewed", "items[0].critical", true, "items[0].max"},
	{"CallReviewed", "items[3].score", num("2"), ""},         // an N/A item has no score
	{"CallReviewed", "items[3].na", false, "items[3].score"}, // then it needs one
	{"CallReviewed", "criticalFailed", true, ""},             // no critical item scored 0
	{"CallReviewed", "coachingPoints[0].atSec", num("-1"), ""},
	{"CallReviewed", "coachingPoints[0].atSec", num("86401"), ""},
	{"CallReviewed", "coachingPoints[0].itemId", "clo sing", ""},
	{"CallReviewed", "coachingPoints[0].itemId", "opening", ""}, // not an item of the review
	{"CallReviewed", "supersedes", del, ""},                     // required with disputeId
	{"CallReviewed", "supersedes", num("-1"), ""},
	{"CallReviewed", "supersedes", num("1001"), ""},
	{"CallReviewed", "disputeId", "D 1", ""},

	// CoachingAcknowledged
	{"CoachingAcknowledged", "pointId", del, ""},
	{"CoachingAcknowledged", "pointId", "P 1", ""},
	{"CoachingAcknowledged", "staffId", del, ""},
	{"CoachingAcknowledged", "comment", rep("c", 2001), ""},

	// CoachingFollowedUp
	{"CoachingFollowedUp", "pointId", del, ""},
	{"CoachingFollowedUp", "checkerId", del, ""},
	{"CoachingFollowedUp", "checkerId", "CH 01", ""},
	{"CoachingFollowedUp", "outcome", del, ""},
	{"CoachingFollowedUp", "outcome", "meh", ""},
	{"CoachingFollowedUp", "note", rep("n", 2001), ""},
	{"CoachingFollowedUp", "nextFollowUpDue", del, ""}, // required when not_improved
	{"CoachingFollowedUp", "nextFollowUpDue", "1000-01-01T00:00:00Z", ""},
	{"CoachingFollowedUp", "outcome", "improved", "nextFollowUpDue"}, // must be absent when improved

	// StaffRegistered
	{"StaffRegistered", "staffId", del, ""},
	{"StaffRegistered", "staffId", "R 017", ""},
	{"StaffRegistered", "name", del, ""},
	{"StaffRegistered", "name", rep("n", 201), ""},
	{"StaffRegistered", "role", del, ""},
	{"StaffRegistered", "role", "ceo", ""},
	{"StaffRegistered", "role", "Rep", ""},
	{"StaffRegistered", "branchIds[1]", "B 02", ""},
	{"StaffRegistered", "branchIds[2]", "B01", ""},
	{"StaffRegistered", "branchIds", list(21, func(i int) any { return fmt.Sprint("B", i) }), ""},

	// StaffRoleChanged
	{"StaffRoleChanged", "role", del, ""},
	{"StaffRoleChanged", "role", "root", ""},

	// TokenIssued
	{"TokenIssued", "tokenId", del, ""},
	{"TokenIssued", "tokenId", "TOK 01", ""},
	{"TokenIssued", "tokenHash", del, ""},
	{"TokenIssued", "tokenHash", strings.ToUpper(tokenHash), ""},
	{"TokenIssued", "tokenHash", "secret", ""},
	{"TokenIssued", "expiresAt", "2999-01-01T00:00:00Z", ""},

	// TokenRevoked
	{"TokenRevoked", "tokenId", del, ""},
	{"TokenRevoked", "reason", rep("r", 501), ""},

	// StaffDeactivated
	{"StaffDeactivated", "reason", rep("r", 501), ""},
	{"StaffDeactivated", "reason", "left\nthe bank", ""},

	// PasswordSetupIssued
	{"PasswordSetupIssued", "setupId", del, ""},
	{"PasswordSetupIssued", "setupId", "SET 01", ""},
	{"PasswordSetupIssued", "codeHash", del, ""},
	{"PasswordSetupIssued", "codeHash", "123456", ""}, // the code itself, not its hash
	{"PasswordSetupIssued", "codeHash", strings.ToUpper(sha), ""},
	{"PasswordSetupIssued", "expiresAt", del, ""},
	{"PasswordSetupIssued", "expiresAt", "2201-01-01T00:00:00Z", ""},

	// PasswordSet
	{"PasswordSet", "passwordHash", del, ""},
	{"PasswordSet", "passwordHash", "", ""},
	{"PasswordSet", "passwordHash", "hunter2", ""},                                                      // a password in clear
	{"PasswordSet", "passwordHash", "$2a$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW", ""}, // bcrypt
	{"PasswordSet", "passwordHash", "$argon2i$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", ""},
	{"PasswordSet", "passwordHash", "$ARGON2ID$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", ""},
	{"PasswordSet", "passwordHash", "$argon2id$" + rep("x", 247), ""},
	{"PasswordSet", "passwordHash", "$argon2id$v=19 $m=65536", ""},
	{"PasswordSet", "passwordHash", "$argon2id$v=19\n$m=65536", ""},
	{"PasswordSet", "passwordHash", "$argon2id$v=19$\u0000", ""},
	{"PasswordSet", "passwordHash", "$argon2id$v=19$m=65536,t=3,p=4$솔트$aGFzaA", ""},
	{"PasswordSet", "setupId", "SET/01", ""},

	// SecondFactorEnrolled
	{"SecondFactorEnrolled", "secretSealed", del, ""},
	{"SecondFactorEnrolled", "secretSealed", "JBSWY3DPEHPK3PXP", ""},                // a TOTP secret in clear (base32)
	{"SecondFactorEnrolled", "secretSealed", strings.TrimRight(sig, "="), ""},       // unpadded
	{"SecondFactorEnrolled", "secretSealed", strings.ReplaceAll(sig, "+", "-"), ""}, // base64url
	{"SecondFactorEnrolled", "secretSealed", rep("A", 516), ""},
	{"SecondFactorEnrolled", "secretSealed", "====", ""},
	{"SecondFactorEnrolled", "secretSealed", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBka", ""}, // 27 bytes: shorter than a nonce and a tag

	// SecondFactorReset
	{"SecondFactorReset", "reason", rep("r", 501), ""},
	{"SecondFactorReset", "reason", "a\tb", ""},

	// SignedIn
	{"SignedIn", "sessionId", del, ""},
	{"SignedIn", "sessionId", "S 1", ""},
	{"SignedIn", "sessionHash", del, ""},
	{"SignedIn", "sessionHash", "dgl_secret", ""},
	{"SignedIn", "sessionHash", tokenHash[:63], ""},
	{"SignedIn", "expiresAt", del, ""},
	{"SignedIn", "expiresAt", "1899-12-31T23:59:59Z", ""},
	{"SignedIn", "address", "localhost", ""},
	{"SignedIn", "address", "203.0.113.7:443", ""},
	{"SignedIn", "address", "203.0.113.256", ""},
	{"SignedIn", "address", "fe80::1%eth0", ""},
	{"SignedIn", "address", "203.0.113.0/24", ""},

	// SignInFailed
	{"SignInFailed", "reason", del, ""},
	{"SignInFailed", "reason", "wrong password", ""},
	{"SignInFailed", "reason", "Bad_Password", ""},
	{"SignInFailed", "address", "not an address", ""},

	// SignedOut
	{"SignedOut", "sessionId", del, ""},
	{"SignedOut", "sessionId", "S#1", ""},
	{"SignedOut", "reason", del, ""},
	{"SignedOut", "reason", "timeout", ""},

	// SecondFactorPolicySet
	{"SecondFactorPolicySet", "roles[0]", "root", ""},
	{"SecondFactorPolicySet", "roles[1]", "admin", ""},
	{"SecondFactorPolicySet", "roles[0]", "", ""},
	{"SecondFactorPolicySet", "roles", list(len(events.Roles)+1, func(int) any { return "rep" }), ""},

	// CampaignLaunched
	{"CampaignLaunched", "campaignId", del, ""},
	{"CampaignLaunched", "campaignId", "CMP WED", ""},
	{"CampaignLaunched", "name", del, ""},
	{"CampaignLaunched", "name", rep("n", 201), ""},
	{"CampaignLaunched", "product", del, ""},
	{"CampaignLaunched", "product", "LOAN WED", ""},
	{"CampaignLaunched", "criteria", del, ""},
	{"CampaignLaunched", "criteria", nil, ""},
	{"CampaignLaunched", "criteria.tiers[0]", "gold", ""},
	{"CampaignLaunched", "criteria.tiers[1]", "potential_vip", ""},
	{"CampaignLaunched", "criteria.tiers", []any{"vip", "general", "potential_vip", "vip"}, ""},
	{"CampaignLaunched", "criteria.lifeEvents[0]", "divorce", ""},
	{"CampaignLaunched", "criteria.notHolding[0]", "LOAN WED", ""},
	{"CampaignLaunched", "criteria.notHolding", list(51, func(i int) any { return fmt.Sprint("P", i) }), ""},
	{"CampaignLaunched", "criteria.notHolding", []any{"A", "A"}, "criteria.notHolding[1]"},
	{"CampaignLaunched", "criteria.branchIds[1]", "B01", ""},
	{"CampaignLaunched", "criteria.branchIds", list(201, func(i int) any { return fmt.Sprint("B", i) }), ""},
	{"CampaignLaunched", "channel", del, ""},
	{"CampaignLaunched", "channel", "billboard", ""},
	{"CampaignLaunched", "startsOn", del, ""},
	{"CampaignLaunched", "startsOn", "2027-13-01", ""},
	{"CampaignLaunched", "endsOn", "2027-01-09", ""}, // before startsOn
	{"CampaignLaunched", "endsOn", "someday", ""},
	{"CampaignLaunched", "criteria.lifeEventWithinDays", num("367"), ""},
	{"CampaignLaunched", "criteria.lifeEventWithinDays", num("-1"), ""},
	{"CampaignLaunched", "criteria", map[string]any{"lifeEventWithinDays": 30}, "criteria.lifeEventWithinDays"},
	{"CampaignLaunched", "criteria.minBalance", num("-1"), ""},
	{"CampaignLaunched", "criteria.noContactDays", num("367"), ""},
	{"CampaignLaunched", "criteria.noContactDays", num("-1"), ""},
	{"CampaignLaunched", "holdOutPercent", num("51"), ""},
	{"CampaignLaunched", "holdOutPercent", num("-1"), ""},
	{"CampaignLaunched", "attributionDays", num("366"), ""},
	{"CampaignLaunched", "attributionDays", num("-1"), ""},

	// CampaignAmended
	{"CampaignAmended", "name", del, ""},
	{"CampaignAmended", "name", rep("n", 201), ""},
	{"CampaignAmended", "criteria", del, ""},
	{"CampaignAmended", "criteria", nil, ""},
	{"CampaignAmended", "criteria.tiers[0]", "gold", ""},
	{"CampaignAmended", "criteria.lifeEvents[1]", "child_wedding", ""}, // appears twice
	{"CampaignAmended", "criteria.lifeEventWithinDays", num("367"), ""},
	{"CampaignAmended", "criteria.lifeEvents", []any{}, "criteria.lifeEventWithinDays"}, // an empty list restricts nothing
	{"CampaignAmended", "criteria.branchIds[0]", "B 01", ""},
	{"CampaignAmended", "criteria.minBalance", num("-1"), ""},
	{"CampaignAmended", "endsOn", "2027-02-30", ""},
	{"CampaignAmended", "reason", rep("r", 501), ""},
	{"CampaignAmended", "reason", "a\nb", ""},

	// CampaignClosed
	{"CampaignClosed", "reason", rep("r", 501), ""},
	{"CampaignClosed", "reason", "a\nb", ""},

	// LedgerSealed
	{"LedgerSealed", "fromPosition", del, ""},
	{"LedgerSealed", "fromPosition", num("0"), ""},
	{"LedgerSealed", "fromPosition", "0/0", ""},
	{"LedgerSealed", "toPosition", del, ""},
	{"LedgerSealed", "fromPosition", num("1001"), "toPosition"}, // range ends before it starts
	{"LedgerSealed", "toPosition", "0/5", ""},                   // commit before fromPosition's
	{"LedgerSealed", "count", del, ""},
	{"LedgerSealed", "count", num("0"), ""},
	{"LedgerSealed", "count", num("-1"), ""},
	{"LedgerSealed", "count", num("9007199254740992"), ""},
	{"LedgerSealed", "merkleRoot", del, ""},
	{"LedgerSealed", "merkleRoot", merkle[:62], ""},
	{"LedgerSealed", "merkleRoot", strings.ToUpper(merkle), ""},
	{"LedgerSealed", "prevSealHash", del, ""},
	{"LedgerSealed", "prevSealHash", "0", ""},
	{"LedgerSealed", "signature", "not base64!", ""},
	{"LedgerSealed", "signature", sig[:44], ""},                          // 32 bytes
	{"LedgerSealed", "signature", strings.TrimRight(sig, "="), ""},       // unpadded
	{"LedgerSealed", "signature", strings.ReplaceAll(sig, "+", "-"), ""}, // base64url

	// ScorecardFormPublished
	{"ScorecardFormPublished", "formId", del, ""},
	{"ScorecardFormPublished", "formId", "QA 2026", ""},
	{"ScorecardFormPublished", "version", del, ""},
	{"ScorecardFormPublished", "version", num("0"), ""},
	{"ScorecardFormPublished", "version", num("-1"), ""},
	{"ScorecardFormPublished", "name", del, ""},
	{"ScorecardFormPublished", "name", rep("n", 201), ""},
	{"ScorecardFormPublished", "name", "Call\nquality", ""},
	{"ScorecardFormPublished", "note", rep("n", 2001), ""},
	{"ScorecardFormPublished", "items", del, ""},
	{"ScorecardFormPublished", "items", []any{}, ""},
	{"ScorecardFormPublished", "items", list(51, func(i int) any { return formItem(fmt.Sprint("i", i)) }), ""},
	{"ScorecardFormPublished", "items[0].itemId", del, ""},
	{"ScorecardFormPublished", "items[0].itemId", "greet ing", ""},
	{"ScorecardFormPublished", "items[2].itemId", "greeting", ""}, // appears twice
	{"ScorecardFormPublished", "items[1].label", del, ""},
	{"ScorecardFormPublished", "items[1].label", rep("l", 201), ""},
	{"ScorecardFormPublished", "items[1].label", "a\tb", ""},
	{"ScorecardFormPublished", "items[1].weight", del, ""},
	{"ScorecardFormPublished", "items[1].weight", num("0"), ""},
	{"ScorecardFormPublished", "items[1].weight", num("101"), ""},
	{"ScorecardFormPublished", "items[1].max", del, ""},
	{"ScorecardFormPublished", "items[1].max", num("-1"), ""},
	{"ScorecardFormPublished", "items[1].max", num("101"), ""},
	{"ScorecardFormPublished", "items[2].max", num("2"), ""},              // a critical item is pass or fail
	{"ScorecardFormPublished", "items[0].critical", true, "items[0].max"}, // max 5

	// SamplingPlanPublished
	{"SamplingPlanPublished", "version", del, ""},
	{"SamplingPlanPublished", "version", num("0"), ""},
	{"SamplingPlanPublished", "newRepCalls", num("-1"), ""},
	{"SamplingPlanPublished", "newRepCalls", num("1001"), ""},
	{"SamplingPlanPublished", "perRepWeek", num("-1"), ""},
	{"SamplingPlanPublished", "perRepWeek", num("101"), ""},
	{"SamplingPlanPublished", "longCallSec", num("-1"), ""},
	{"SamplingPlanPublished", "longCallSec", num("59"), ""},
	{"SamplingPlanPublished", "longCallSec", num("86401"), ""},
	{"SamplingPlanPublished", "complaintDays", num("-1"), ""},
	{"SamplingPlanPublished", "complaintDays", num("31"), ""},
	{"SamplingPlanPublished", "note", rep("n", 2001), ""},
	{"SamplingPlanPublished", "note", "bell\u0007", ""},

	// ReviewAcknowledged
	{"ReviewAcknowledged", "evaluation", del, ""},
	{"ReviewAcknowledged", "evaluation", num("0"), ""},
	{"ReviewAcknowledged", "evaluation", num("1001"), ""},
	{"ReviewAcknowledged", "repId", del, ""},
	{"ReviewAcknowledged", "repId", "R 017", ""},
	{"ReviewAcknowledged", "comment", rep("c", 2001), ""},

	// ReviewDisputed
	{"ReviewDisputed", "disputeId", del, ""},
	{"ReviewDisputed", "disputeId", "D 1", ""},
	{"ReviewDisputed", "evaluation", del, ""},
	{"ReviewDisputed", "evaluation", num("-1"), ""},
	{"ReviewDisputed", "evaluation", num("1001"), ""},
	{"ReviewDisputed", "repId", del, ""},
	{"ReviewDisputed", "reason", del, ""},
	{"ReviewDisputed", "reason", " \n ", ""},
	{"ReviewDisputed", "reason", rep("r", 2001), ""},

	// DisputeResolved
	{"DisputeResolved", "disputeId", del, ""},
	{"DisputeResolved", "disputeId", "D/1", ""},
	{"DisputeResolved", "resolverId", del, ""},
	{"DisputeResolved", "resolution", del, ""},
	{"DisputeResolved", "resolution", "overturned", ""},
	{"DisputeResolved", "note", del, ""},
	{"DisputeResolved", "note", rep("n", 2001), ""},
	{"DisputeResolved", "evaluation", del, ""},                // rescored names the new evaluation
	{"DisputeResolved", "evaluation", num("1"), ""},           // the first evaluation supersedes nothing
	{"DisputeResolved", "resolution", "upheld", "evaluation"}, // must be absent when upheld

	// CalibrationOpened
	{"CalibrationOpened", "sessionId", del, ""},
	{"CalibrationOpened", "sessionId", "S 1", ""},
	{"CalibrationOpened", "callId", del, ""},
	{"CalibrationOpened", "formId", del, ""},
	{"CalibrationOpened", "formVersion", del, ""},
	{"CalibrationOpened", "formVersion", num("-1"), ""},
	{"CalibrationOpened", "openerId", del, ""},
	{"CalibrationOpened", "evaluators", del, ""},
	{"CalibrationOpened", "evaluators", []any{}, ""},
	{"CalibrationOpened", "evaluators", []any{"SUP02"}, ""},
	{"CalibrationOpened", "evaluators[2]", "SUP02", ""}, // appears twice
	{"CalibrationOpened", "evaluators[1]", "SUP 03", ""},
	{"CalibrationOpened", "evaluators", list(21, func(i int) any { return fmt.Sprint("S", i) }), ""},
	{"CalibrationOpened", "note", rep("n", 2001), ""},

	// CalibrationScored
	{"CalibrationScored", "sessionId", del, ""},
	{"CalibrationScored", "evaluatorId", del, ""},
	{"CalibrationScored", "evaluatorId", "SUP 03", ""},
	{"CalibrationScored", "items", del, ""},
	{"CalibrationScored", "items", []any{}, ""},
	{"CalibrationScored", "items[0].score", num("6"), ""},
	{"CalibrationScored", "items[1].score", num("1"), ""}, // N/A
	{"CalibrationScored", "items[2].max", num("2"), ""},   // critical
	{"CalibrationScored", "items[2].score", num("1"), "total"},
	{"CalibrationScored", "total", num("5"), ""},

	// CalibrationClosed
	{"CalibrationClosed", "sessionId", del, ""},
	{"CalibrationClosed", "closerId", del, ""},
	{"CalibrationClosed", "closerId", "CH 01", ""},
	{"CalibrationClosed", "note", rep("n", 2001), ""},
}

// TestParseInvalid breaks every rule of every type, one at a time, and
// checks that Parse fails with an Invalid error naming the field.
func TestParseInvalid(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range invalidCases {
		want := tc.field
		if want == "" {
			want = tc.path
		}
		covered[tc.typ] = true
		name := fmt.Sprintf("%s/%s=%.24v", tc.typ, tc.path, tc.val)
		if tc.val == del {
			name = fmt.Sprintf("%s/%s=missing", tc.typ, tc.path)
		}
		t.Run(name, func(t *testing.T) {
			raw := mutate(t, examples[tc.typ], tc.path, tc.val)
			d, err := events.Parse(tc.typ, raw)
			assertInvalid(t, err, want)
			// A missing total is 0, which only the comparison can reject.
			missing := (tc.val == del || tc.val == nil) && tc.path != "total"
			if missing && !strings.Contains(err.Error(), "required") {
				t.Errorf("a missing value is reported as %q, want it to say it is required", err)
			}
			if d != nil {
				t.Errorf("Parse returned data %+v with its error", d)
			}
		})
	}
	for _, typ := range catalogTypes() {
		if !covered[typ] {
			t.Errorf("no invalid case for %s", typ)
		}
	}
}

func assertInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var e *events.Error
	switch {
	case err == nil:
		t.Fatalf("no error, want Invalid naming %q", field)
	case !errors.As(err, &e):
		t.Fatalf("error %v (%T) is not an *events.Error", err, err)
	case events.ErrorCode(err) != events.Invalid:
		t.Fatalf("code %q, want invalid: %v", events.ErrorCode(err), err)
	case e.Field != field:
		t.Fatalf("field %q, want %q: %v", e.Field, field, err)
	case e.Message == "":
		t.Fatalf("empty message for %q", field)
	}
}

// invalidInValue puts an invalid byte into the first string value of ex,
// or into the first string of an array value if ex has no string value.
func invalidInValue(ex string) string {
	if strings.Contains(ex, `":"`) {
		return strings.Replace(ex, `":"`, "\":\"\xff", 1)
	}
	return strings.Replace(ex, `":["`, "\":[\"\xff", 1)
}

// TestParseInvalidBody checks what is wrong with the body as a whole, for
// every type: the error names no field ("" is the body).
func TestParseInvalidBody(t *testing.T) {
	for _, typ := range events.Types() {
		ex := examples[typ]
		for _, tc := range []struct{ name, raw string }{
			{"empty", ""},
			{"white space", " \n "},
			{"not JSON", "channel=branch"},
			{"truncated", ex[:len(ex)-1]},
			{"array", "[" + ex + "]"},
			{"string", `"` + typ + `"`},
			{"number", "42"},
			{"trailing object", ex + ` {}`},
			{"trailing garbage", ex + `x`},
			{"two documents", ex + "\n" + ex},
			{"invalid UTF-8 in a value", invalidInValue(ex)},
			{"invalid UTF-8 in a key", strings.Replace(ex, `{"`, "{\"\xfe", 1)},
			{"UTF-16", "\xff\xfe{\x00}\x00"},
			{"NUL byte", ex + "\x00"},
		} {
			t.Run(typ+"/"+tc.name, func(t *testing.T) {
				_, err := events.Parse(typ, []byte(tc.raw))
				assertInvalid(t, err, "")
			})
		}
	}
}

// TestParseUnknownFields adds a field the catalog does not know, at the top
// level, for every type.
func TestParseUnknownFields(t *testing.T) {
	for _, typ := range events.Types() {
		for _, f := range []string{"zzz", "customer_id", "data"} {
			t.Run(typ+"/"+f, func(t *testing.T) {
				_, err := events.Parse(typ, mutate(t, examples[typ], f, "x"))
				assertInvalid(t, err, f)
			})
		}
	}
	t.Run("unknown type", func(t *testing.T) {
		_, err := events.Parse("CustomerRegisterd", []byte(examples["CustomerRegistered"]))
		assertInvalid(t, err, "type")
	})
}

// strictField is the field Parse reports for a JSON type error at path. It
// is path itself, except where catalog.go's Strict loses precision (see the
// contract issues in docs/events.md, "Error fields"):
//
//   - values decoded by their own UnmarshalJSON (times, positions) are
//     reported without a field;
//   - array indices are dropped ("items[1].score" is "items.score");
//   - a map value is reported as the map ("changes.email" is "changes").
//
// When Strict learns to report exact paths, make this return path.
func strictField(path string) string {
	if timeOrPosition(path) {
		return path // Strict places errors of a value's own UnmarshalJSON
	}
	for _, m := range []string{"changes", "fields"} { // maps (ProfileChanged, ProfileReported): encoding/json names the map
		if strings.HasPrefix(path, m+".") {
			return m
		}
	}
	var b strings.Builder
	depth := 0
	for _, r := range path {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// wrongType returns a JSON value of another type than v.
func wrongType(path string, v any) any {
	switch v.(type) {
	case string:
		if timeOrPosition(path) {
			return true // a position accepts any number string
		}
		return 12345
	case json.Number:
		if timeOrPosition(path) {
			return true // a position accepts any number string
		}
		return "12"
	case bool:
		return "true"
	case []any:
		return map[string]any{}
	default: // objects
		return []any{"x"}
	}
}

// TestParseWrongJSONTypes gives every value of every example (objects,
// arrays and their elements included) a value of another JSON type.
func TestParseWrongJSONTypes(t *testing.T) {
	for _, typ := range events.Types() {
		for _, l := range leaves(generic(t, examples[typ]), "") {
			val := wrongType(l.path, l.val)
			t.Run(fmt.Sprintf("%s/%s=%v", typ, l.path, val), func(t *testing.T) {
				_, err := events.Parse(typ, mutate(t, examples[typ], l.path, val))
				assertInvalid(t, err, strictField(l.path))
			})
		}
	}
	// Numbers that are not int64s are type errors too.
	for _, tc := range []struct{ typ, path, val string }{
		{"ContactLogged", "durationSec", "1.5"},
		{"ContactLogged", "durationSec", "1e3"},
		{"ContactLogged", "durationSec", "99999999999999999999"},
		{"FinancialsReported", "depositBalance", "9223372036854775808"},
		{"FinancialsReported", "depositBalance", "100.00"},
		{"LedgerSealed", "count", "1.0"},
	} {
		t.Run(tc.typ+"/"+tc.path+"="+tc.val, func(t *testing.T) {
			_, err := events.Parse(tc.typ, mutate(t, examples[tc.typ], tc.path, json.Number(tc.val)))
			assertInvalid(t, err, strictField(tc.path))
		})
	}
}

// TestValidateInvalidUTF8 puts invalid UTF-8 into every string field of
// every type through Go (Parse rejects it in the body before any field is
// decoded, see TestParseInvalidBody): Validate must name the field.
func TestValidateInvalidUTF8(t *testing.T) {
	for _, typ := range catalogTypes() {
		var paths []string
		stringFields(reflect.ValueOf(mustParse(t, typ, []byte(examples[typ]))), "", func(p string, _ func(string)) {
			paths = append(paths, p)
		})
		for _, path := range paths {
			t.Run(typ+"/"+path, func(t *testing.T) {
				d := mustParse(t, typ, []byte(examples[typ]))
				stringFields(reflect.ValueOf(d), "", func(p string, set func(string)) {
					if p == path {
						set("ok\xffnot")
					}
				})
				assertInvalid(t, d.Validate(), path)
			})
		}
	}
}

// TestValidateIsIdempotent checks that validating valid data twice changes
// nothing the second time, so NewEvent may validate what Parse validated.
func TestValidateIsIdempotent(t *testing.T) {
	for _, typ := range events.Types() {
		d := mustParse(t, typ, []byte(examples[typ]))
		before, _ := json.Marshal(d)
		if err := d.Validate(); err != nil {
			t.Errorf("%s: second Validate: %v", typ, err)
		}
		if after, _ := json.Marshal(d); !bytes.Equal(before, after) {
			t.Errorf("%s: second Validate changed\n%s\nto\n%s", typ, before, after)
		}
	}
}

// TestDecodeRoundTrip stores each example as an envelope would and reads it
// back with Decode: the same Go value, and the same bytes when re-encoded.
func TestDecodeRoundTrip(t *testing.T) {
	for _, typ := range events.Types() {
		t.Run(typ, func(t *testing.T) {
			want := mustParse(t, typ, []byte(examples[typ]))
			ev, err := events.NewEvent(want, events.Meta{Actor: events.System("test")})
			if err != nil {
				t.Fatal(err)
			}
			env := &events.Envelope{ID: ev.ID, Stream: "test-1", Type: ev.Type, Schema: ev.Schema, Data: ev.Data}
			got, err := events.Decode(env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Decode\n got %#v\nwant %#v", got, want)
			}
			if b, _ := json.Marshal(got); string(b) != examples[typ] {
				t.Errorf("re-encoded\n got %s\nwant %s", b, examples[typ])
			}
		})
	}
	t.Run("unknown type", func(t *testing.T) {
		_, err := events.Decode(&events.Envelope{Type: "Nope", Schema: 1, Data: json.RawMessage(`{}`)})
		if events.ErrorCode(err) != events.NotFound {
			t.Errorf("err = %v, want not_found", err)
		}
	})
	t.Run("undecodable data", func(t *testing.T) {
		_, err := events.Decode(&events.Envelope{Type: "ContactLogged", Schema: 1, Data: json.RawMessage(`{"durationSec":"x"}`)})
		if events.ErrorCode(err) != events.Internal {
			t.Errorf("err = %v, want internal", err)
		}
	})
}

// TestNewEventOccurred checks which types report when they happened:
// exactly the interactions with a customer, ContactLogged and CallRecorded
// (required) and ProfileChanged, ProfileVerified, ProductPitched and
// CustomerRequestNoted (optional, schema 2).
func TestNewEventOccurred(t *testing.T) {
	want := map[string]time.Time{
		"ContactLogged":        time.Date(2026, 11, 25, 0, 30, 0, 0, time.UTC),
		"CallRecorded":         time.Date(2026, 11, 25, 0, 30, 0, 0, time.UTC),
		"ProfileChanged":       time.Date(2026, 11, 24, 5, 0, 0, 0, time.UTC),
		"ProfileVerified":      time.Date(2026, 11, 24, 5, 10, 0, 0, time.UTC),
		"ProductPitched":       time.Date(2026, 11, 25, 0, 35, 0, 0, time.UTC),
		"CustomerRequestNoted": time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC),
	}
	for _, typ := range events.Types() {
		ev, err := events.NewEvent(mustParse(t, typ, []byte(examples[typ])), events.Meta{Actor: events.System("test")})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if !ev.OccurredAt.Equal(want[typ]) {
			t.Errorf("%s: OccurredAt = %v, want %v", typ, ev.OccurredAt, want[typ])
		}
		if ev.Type != typ || ev.Schema != events.Schema(typ) || ev.ID == ([16]byte{}) {
			t.Errorf("%s: event %+v", typ, ev)
		}
	}
	// The time reported is the validated one, in UTC.
	raw := mutate(t, examples["ContactLogged"], "occurredAt", "2026-11-25T09:30:00+09:00")
	ev, err := events.NewEvent(mustParse(t, "ContactLogged", raw), events.Meta{Actor: events.System("test")})
	if err != nil || ev.OccurredAt.Location() != time.UTC || !ev.OccurredAt.Equal(want["ContactLogged"]) {
		t.Errorf("OccurredAt = %v (%v), %v", ev.OccurredAt, ev.OccurredAt.Location(), err)
	}
	// Left out, the optional occurredAt leaves the envelope's unset.
	raw = mutate(t, examples["ProductPitched"], "occurredAt", del)
	ev, err = events.NewEvent(mustParse(t, "ProductPitched", raw), events.Meta{Actor: events.System("test")})
	if err != nil || !ev.OccurredAt.IsZero() || strings.Contains(string(ev.Data), "occurredAt") {
		t.Errorf("without occurredAt: envelope %v, data %s, %v", ev.OccurredAt, ev.Data, err)
	}
}

// TestCheckOccurred checks the bound the API puts on a reported time:
// at most MaxOccurredAhead after the server's clock.
func TestCheckOccurred(t *testing.T) {
	now := time.Date(2026, 11, 25, 0, 35, 0, 0, time.UTC) // the ProductPitched example's occurredAt
	for _, tc := range []struct {
		typ, path string
		at        time.Time
		field     string // "" if it passes
	}{
		{"ProductPitched", "occurredAt", now.Add(-90 * 24 * time.Hour), ""},
		{"ProductPitched", "occurredAt", now.Add(events.MaxOccurredAhead), ""},
		{"ProductPitched", "occurredAt", now.Add(events.MaxOccurredAhead + time.Nanosecond), "occurredAt"},
		{"ContactLogged", "occurredAt", now.AddDate(0, 1, 0), "occurredAt"},
		{"CustomerRequestNoted", "occurredAt", now.Add(time.Hour), "occurredAt"},
		{"CallRecorded", "startedAt", now.Add(time.Hour), "startedAt"},
	} {
		d := mustParse(t, tc.typ, mutate(t, examples[tc.typ], tc.path, tc.at.Format(time.RFC3339Nano)))
		err := events.CheckOccurred(d, now)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s at %v: %v", tc.typ, tc.at, err)
			}
			continue
		}
		assertInvalid(t, err, tc.field)
	}
	// Types that report no time, and an optional time left out, pass.
	for _, d := range []events.Data{
		mustParse(t, "ConsentChanged", []byte(examples["ConsentChanged"])),
		mustParse(t, "ProductPitched", mutate(t, examples["ProductPitched"], "occurredAt", del)),
	} {
		if err := events.CheckOccurred(d, now.AddDate(-10, 0, 0)); err != nil {
			t.Errorf("%T: %v", d, err)
		}
	}
}

// TestNewEventSealsAfterValidating checks the order the encryption layer
// relies on: NewEvent validates the plain values, then seals them, and
// never validates the sealed (opaque, longer) values.
func TestNewEventSealsAfterValidating(t *testing.T) {
	for _, typ := range events.Types() {
		d := mustParse(t, typ, []byte(examples[typ]))
		_, personal := d.(events.Personal)
		sealed := 0
		seal := func(p events.Personal) error {
			p.EachPersonal(func(field string, v *string) {
				if *v != "" {
					*v = "pii:v1:" + strings.Repeat("A", 2500) // beyond every limit
					sealed++
				}
			})
			return nil
		}
		ev, err := events.NewEvent(d, events.Meta{Actor: events.System("test"), Seal: seal})
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if personal != (sealed > 0) {
			t.Errorf("%s: personal %v, sealed %d fields", typ, personal, sealed)
		}
		if n := strings.Count(string(ev.Data), "pii:v1:"); n != sealed {
			t.Errorf("%s: %d sealed values in %s, want %d", typ, n, ev.Data, sealed)
		}
	}
	// Invalid data is never handed to Seal.
	d := mustParse(t, "CustomerRegistered", []byte(examples["CustomerRegistered"])).(*events.CustomerRegistered)
	d.Phone = "not a number"
	_, err := events.NewEvent(d, events.Meta{Actor: events.System("test"), Seal: func(events.Personal) error {
		t.Error("Seal called before validation failed")
		return nil
	}})
	assertInvalid(t, err, "phone")
}

// testUpcastType is a test-only type at schema 2: schema 1 called its
// title "name".
const testUpcastType = "TestUpcastThing"

type testUpcastThing struct {
	Title string `json:"title"`
	Count int    `json:"count"`
}

func (*testUpcastThing) EventType() string { return testUpcastType }

func (d *testUpcastThing) Validate() error {
	d.Title = strings.TrimSpace(d.Title)
	if d.Title == "" {
		return events.InvalidField("title", "is required")
	}
	return nil
}

func init() {
	events.Register(func() events.Data { return new(testUpcastThing) })
	events.RegisterUpcaster(testUpcastType, 1, func(old json.RawMessage) (json.RawMessage, error) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(old, &m); err != nil {
			return nil, err
		}
		m["title"] = m["name"]
		delete(m, "name")
		return json.Marshal(m)
	})
}

func TestUpcaster(t *testing.T) {
	if s := events.Schema(testUpcastType); s != 2 {
		t.Fatalf("Schema = %d, want 2", s)
	}
	want := &testUpcastThing{Title: "hello", Count: 2}
	for _, tc := range []struct {
		schema int
		data   string
	}{
		{1, `{"name":"hello","count":2}`},
		{2, `{"title":"hello","count":2}`},
	} {
		got, err := events.Decode(&events.Envelope{Stream: "test-1", Type: testUpcastType, Schema: tc.schema, Data: json.RawMessage(tc.data)})
		if err != nil {
			t.Fatalf("schema %d: %v", tc.schema, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("schema %d: got %#v, want %#v", tc.schema, got, want)
		}
	}
	ev, err := events.NewEvent(&testUpcastThing{Title: " new ", Count: 1}, events.Meta{Actor: events.System("test")})
	if err != nil || ev.Schema != 2 || string(ev.Data) != `{"title":"new","count":1}` {
		t.Errorf("NewEvent = %+v, %v; want schema 2 and the new shape", ev, err)
	}
	_, err = events.Decode(&events.Envelope{Stream: "test-1", Type: testUpcastType, Schema: 1, Data: json.RawMessage(`[1]`)})
	if events.ErrorCode(err) != events.Internal {
		t.Errorf("a failing upcaster: err = %v, want internal", err)
	}
	_, err = events.Decode(&events.Envelope{Stream: "test-1", Type: testUpcastType, Schema: 0, Data: json.RawMessage(`{}`)})
	if events.ErrorCode(err) != events.Internal {
		t.Errorf("a schema without upcaster: err = %v, want internal", err)
	}
}
