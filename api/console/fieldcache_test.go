package console

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
)

// TestFieldCacheSameHTML renders every form of the customer page, in every
// language, with the inputs kept by fieldCache and without it, and wants
// the same bytes: new forms with their defaults, a "Record an outcome"
// pitch, and a form come back with a message, a typed value and a choice
// off the defaults. The kept rendering is used the second time.
func TestFieldCacheSameHTML(t *testing.T) {
	c := New(Config{Secret: make([]byte, 32)})
	now := eventstest.Epoch
	v := &projections.CustomerView{ID: events.NewID().String(), Version: 7, Name: "김<민>준", Phone: "010-1234-5678",
		BirthDate: "1980-02-03", Email: "a&b@example.com"}
	product := events.NewID().String()
	render := func(lang string, cached bool, vary func(*form)) string {
		var forms []*form
		for i, spec := range formSpecs {
			q := url.Values{"product": {product}}
			f := c.newForm(spec, v.ID, lang, "01KEYKEYKEYKEYKEYKEYKEYKEY", v.Version, spec.defaults(v, now, q))
			f.N = i + 1
			if vary != nil {
				vary(f)
			}
			if !cached {
				f.fields = nil
			}
			forms = append(forms, f)
		}
		var buf bytes.Buffer
		vw := view{Lang: lang, CSRF: "tok<&>", Now: now, Data: &customerPage{Forms: forms, CanWrite: true}, c: c}
		if err := c.pages.byName["customer"].ExecuteTemplate(&buf, "cust_forms", vw); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	varied := func(f *form) {
		for _, in := range f.spec.inputs {
			switch in.kind {
			case inSelect, inChecks:
				f.vals[in.name] = []string{in.values[len(in.values)-1]}
			case inText:
				f.vals.Set(in.name, "typed <b>")
			}
		}
		f.msgs[f.spec.inputs[0].name] = "a message & more"
	}
	for _, lang := range Languages {
		for name, vary := range map[string]func(*form){"defaults": nil, "varied": varied} {
			want := render(lang, false, vary)
			for round := range 2 {
				before := c.fields.n.Load()
				if got := render(lang, true, vary); got != want {
					t.Fatalf("%s %s round %d: kept inputs change the HTML\n got: %s\nwant: %s", lang, name, round, diffAt(got, want), diffAt(want, got))
				}
				if round == 1 && c.fields.n.Load() != before {
					t.Errorf("%s %s: the second rendering kept new inputs (%d → %d): the keys change between pages", lang, name, before, c.fields.n.Load())
				}
			}
		}
	}
	if c.fields.n.Load() == 0 {
		t.Fatal("no input was kept")
	}
}

// diffAt is the text around the first byte where a and b differ.
func diffAt(a, b string) string {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return a[max(0, i-200):min(len(a), i+200)]
}
