package api_test

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"golang.org/x/crypto/argon2"

	"github.com/dangol/dangol/events"
)

// What the browser tests start from: members with a password, and a rep's
// book of customers with a reason each to be called.

// testPassword is every browser test member's password (the console wants
// at least 12 characters).
const testPassword = "correct horse battery"

// givePassword gives staff member id the password pw as a completed setup
// would leave it (PasswordSet with an argon2id verifier, appended to the
// member's stream as the member), so that tests other than the first
// sign-in's start at the sign-in form. The verifier has the lowest cost:
// the console checks a hash at the cost the hash records.
func (s *stack) givePassword(id, role, pw string) {
	s.t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		s.t.Fatal(err)
	}
	const memKiB, passes, lanes = 64, 1, 1
	sum := argon2.IDKey([]byte(pw), salt, passes, memKiB, lanes, 32)
	phc := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, memKiB, passes, lanes,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
	ev, err := events.NewEvent(&events.PasswordSet{PasswordHash: phc}, events.Meta{Actor: events.Actor{ID: id, Role: role}, CorrelationID: events.NewID().String()})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.store.Append(s.t.Context(), events.StaffStream(id), events.StreamExists, ev); err != nil {
		s.t.Fatalf("password of %s: %v", id, err)
	}
	s.awaitApplied()
}

// bookCustomer is a customer of the seeded book.
type bookCustomer struct {
	id, name string
	reason   string // the worklist reason it has besides no_recent_contact (every new customer has that), or ""
	dnc      bool   // do not contact: no marketing consent on any channel
}

// seedBook registers customers in branch B001 and assigns them to rep R1:
// one with a life event coming, one with a pitch follow-up due, two with
// only no contact yet, of whom one gave no marketing consent (do not
// contact). It returns them.
func (s *stack) seedBook() []bookCustomer {
	s.t.Helper()
	book := []bookCustomer{
		{"C101", "김민준", "life_event_soon", false},
		{"C102", "이서연", "pitch_follow_up_due", false},
		{"C103", "박지훈", "", false},
		{"C104", "최수아", "", true},
	}
	soon := s.now().AddDate(0, 0, 10).Format(time.DateOnly)
	today := s.now().Format(time.DateOnly)
	for _, c := range book {
		s.must("R1", "POST", "/v1/customers", withField(newCustomer(c.id), "name", c.name), 201)
		s.must("S1", "POST", "/v1/customers/"+c.id+"/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
		if !c.dnc {
			s.must("R1", "POST", "/v1/customers/"+c.id+"/consents", map[string]any{"channel": "phone", "purpose": "marketing", "granted": true}, 201)
		}
		switch c.reason {
		case "life_event_soon":
			s.must("R1", "POST", "/v1/customers/"+c.id+"/life-events", map[string]any{"kind": "child_wedding", "expectedOn": soon, "note": "딸 결혼"}, 201)
		case "pitch_follow_up_due":
			s.must("R1", "POST", "/v1/customers/"+c.id+"/pitches", map[string]any{"product": "FUND01", "channel": "phone_outbound",
				"outcome": "considering", "followUpOn": today, "reason": "만기 자금 운용"}, 201)
		}
	}
	s.awaitApplied()
	return book
}
