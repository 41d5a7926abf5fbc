package api_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/api"
)

// roleStaff is the staff member the matrix uses for each role.
var roleStaff = []struct{ role, id string }{
	{"rep", "R1"}, {"private_banker", "P1"}, {"supervisor", "S1"}, {"centre_head", "H1"}, {"auditor", "U1"}, {"admin", "A001"},
	{"marketer", "M1"},
}

// roleMatrix is who may call each route, written out from shared/API.md
// (and docs/api.md for the additions), not taken from the code. The
// requests are built so that an allowed role is answered by the handler
// without appending anything (a bad body, an unknown entity, not a
// WebSocket handshake) and without any 403 but the role check's.
var roleMatrix = []struct {
	method, template, path string
	body                   any
	allowed                string
}{
	{"POST", "/v1/customers", "/v1/customers", "{}", "rep private_banker admin"},
	{"POST", "/v1/customers/{id}/profile", "/v1/customers/C1/profile", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/verifications", "/v1/customers/C1/verifications", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/consents", "/v1/customers/C1/consents", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/life-events", "/v1/customers/C1/life-events", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/contacts", "/v1/customers/C1/contacts", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/pitches", "/v1/customers/C1/pitches", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/requests", "/v1/customers/C1/requests", "{}", "rep private_banker"},
	{"POST", "/v1/customers/{id}/assignment", "/v1/customers/C1/assignment", "{}", "supervisor centre_head admin"},
	{"POST", "/v1/customers/{id}/erasure", "/v1/customers/C1/erasure", "{}", "admin"},
	{"POST", "/v1/customers/{id}/merges", "/v1/customers/C1/merges", "{}", "centre_head"}, // no mergedId: 400
	{"GET", "/v1/duplicates", "/v1/duplicates", nil, "centre_head"},
	{"GET", "/v1/duplicates/withheld", "/v1/duplicates/withheld", nil, "centre_head"},
	{"PUT", "/v1/recordings", "/v1/recordings", "{}", "rep private_banker admin"}, // JSON is not audio: 400
	{"POST", "/v1/calls", "/v1/calls", "{}", "rep private_banker admin"},
	{"POST", "/v1/calls/{id}/selection", "/v1/calls/NOCALL/selection", "{}", "supervisor"},
	{"POST", "/v1/calls/{id}/reviews", "/v1/calls/NOCALL/reviews", "{}", "supervisor"},
	{"POST", "/v1/calls/{id}/evaluations/{n}/acknowledgement", "/v1/calls/NOCALL/evaluations/1/acknowledgement", "{}", "rep private_banker"},
	{"POST", "/v1/calls/{id}/evaluations/{n}/dispute", "/v1/calls/NOCALL/evaluations/1/dispute", "{}", "rep private_banker"},
	{"POST", "/v1/qa/disputes/{id}/resolution", "/v1/qa/disputes/NODISPUTE/resolution", "{}", "supervisor"},
	{"POST", "/v1/coaching/{pointId}/acknowledgement", "/v1/coaching/NOPOINT/acknowledgement", "{}", "rep private_banker"},
	{"POST", "/v1/coaching/{pointId}/follow-up", "/v1/coaching/NOPOINT/follow-up", "{}", "centre_head"},
	{"POST", "/v1/staff", "/v1/staff", "{}", "admin"},
	{"POST", "/v1/staff/{id}/tokens", "/v1/staff/NOSTAFF/tokens", "{}", "admin"},
	{"DELETE", "/v1/staff/{id}/tokens/{tokenId}", "/v1/staff/R1/tokens/NOTOKEN", nil, "admin"},
	{"POST", "/v1/staff/{id}/setup-codes", "/v1/staff/NOSTAFF/setup-codes", "{}", "admin"},
	{"POST", "/v1/staff/{id}/deactivation", "/v1/staff/NOSTAFF/deactivation", "{}", "admin"},
	{"POST", "/v1/staff/{id}/second-factor/reset", "/v1/staff/NOSTAFF/second-factor/reset", "{}", "admin"},
	{"PUT", "/v1/signin-policy", "/v1/signin-policy", `{"roles":["nobody"]}`, "admin"}, // not a role: 400
	{"PUT", "/v1/qa/forms/{id}", "/v1/qa/forms/F1", "{}", "supervisor centre_head"},    // no name: 400
	{"GET", "/v1/qa/forms", "/v1/qa/forms", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/qa/forms/{id}", "/v1/qa/forms/NOFORM", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/customers/{id}", "/v1/customers/C1", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/customers/{id}/timeline", "/v1/customers/C1/timeline", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/customers", "/v1/customers", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/search/customers", "/v1/search/customers", nil, "rep private_banker supervisor centre_head auditor"}, // no q: 400
	{"GET", "/v1/worklist", "/v1/worklist", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/calls/{id}", "/v1/calls/K1", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/recordings/{sha256}", "/v1/recordings/", nil, "rep private_banker supervisor centre_head auditor"}, // digest appended
	{"GET", "/v1/qa/queue", "/v1/qa/queue", nil, "supervisor centre_head auditor"},
	{"GET", "/v1/qa/evaluations", "/v1/qa/evaluations", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/qa/disputes", "/v1/qa/disputes", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/qa/sampling-plan", "/v1/qa/sampling-plan", nil, "supervisor centre_head auditor"},
	{"PUT", "/v1/qa/sampling-plan", "/v1/qa/sampling-plan", "{}", "supervisor centre_head"}, // no rules: 400
	{"GET", "/v1/qa/calibrations", "/v1/qa/calibrations", nil, "supervisor centre_head auditor"},
	{"POST", "/v1/qa/calibrations", "/v1/qa/calibrations", "{}", "supervisor centre_head"}, // no call: 400
	{"GET", "/v1/qa/calibrations/{id}", "/v1/qa/calibrations/NOSESSION", nil, "supervisor centre_head auditor"},
	{"POST", "/v1/qa/calibrations/{id}/scores", "/v1/qa/calibrations/NOSESSION/scores", "{}", "supervisor centre_head"},
	{"POST", "/v1/qa/calibrations/{id}/closure", "/v1/qa/calibrations/NOSESSION/closure", "{}", "supervisor centre_head"},
	{"GET", "/v1/coaching", "/v1/coaching", nil, "rep private_banker supervisor centre_head auditor"},
	{"GET", "/v1/reports/{name}", "/v1/reports/tiers", nil, "supervisor centre_head auditor"},
	{"GET", "/v1/reports/tier-migration", "/v1/reports/tier-migration", nil, "supervisor centre_head auditor marketer"},
	{"GET", "/v1/reports/campaigns/{id}", "/v1/reports/campaigns/NOCAMPAIGN", nil, "centre_head marketer auditor"},
	{"POST", "/v1/campaigns", "/v1/campaigns", "{}", "centre_head marketer"},                 // no criteria: 400
	{"POST", "/v1/campaigns/preview", "/v1/campaigns/preview", "{}", "centre_head marketer"}, // no criteria: 400
	{"POST", "/v1/campaigns/{id}/amendments", "/v1/campaigns/NOCAMPAIGN/amendments", "{}", "centre_head marketer"},
	{"POST", "/v1/campaigns/{id}/closure", "/v1/campaigns/NOCAMPAIGN/closure", "{}", "centre_head marketer"},
	{"GET", "/v1/campaigns", "/v1/campaigns", nil, "rep private_banker supervisor centre_head auditor marketer"},
	{"GET", "/v1/campaigns/{id}", "/v1/campaigns/NOCAMPAIGN", nil, "rep private_banker supervisor centre_head auditor marketer"},
	{"GET", "/v1/campaigns/{id}/targets", "/v1/campaigns/NOCAMPAIGN/targets", nil, "rep private_banker centre_head auditor marketer"},
	{"GET", "/v1/audit/streams/{stream}", "/v1/audit/streams/customer-C1", nil, "auditor"},
	{"GET", "/v1/audit/log", "/v1/audit/log", nil, "auditor"},
	{"GET", "/v1/audit/verify", "/v1/audit/verify", nil, "auditor"},
	{"GET", "/v1/audit/seals", "/v1/audit/seals", nil, "auditor"},
	{"GET", "/v1/audit/seals/latest", "/v1/audit/seals/latest", nil, "auditor"},
	{"GET", "/v1/audit/proofs/inclusion", "/v1/audit/proofs/inclusion", nil, "auditor"},     // no position: 400
	{"GET", "/v1/audit/proofs/consistency", "/v1/audit/proofs/consistency", nil, "auditor"}, // no from_seal: 400
	{"GET", "/v1/audit/export", "/v1/audit/export", nil, "auditor"},
	{"GET", "/v1/audit/export/manifest", "/v1/audit/export/manifest", nil, "auditor"},
	{"GET", "/v1/audit/access", "/v1/audit/access", nil, "auditor"},                                 // no month: 400, nothing flushed
	{"GET", "/v1/audit/access/check", "/v1/audit/access/check", nil, "auditor"},                     // no month: 400
	{"POST", "/v1/audit/access/check/sign-off", "/v1/audit/access/check/sign-off", "{}", "auditor"}, // no month: 400
	{"GET", "/v1/audit/key", "/v1/audit/key", nil, "rep private_banker supervisor centre_head auditor admin marketer none"},
	{"GET", "/v1/live", "/v1/live", nil, "rep private_banker supervisor centre_head auditor"}, // not a handshake: 400
	{"GET", "/v1/openapi.json", "/v1/openapi.json", nil, "rep private_banker supervisor centre_head auditor admin marketer none"},
}

// TestRoleMatrix: every route × every role is allowed or 403 as the
// contract says, and every route refuses a missing, malformed, unknown,
// forged, revoked or expired token with 401; nothing of it appends.
func TestRoleMatrix(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	digest := s.upload("R1", []byte("RIFF-matrix-audio"))
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", digest, 17), 201)
	s.waitUntil("the sampler selects K1", func() bool {
		return len(s.must("S1", "GET", "/v1/qa/queue", nil, 200)["items"].([]any)) == 1
	})

	// The matrix covers exactly the documented operations (which api's
	// tests tie to the registered routes).
	pathOf := func(p string) string {
		if strings.HasSuffix(p, "/") {
			return p + digest
		}
		return p
	}
	var covered []string
	for _, r := range roleMatrix {
		covered = append(covered, r.method+" "+r.template)
		if tmpl := s.doc.template(pathOf(r.path)); tmpl != r.template {
			t.Errorf("%s %s matches %q, want %s", r.method, r.path, tmpl, r.template)
		}
	}
	slices.Sort(covered)
	if ops := s.doc.operations(); !slices.Equal(covered, ops) {
		t.Fatalf("the matrix covers %v,\nthe server documents %v", covered, ops)
	}

	// Tokens that must not work: revoked, expired (issued with a 1ms TTL
	// before the start), unknown, forged (a real id with another secret).
	revoked := s.must("A001", "POST", "/v1/staff/R2/tokens", nil, 201)
	s.tok["revoked"] = revoked["token"].(string)
	s.must("revoked", "GET", "/v1/worklist", nil, 200)
	s.must("A001", "DELETE", "/v1/staff/R2/tokens/"+revoked["tokenId"].(string), nil, 201)
	unknown := api.NewToken().Secret
	forged := s.tok["R1"][:len(s.tok["R1"])-4] + "AAAA"
	if forged == s.tok["R1"] {
		forged = s.tok["R1"][:len(s.tok["R1"])-4] + "BBBB"
	}
	bad := map[string]string{
		"no token":      "",
		"not bearer":    "raw:Basic " + s.tok["A001"],
		"malformed":     "raw:Bearer not-a-token",
		"empty bearer":  "raw:Bearer ",
		"unknown token": "raw:Bearer " + unknown,
		"forged token":  "raw:Bearer " + forged,
		"revoked token": "revoked",
		"expired token": "expired",
	}

	head := s.head()
	for _, r := range roleMatrix {
		path := pathOf(r.path)
		for _, rs := range roleStaff {
			a := s.req(rs.id, r.method, path, r.body)
			allowed := strings.Contains(" "+r.allowed+" ", " "+rs.role+" ")
			switch {
			case allowed && (a.status == 401 || a.status == 403):
				t.Errorf("%s %s as %s: %d %s, want allowed", r.method, path, rs.role, a.status, a.raw)
			case !allowed && (a.status != 403 || a.errCode() != "forbidden"):
				t.Errorf("%s %s as %s: %d %s, want 403 forbidden", r.method, path, rs.role, a.status, a.raw)
			}
		}
		for name, who := range bad {
			a := s.req(who, r.method, path, r.body)
			if r.template == "/v1/openapi.json" || r.template == "/v1/audit/key" {
				if a.status != 200 {
					t.Errorf("%s with %s: %d, want 200", r.template, name, a.status)
				}
				continue
			}
			if a.status != 401 || a.errCode() != "unauthenticated" || a.header.Get("Content-Type") != "application/json" {
				t.Errorf("%s %s with %s: %d %s, want 401 unauthenticated", r.method, path, name, a.status, a.raw)
			}
		}
	}
	if evs := s.appendedSince(head); len(evs) != 0 {
		t.Fatalf("the role matrix appended %d events, e.g. %v", len(evs), evs[0])
	}

	// The browser form of the token is for the live feed's handshake only
	// (TestLiveRefusals opens one with it): a URL leaks through proxies,
	// history and Referer.
	if a := s.req("", "GET", "/v1/customers/C1?access_token="+s.tok["R1"], nil); a.status != 401 || a.errCode() != "unauthenticated" {
		t.Fatalf("access_token on a read: %d %s", a.status, a.raw)
	}
	// Another rep may not acknowledge a point about R1 (the point's rep, not the role).
	s.publishForm()
	s.must("S1", "POST", "/v1/calls/K1/reviews", newReview("greeting"), 201)
	pt := s.must("R1", "GET", "/v1/coaching", nil, 200)["items"].([]any)[0].(map[string]any)["id"].(string)
	for _, who := range []string{"R2", "P1"} {
		if a := s.req(who, "POST", "/v1/coaching/"+pt+"/acknowledgement", map[string]any{}); a.status != 403 || a.errCode() != "forbidden" {
			t.Errorf("%s acknowledged R1's point: %d %s", who, a.status, a.raw)
		}
	}
	s.must("R1", "POST", "/v1/coaching/"+pt+"/acknowledgement", map[string]any{}, 201)
}
