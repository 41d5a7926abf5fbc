package console

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// The message catalogs: every visible string of the console is in both
// languages, and every validation message the API can answer has its
// translation, so that a person reads the reason next to the field in
// their own language.

// TestCatalogsMatch: each catalog file of one language has a file of the
// same name in the other with exactly the same keys, and no message is
// empty.
func TestCatalogsMatch(t *testing.T) {
	files := map[string]map[string]map[string]string{} // lang → file → key → text
	for _, lang := range Languages {
		names, err := fs.Glob(assets, "locales/"+lang+"/*.json")
		if err != nil || len(names) == 0 {
			t.Fatalf("no catalog for %s: %v", lang, err)
		}
		files[lang] = map[string]map[string]string{}
		for _, n := range names {
			b, err := assets.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]string
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatalf("%s: %v", n, err)
			}
			files[lang][path.Base(n)] = m
		}
	}
	for _, a := range Languages {
		for _, b := range Languages {
			if a == b {
				continue
			}
			for name, keys := range files[a] {
				other, ok := files[b][name]
				if !ok {
					t.Errorf("locales/%s/%s has no counterpart locales/%s/%s", a, name, b, name)
					continue
				}
				for k, v := range keys {
					if _, ok := other[k]; !ok {
						t.Errorf("%q of locales/%s/%s is missing from locales/%s/%s", k, a, name, b, name)
					}
					if strings.TrimSpace(v) == "" {
						t.Errorf("%q of locales/%s/%s is empty", k, a, name)
					}
				}
			}
		}
	}
}

// TestCatalogsTranslateValidation: every format string the validation of
// events, api and the console passes to check.fail or InvalidField (read
// from the Go sources with go/parser) has its "invalid." entry in both
// catalogs, and each translation takes the template's arguments (same
// number and kinds of verbs: formatting never shows %!).
func TestCatalogsTranslateValidation(t *testing.T) {
	templates := validationTemplates(t, "../../events", "../../api", "../../projections")
	if len(templates) < 50 {
		t.Fatalf("found only %d validation templates: is the parser looking in the right place?", len(templates))
	}
	cs := mustCatalogs()
	for _, tmpl := range templates {
		args := sampleArgs(tmpl)
		for _, lang := range Languages {
			key := "invalid." + tmpl
			msg, ok := (*cs)[lang][key]
			if !ok {
				t.Errorf("%s: no translation of %q (add %q to locales/%s/invalid.json)", lang, tmpl, key, lang)
				continue
			}
			if out := fmt.Sprintf(msg, args...); strings.Contains(out, "%!") {
				t.Errorf("%s: %q formats %q with the template's arguments %v", lang, msg, out, args)
			}
		}
	}
}

// validationTemplates collects the format literals of the calls of fail
// and InvalidField in the non-test Go files under dirs.
func validationTemplates(t *testing.T, dirs ...string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok || len(call.Args) < 2 {
					return true
				}
				var name string
				switch fn := call.Fun.(type) {
				case *ast.SelectorExpr:
					name = fn.Sel.Name
				case *ast.Ident:
					name = fn.Name
				}
				if name != "fail" && name != "InvalidField" {
					return true
				}
				// Only literals are templates: the helpers that pass a
				// format on (check.fail to InvalidField) are not.
				if lit, ok := call.Args[1].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					if s, err := strconv.Unquote(lit.Value); err == nil {
						seen[s] = true
					}
				}
				return true
			})
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

var verbRe = regexp.MustCompile(`%[-+# 0]*[0-9]*(?:\.[0-9]+)?([a-zA-Z%])`)

// sampleArgs returns an argument of the right kind for each verb of tmpl.
func sampleArgs(tmpl string) []any {
	var args []any
	for _, m := range verbRe.FindAllStringSubmatch(tmpl, -1) {
		switch m[1] {
		case "%":
		case "d", "x", "X", "o", "b", "c", "U":
			args = append(args, 7)
		case "f", "g", "e":
			args = append(args, 7.5)
		default:
			args = append(args, "x")
		}
	}
	return args
}

var tKeyRe = regexp.MustCompile(`\bT\s+"([^"]+)"`)

// TestCatalogsHaveTemplateKeys: every .T "key" literal of the templates is
// in both catalogs.
func TestCatalogsHaveTemplateKeys(t *testing.T) {
	cs := mustCatalogs()
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil || len(names) == 0 {
		t.Fatal("no templates", err)
	}
	n := 0
	for _, name := range names {
		b, err := assets.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range tKeyRe.FindAllStringSubmatch(string(b), -1) {
			n++
			for _, lang := range Languages {
				if !cs.has(lang, m[1]) {
					t.Errorf("%s: %q is not in the %s catalog", name, m[1], lang)
				}
			}
		}
	}
	if n < 50 {
		t.Fatalf("found only %d keys in the templates: is the pattern right?", n)
	}
}

// TestCatalogsHaveCustomerKeys: the keys the customer page makes in Go or
// with print (a form's title, submit, saved notice and labels; the label of
// each value of an enumeration it shows; each event type of a timeline)
// are in both catalogs.
func TestCatalogsHaveCustomerKeys(t *testing.T) {
	cs := mustCatalogs()
	var keys []string
	for _, f := range formSpecs {
		keys = append(keys, "cust.form."+f.kind, "cust.form."+f.kind+".submit", "cust.saved."+f.kind, "cust.type."+f.event)
		for _, in := range f.inputs {
			keys = append(keys, labelKey(f.kind, in.name))
			for _, v := range in.values {
				keys = append(keys, in.enum+v)
			}
		}
	}
	enums := map[string][]string{
		"cust.channel.": events.Channels, "cust.purpose.": events.ContactPurposes, "cust.outcome.": events.PitchOutcomes,
		"cust.lifeEvent.": events.LifeEventKinds, "cust.consentChannel.": events.ConsentChannels,
		"cust.consentPurpose.": events.ConsentPurposes, "cust.profileField.": events.ProfileFields, "cust.tier.": events.Tiers,
		"cust.advisorKind.": events.AdvisorKinds, "cust.direction.": events.CallDirections, "cust.holding.": events.HoldingChanges,
		"cust.granted.": grantedValues,
		"cust.type.": {"CustomerRegistered", "ProfileChanged", "ProfileVerified", "ConsentChanged", "LifeEventRecorded",
			"FinancialsReported", "TierAssigned", "AdvisorAssigned", "ProductHoldingChanged", "ContactLogged", "ProductPitched",
			"CustomerRequestNoted", "PersonalDataErased", "CallRecorded"},
	}
	for prefix, values := range enums {
		for _, v := range values {
			keys = append(keys, prefix+v)
		}
	}
	for _, k := range keys {
		for _, lang := range Languages {
			if !cs.has(lang, k) {
				t.Errorf("%q is not in the %s catalog", k, lang)
			}
		}
	}
}

// TestFormInputsMapAPIFields: an API error naming a body field lands on the
// input that filled it.
func TestFormInputsMapAPIFields(t *testing.T) {
	for _, tc := range []struct{ kind, field, input string }{
		{"contact", "durationSec", "durationMin"}, {"contact", "summary", "summary"}, {"contact", "occurredAt", "occurredAt"},
		{"profile", "changes.phone", "phone"}, {"profile", "changes", ""}, {"profile", "source", "source"},
		{"verification", "fields[1]", "fields"}, {"consent", "granted", "granted"}, {"request", "text", "text"},
		{"pitch", "If-Match", ""}, {"lifeEvent", "", ""},
	} {
		if got := formSpecOf(tc.kind).inputFor(tc.field); got != tc.input {
			t.Errorf("%s: %q goes to input %q, want %q", tc.kind, tc.field, got, tc.input)
		}
	}
}
