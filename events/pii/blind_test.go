package pii_test

import (
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/dangol/dangol/events/pii"
)

func blindIndex(t testing.TB) pii.BlindIndex {
	t.Helper()
	mk, err := pii.NewMasterKey(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return pii.NewBlindIndex(mk)
}

// sameTerms reports whether a and b hold the same terms in any order.
func sameTerms(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

func TestBlindIndexNames(t *testing.T) {
	b := blindIndex(t)
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{"Kim Minjun", "kim minjun", true},
		{"Kim Minjun", "  KIM\t\u3000 MINJUN ", true}, // an ideographic space is whitespace too
		{"Straße Jo", "STRASSE JO", true},             // full case folding
		{"김민준", "김민준", true},
		{"김민준", "\u1100\u1175\u11b7\u1106\u1175\u11ab\u110c\u116e\u11ab", true}, // the same name in decomposed jamo (NFD)
		{"Kim Minjun", "Kim Minjung", false},
		{"김민준", "김민정", false},
	} {
		if got := sameTerms(b.Terms("name", tc.a), b.Terms("name", tc.b)); got != tc.same {
			t.Errorf("Terms(name, %q) and Terms(name, %q): same = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
	// The whole name and each part of two characters or more, once each.
	kim := b.Terms("name", "Kim Minjun")
	if len(kim) != 3 || !slices.Contains(kim, b.Terms("name", "kim")[0]) || !slices.Contains(kim, b.Terms("name", "MINJUN")[0]) ||
		!slices.Contains(kim, b.Terms("name", "kimminjun")[0]) {
		t.Errorf("Terms(name, Kim Minjun) = %v: want the whole name and both parts", kim)
	}
	if got := b.Terms("name", "김민준"); len(got) != 1 {
		t.Errorf("a one-part name has one term (whole = part), got %v", got)
	}
	if got := b.Terms("name", "Lee J Park"); len(got) != 3 { // "leejpark", "lee", "park"; "j" is too short
		t.Errorf("Terms(name, Lee J Park) = %d terms, want 3", len(got))
	}
	for _, term := range kim {
		if !strings.HasPrefix(term, pii.TermName+":") || strings.Contains(strings.ToLower(term), "kim") {
			t.Errorf("term %q: want name:<tag> without the name", term)
		}
	}
	for _, v := range []string{"", "   ", pii.Erased} {
		if got := b.Terms("name", v); got != nil {
			t.Errorf("Terms(name, %q) = %v, want nil", v, got)
		}
	}
	if got := b.Terms("email", "kim@example.com"); got != nil {
		t.Errorf("Terms(email) = %v, want nil: only names and phones are indexed", got)
	}
}

func TestBlindIndexPhones(t *testing.T) {
	b := blindIndex(t)
	want := b.Terms("phone", "01055501234")
	if len(want) != 2 || !strings.HasPrefix(want[0], pii.TermPhone+":") || !strings.HasPrefix(want[1], pii.TermPhone4+":") {
		t.Fatalf("Terms(phone) = %v: want the whole number and its last four digits", want)
	}
	for _, v := range []string{"+82 10-5550-1234", "010 5550 1234", "010-5550-1234", "(010) 5550.1234", "+82-010-5550-1234",
		"０１０-５５５０-１２３４"} {
		if got := b.Terms("phone", v); !slices.Equal(got, want) {
			t.Errorf("Terms(phone, %q) = %v, want %v (the same number)", v, got, want)
		}
	}
	other := b.Terms("phone", "010-5551-1234")
	if other[0] == want[0] || other[1] != want[1] {
		t.Errorf("another number with the same last four digits: %v vs %v; want another whole, the same last four", other, want)
	}
	if got := b.Terms("phone", "123"); len(got) != 1 {
		t.Errorf("Terms(phone, 123) = %v: under four digits there is no last-four term", got)
	}
	for _, v := range []string{"", "n/a", pii.Erased} {
		if got := b.Terms("phone", v); got != nil {
			t.Errorf("Terms(phone, %q) = %v, want nil", v, got)
		}
	}
	// A name of digits is not a phone number.
	if n, p := b.Terms("name", "1234"), b.Terms("phone", "1234"); n[0] == p[0] || n[0] == p[1] {
		t.Errorf("name 1234 and phone 1234 share a term: %v %v", n, p)
	}
	for _, c := range []struct{ in, want string }{
		{"+82 10-5550-1234", "01055501234"}, {"+82 2 123 4567", "021234567"}, {"+82 010 5550 1234", "01055501234"},
		{"82 10 5550 1234", "821055501234"}, {"+1 555 0100", "15550100"}, {"+82", "0"},
	} {
		if got := pii.PhoneDigits(c.in); got != c.want {
			t.Errorf("PhoneDigits(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestBlindIndexQuery(t *testing.T) {
	b := blindIndex(t)
	phone := b.Terms("phone", "010-5550-1234")
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"+82 10-5550-1234", phone[:1]},
		{"01055501234", phone[:1]},
		{"5550-1234", []string{b.Terms("phone", "55501234")[0]}}, // seven digits or more: a whole number
		{"1234", phone[1:]},
		{" 1234 ", phone[1:]},
		{"12345", []string{}}, // neither a whole number nor a last four
		{"12", []string{}},
		{"Kim Minjun", b.Terms("name", "kim minjun")},
		{"김민준", b.Terms("name", "김민준")},
		{"kim 1234", b.Terms("name", "kim 1234")}, // letters make it a name
		{"  ", []string{}},
		{"-", []string{}},
	} {
		got := b.Query(c.q)
		if got == nil || !sameTerms(got, c.want) {
			t.Errorf("Query(%q) = %v, want %v", c.q, got, c.want)
		}
	}
}

func TestBlindIndexKeys(t *testing.T) {
	a, b := blindIndex(t), blindIndex(t)
	for _, v := range [][2]string{{"name", "Kim Minjun"}, {"phone", "010-5550-1234"}} {
		ta, tb := a.Terms(v[0], v[1]), b.Terms(v[0], v[1])
		for _, x := range ta {
			if slices.Contains(tb, x) {
				t.Errorf("two master keys give the same term %s for %s", x, v[0])
			}
		}
	}
	// The same master key gives the same terms: the index survives a restart.
	raw := randomKey(t)
	k1, _ := pii.NewMasterKey(raw)
	k2, _ := pii.NewMasterKey(raw)
	if x, y := pii.NewBlindIndex(k1).Terms("name", "Kim"), pii.NewBlindIndex(k2).Terms("name", "Kim"); !slices.Equal(x, y) {
		t.Errorf("the same master key gave %v and %v", x, y)
	}
	// The zero index has no key and finds nothing.
	var zero pii.BlindIndex
	if got := zero.Terms("name", "Kim"); got != nil {
		t.Errorf("zero BlindIndex Terms = %v", got)
	}
	if got := zero.Query("Kim"); got == nil || len(got) != 0 {
		t.Errorf("zero BlindIndex Query = %v, want empty", got)
	}
}

func TestBlindIndexPrintsNoKey(t *testing.T) {
	b := blindIndex(t)
	for _, verb := range []string{"%v", "%+v", "%#v", "%x", "%X", "%d", "%s", "%q"} {
		if got := fmt.Sprintf(verb, b); got != "blind index" {
			t.Errorf("Sprintf(%s) = %q, want \"blind index\"", verb, got)
		}
	}
	if got := fmt.Sprint([]pii.BlindIndex{b}); got != "[blind index]" {
		t.Errorf("in a slice: %q", got)
	}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "index", b)
	if !strings.Contains(logged.String(), `index="blind index"`) {
		t.Errorf("logged: %q", logged.String())
	}
}

func BenchmarkBlindIndexTerms(b *testing.B) {
	idx := blindIndex(b)
	for b.Loop() {
		idx.Terms("name", "Kim Minjun")
		idx.Terms("phone", "010-5550-1234")
	}
}
