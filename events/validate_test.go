package events

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// The patterns ValidStream, ValidID and validType replaced: the language
// each must accept, exactly.
var (
	streamRe = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}(-[A-Za-z0-9][A-Za-z0-9._:-]{0,127})?$`)
	idRe     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
	typeRe   = regexp.MustCompile(`^[A-Z][A-Za-z0-9]{0,63}$`)
)

// nameCheckers pairs each hand-written checker with its pattern.
var nameCheckers = []struct {
	name string
	fn   func(string) bool
	re   *regexp.Regexp
}{
	{"ValidStream", ValidStream, streamRe},
	{"ValidID", ValidID, idRe},
	{"validType", validType, typeRe},
}

// nameSeeds are edge cases of the three languages: empty parts, each
// length limit and one past it, every punctuation byte in each place,
// bytes beyond ASCII, a trailing newline (which '$' does not accept).
func nameSeeds() []string {
	seeds := []string{
		"", "-", "a", "A", "0", "_", ".", ":", "a-", "-a", "a--", "a-b", "a-B", "a-0", "a-_", "a-.", "a-:",
		"a-b-c", "a-b.c:d_e", "a_b-c", "a_-b", "ab9_-X", "9a", "_a", "A-b", "ledger", "customer-C1",
		"customer-01J8ZQ4S3M9T7V2X5Y6Z8A0B1C", "call-x:y.z", "ContactLogged", "Contact-Logged",
		"contactLogged", "C0", "a\n", "a-b\n", "\na", "a b", "a-b c", "a\x00", "é", "a-é", "ÉA", "a-b\xff",
		"customer-", "customer--x", "customer-x-", "x.y", "a:b", "1-2", "Z", "Z_", "z_",
	}
	for _, n := range []int{31, 32, 33, 63, 64, 65, 127, 128, 129} {
		seeds = append(seeds,
			strings.Repeat("a", n), "a"+strings.Repeat("_", n), strings.Repeat("A", n),
			"A"+strings.Repeat("b", n), "a-"+strings.Repeat("b", n), "a-b"+strings.Repeat(".", n),
			strings.Repeat("c", n)+"-d", "x-"+strings.Repeat("-", n), "9"+strings.Repeat("-", n))
	}
	return seeds
}

// TestNameCheckersMatchPatterns compares each checker with its pattern
// over the seeds and over random strings from an alphabet of every byte
// class the patterns distinguish, of lengths around their limits.
func TestNameCheckersMatchPatterns(t *testing.T) {
	corpus := nameSeeds()
	const alphabet = "azAZ09_-.:/ \n\x00\xc3\xa9\xff+"
	r := rand.New(rand.NewPCG(14, 15))
	var b []byte
	for range 200000 {
		b = b[:0]
		n := r.IntN(200)
		if r.IntN(4) == 0 {
			n = r.IntN(6)
		}
		for range n {
			if r.IntN(3) == 0 {
				b = append(b, alphabet[r.IntN(len(alphabet))])
			} else { // mostly the bytes the patterns accept, so that long matches occur
				b = append(b, "abcdz019AQZ_-"[r.IntN(13)])
			}
		}
		corpus = append(corpus, string(b))
	}
	accepted := make([]int, len(nameCheckers))
	for _, s := range corpus {
		for i, c := range nameCheckers {
			got, want := c.fn(s), c.re.MatchString(s)
			if got != want {
				t.Fatalf("%s(%q) = %v, the pattern %s says %v", c.name, s, got, c.re, want)
			}
			if got {
				accepted[i]++
			}
		}
	}
	for i, c := range nameCheckers {
		if accepted[i] < 100 { // the corpus must exercise both answers
			t.Errorf("%s accepted only %d of %d strings", c.name, accepted[i], len(corpus))
		}
	}
}

// FuzzNameCheckers: go test -fuzz FuzzNameCheckers ./events looks for a
// string on which a checker and its pattern disagree.
func FuzzNameCheckers(f *testing.F) {
	for _, s := range nameSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, c := range nameCheckers {
			if got, want := c.fn(s), c.re.MatchString(s); got != want {
				t.Fatalf("%s(%q) = %v, the pattern %s says %v", c.name, s, got, c.re, want)
			}
		}
	})
}

// BenchmarkValidStream measures the check every append makes of its stream name.
func BenchmarkValidStream(b *testing.B) {
	for b.Loop() {
		if !ValidStream("customer-01J8ZQ4S3M9T7V2X5Y6Z8A0B1C") {
			b.Fatal("refused")
		}
	}
}
