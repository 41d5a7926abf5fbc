package api_test

import (
	"bytes"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestReviewPitchStaleCampaign: a campaign closed in the log while the
// read side still shows it running takes no pitch for it: the pitch is
// checked against the campaign as the log has it (the read side caught
// up), refused, and nothing is appended. The customer stream's expected
// version guards consent, not the campaign's stream.
func TestReviewPitchStaleCampaign(t *testing.T) {
	lag := &staleCustomers{views: map[string]projections.CustomerView{}, campaigns: map[string]projections.Campaign{}}
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		lag.Queries = c.Queries
		c.Queries = lag
	}})
	s.campaignBook(bookEntry{"C1", "R1", true})
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	running, err := lag.Queries.Campaign(t.Context(), "CMP1", s.now())
	if err != nil {
		t.Fatal(err)
	}
	s.must("H1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "예산 소진"}, 201)
	lag.mu.Lock()
	lag.campaigns["CMP1"] = running
	lag.mu.Unlock()
	head := s.head()
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C1/pitches",
		pitch("LOAN-WED", "phone_outbound", "campaignId", "CMP1"), 400, "invalid"), "campaignId", "not running")
	if h := s.head(); h != head {
		t.Errorf("a pitch for a closed campaign appended %v", s.appendedSince(head))
	}
}

// TestReviewPitchRetryAfterWithdrawal: a marketing pitch appended with an
// Idempotency-Key and retried after the customer withdrew consent gets the
// first answer (the pitch is in the log, made under the consent then in
// force), not a refusal the caller would read as "not recorded"; nothing
// more is appended. A new request (another key) is refused.
func TestReviewPitchRetryAfterWithdrawal(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true})
	path := "/v1/customers/C1/pitches"
	body := pitch("FUND01", "phone_outbound", "purpose", "marketing")
	key := events.NewID().String()
	first := s.req("R1", "POST", path, body, "Idempotency-Key", key)
	if first.status != 201 {
		t.Fatalf("the pitch: %d %s", first.status, first.raw)
	}
	s.grant("R1", "C1", "phone", false)
	head := s.head()
	if again := s.req("R1", "POST", path, body, "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("the pitch retried after the withdrawal: %d %s, first %s", again.status, again.raw, first.raw)
	}
	refusedOn(t, s.refuse("R1", "POST", path, body, 400, "invalid", "Idempotency-Key", events.NewID().String()),
		"channel", "do-not-contact")
	if h := s.head(); h != head {
		t.Errorf("appended %v", s.appendedSince(head))
	}
}
