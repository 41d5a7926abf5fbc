package projections_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// searchBank folds n registrations into a Memory with the search index:
// a fifth of the customers are Kims (as in Korea), given names from a
// list of 200, random mobile numbers.
func searchBank(tb testing.TB, n int) *projections.Memory {
	tb.Helper()
	m := projections.NewMemory(projections.WithSearchIndex(projectionstest.SearchIndex()))
	rng := rand.New(rand.NewPCG(1, 2))
	surnames := []string{"Kim", "Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon", "Jang"}
	for i := range n {
		id := fmt.Sprintf("C%07d", i)
		name := fmt.Sprintf("%s Given%03d", surnames[rng.IntN(len(surnames))], rng.IntN(200))
		phone := fmt.Sprintf("010-%04d-%04d", rng.IntN(10000), rng.IntN(10000))
		applyData(tb, m, events.CustomerStream(id), uint64(i), &events.CustomerRegistered{CustomerID: id, Name: name, Phone: phone,
			BranchID: "B01", Source: events.Source{System: "core"}})
	}
	return m
}

func applyData(tb testing.TB, m *projections.Memory, stream string, seq uint64, d events.Data) {
	tb.Helper()
	env := &events.Envelope{ID: events.NewID(), Stream: stream, Position: events.At(seq + 1), RecordedAt: projectionstest.T0}
	for _, p := range m.Projections() {
		p.Apply(projections.Event{Envelope: env, Data: d})
	}
}

// TestSearchCommonSurname: a surname a fifth of the bank shares finds at
// most the limit, by id, and the whole name comes first.
func TestSearchCommonSurname(t *testing.T) {
	m := searchBank(t, 5000)
	now := projectionstest.T0.Add(time.Hour)
	got, err := m.FindCustomers(t.Context(), projectionstest.SearchQuery("kim"), 0, now)
	if err != nil || len(got) != projections.DefaultSearchLimit {
		t.Fatalf("FindCustomers(kim) = %d customers, %v; want %d", len(got), err, projections.DefaultSearchLimit)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].ID >= got[i].ID {
			t.Fatalf("equal matches not in id order: %s, %s", got[i-1].ID, got[i].ID)
		}
	}
	whole := got[len(got)-1].Name
	best, err := m.FindCustomers(t.Context(), projectionstest.SearchQuery(whole), 500, now)
	if err != nil || len(best) == 0 || best[0].Name != whole {
		t.Fatalf("FindCustomers(%s) = %+v, %v; want a %s first", whole, best[:min(3, len(best))], err, whole)
	}
	for i, c := range best {
		if (c.Name == whole) != (i < countName(best, whole)) {
			t.Fatalf("FindCustomers(%s): %s at %d, after a customer matching fewer terms", whole, c.Name, i)
		}
	}
}

func countName(cs []projections.CustomerSummary, name string) int {
	n := 0
	for _, c := range cs {
		if c.Name == name {
			n++
		}
	}
	return n
}

// BenchmarkSearchFind: lookups in a bank of 100,000 customers, by a
// surname a fifth of them share, by a whole name, and by phone.
func BenchmarkSearchFind(b *testing.B) {
	m := searchBank(b, 100_000)
	now := projectionstest.T0
	for _, q := range []string{"kim", "Kim Given007", "010-1234-5678", "5678"} {
		terms := projectionstest.SearchQuery(q)
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				if _, err := m.FindCustomers(b.Context(), terms, 20, now); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSearchApply: the cost the index adds to folding a registration
// (its terms: three of the name, two of the phone).
func BenchmarkSearchApply(b *testing.B) {
	for _, index := range []bool{false, true} {
		b.Run(fmt.Sprintf("index=%v", index), func(b *testing.B) {
			var opts []projections.MemoryOption
			if index {
				opts = append(opts, projections.WithSearchIndex(projectionstest.SearchIndex()))
			}
			m := projections.NewMemory(opts...)
			i := 0
			for b.Loop() {
				id := fmt.Sprintf("C%07d", i)
				applyData(b, m, events.CustomerStream(id), uint64(i), &events.CustomerRegistered{CustomerID: id, Name: "Kim Given" + id,
					Phone: "010-5550-" + id[4:], BranchID: "B01", Source: events.Source{System: "core"}})
				i++
			}
		})
	}
}
