package projections

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// crowd is the size of the crowded group: 10,000 customers sharing one
// phone and birth date (a shared line, or a placeholder not recognised).
const crowd = 10_000

// dupFold applies one event of customer id's stream to m.
func dupFold(m *Memory, id string, v uint64, d events.Data) {
	e := Event{Envelope: &events.Envelope{Stream: events.CustomerStream(id), Version: v, Type: d.EventType(),
		RecordedAt: time.Date(2030, 3, 4, 9, 0, 0, 0, time.UTC)}, Data: d}
	for _, p := range m.Projections() {
		p.Apply(e)
	}
}

func dupRegister(m *Memory, id, phone, birth string) {
	dupFold(m, id, 0, &events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, Phone: phone, BirthDate: birth,
		BranchID: "B01", Source: events.Source{System: "core"}})
}

// TestDuplicatesCrowdedGroup: 10,000 customers sharing a phone and a birth
// date, and 10,000 sharing the placeholder 010-0000-0000 and a birth date,
// list no pair and cost the list no comparison (it made and compared
// n·(n-1)/2 pairs: 50 million), while three real duplicates are listed
// (3 compared); growing the crowded group changes nothing a read store
// must rewrite; shrunk to MaxDuplicateGroup, its pairs are listed again.
func TestDuplicatesCrowdedGroup(t *testing.T) {
	m := NewMemory()
	for _, id := range []string{"G1", "G2", "G3"} {
		dupRegister(m, id, "+82 10-7777-1235", "1990-01-02")
	}
	for i := range crowd {
		dupRegister(m, fmt.Sprintf("K%05d", i), "010-5550-1234", "1980-05-17")
		dupRegister(m, fmt.Sprintf("P%05d", i), "010-0000-0000", "1980-05-17")
	}
	pairs, compared := m.Dups.pairs()
	if got := pairIDs(pairs); !slices.Equal(got, []string{"G1+G2", "G1+G3", "G2+G3"}) || compared != 3 {
		t.Fatalf("%d pairs (first %v), %d compared; want the three of G1-G3, 3 compared", len(pairs), got[:min(5, len(got))], compared)
	}
	if n := len(m.Dups.keyOf); n != crowd+3 {
		t.Fatalf("%d customers filed under a key, want %d: the placeholder phone's under none", n, crowd+3)
	}

	m.Dups.TakeChanged()
	dupRegister(m, "K99999", "010 5550 1234", "1980-05-17")
	if m.Dups.TakeChanged() {
		t.Fatal("a customer joining the crowded group changed the list: a read store would rewrite it for nothing")
	}

	// The crowded group shrinks to the cap: each but the last
	// MaxDuplicateGroup moves to a phone of their own.
	keep := crowd + 1 - MaxDuplicateGroup
	for i := range keep {
		dupFold(m, fmt.Sprintf("K%05d", i), 1, &events.ProfileChanged{
			Changes: map[string]string{"phone": fmt.Sprintf("010-6%03d-%04d", i/10000, i%10000)}, Source: "branch"})
		if i == keep-2 && m.Dups.TakeChanged() {
			t.Fatal("the group above the cap changed the list")
		}
	}
	if !m.Dups.TakeChanged() {
		t.Fatal("the group down to the cap did not change the list")
	}
	pairs, compared = m.Dups.pairs()
	want := 3 + MaxDuplicateGroup*(MaxDuplicateGroup-1)/2
	if len(pairs) != want || compared != want {
		t.Fatalf("%d pairs, %d compared; want %d of each", len(pairs), compared, want)
	}
	for _, p := range pairs[3:] { // after the G pairs
		if p.CustomerIDs[0] < fmt.Sprintf("K%05d", keep) || p.CustomerIDs[0] >= p.CustomerIDs[1] {
			t.Fatalf("pair %v is not of the group's last %d customers, in id order", p.CustomerIDs, MaxDuplicateGroup)
		}
	}
}

func pairIDs(pairs []DuplicatePair) []string {
	out := make([]string, len(pairs))
	for i, p := range pairs {
		out[i] = p.CustomerIDs[0] + "+" + p.CustomerIDs[1]
	}
	return out
}

func TestPlaceholderPhone(t *testing.T) {
	for phone, want := range map[string]bool{
		"01000000000": true, "01011111111": true, "00000000000": true, "020000000": true, "0101234": false,
		"010123": true, "01012345678": false, "01055501234": false, "0107777777": true, "021234567": false,
	} {
		if got := PlaceholderPhone(phone); got != want {
			t.Errorf("PlaceholderPhone(%q) = %v, want %v", phone, got, want)
		}
	}
}
