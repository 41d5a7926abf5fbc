package console

import (
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// form is one write form of the customer page as rendered: the user's
// values (or the defaults), the messages next to its inputs, and, after a
// conflict, what changed since it was opened.
type form struct {
	spec     *formSpec
	Kind     string
	N        int    // its place on the page from 1, the key that opens it (customer.js)
	Action   string // the console route it posts to
	Key      string // the Idempotency-Key of this rendering (kept across re-renders after an error)
	Version  uint64 // If-Match: the version the form was opened at
	Open     bool   // shown open: it was submitted and needs the user again
	Err      string // a message for the form as a whole
	Conflict *conflict
	// Saved says that this form's key was already saved (a double submit
	// of a changed form): the new form has a new key.
	Saved bool
	vals  url.Values
	msgs  map[string]string // input name → translated message
	// choices are the choices of its inputs that have them (input.choices):
	// they depend on the customer and the moment (formChoices).
	choices map[string][]option
	lang    string
	cat     *catalogs
	// fields and tmpl keep the inputs rendered the same on every page
	// (fieldcache.go); nil renders each one with the page.
	fields *fieldCache
	tmpl   *template.Template
}

func (c *Console) newForm(spec *formSpec, id, lang, key string, version uint64, vals url.Values) *form {
	return &form{spec: spec, Kind: spec.kind, Action: "/customers/" + id + "/" + spec.path, Key: key, Version: version,
		vals: vals, msgs: map[string]string{}, lang: lang, cat: c.cat, fields: &c.fields, tmpl: c.pages.byName["customer"]}
}

// Title is the form's heading.
func (f *form) Title() string { return f.cat.text(f.lang, "cust.form."+f.Kind) }

// Tab is its short name, on the strip of forms.
func (f *form) Tab() string { return f.cat.text(f.lang, "cust.tab."+f.Kind) }

// Submit is the label of its button.
func (f *form) Submit() string { return f.cat.text(f.lang, "cust.form."+f.Kind+".submit") }

// ID is the element id of the form.
func (f *form) ID() string { return "form-" + f.Kind }

// Attention reports whether the form came back for the user to look at:
// a message, a conflict, or a notice that it was saved already.
func (f *form) Attention() bool {
	return len(f.msgs) > 0 || f.Err != "" || f.Conflict != nil || f.Saved
}

// hidden is a hidden input.
type hidden struct{ Name, Value string }

// Hidden are the form's hidden inputs besides the CSRF token.
func (f *form) Hidden() []hidden {
	h := []hidden{{keyField, f.Key}, {versionField, strconv.FormatUint(f.Version, 10)}}
	for k, v := range f.vals {
		if (strings.HasPrefix(k, wasPrefix) || strings.HasPrefix(k, defaultPrefix)) && len(v) > 0 {
			h = append(h, hidden{k, v[0]})
		}
	}
	slices.SortFunc(h, func(a, b hidden) int { return strings.Compare(a.Name, b.Name) })
	return h
}

// field is one input as the template shows it.
type field struct {
	ID, Name, Label, Hint, Value, Msg string
	Kind                              string // text, textarea, select, checks, date, datetime-local, number
	Required                          bool
	Choose                            string // a select's empty choice
	Options                           []option
	// HTML is the input already rendered (fieldcache.go); the template
	// shows it as it is instead of rendering the rest.
	HTML template.HTML
}

// Described is the ids that describe the input (its hint and message).
func (f field) Described() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Msg != "" {
		ids = append(ids, f.ID+"-msg")
	}
	return strings.Join(ids, " ")
}

type option struct {
	Value, Label string
	Selected     bool
}

var kindNames = map[inputKind]string{inText: "text", inTextarea: "textarea", inSelect: "select", inChecks: "checks",
	inDate: "date", inDateTime: "datetime-local", inNumber: "number", inChoice: "select"}

// Fields are the form's inputs, in order.
func (f *form) Fields() []field {
	out := make([]field, 0, len(f.spec.inputs))
	for i := range f.spec.inputs {
		in := &f.spec.inputs[i]
		key := ""
		if f.fields != nil {
			key = fieldKey(f, in)
		}
		if h, ok := f.fields.kept(key); ok {
			out = append(out, field{HTML: h})
			continue
		}
		fl := field{ID: f.Kind + "-" + in.name, Name: in.name, Label: f.cat.text(f.lang, labelKey(f.Kind, in.name)),
			Value: f.vals.Get(in.name), Msg: f.msgs[in.name], Kind: kindNames[in.kind], Required: in.required}
		if hk := hintKey(f.Kind, in.name); f.cat.has(f.lang, hk) {
			fl.Hint = f.cat.text(f.lang, hk)
		} else if in.kind == inDateTime {
			fl.Hint = f.cat.text(f.lang, "cust.hint.now") // left as it is, the time of saving (submittedTime)
		}
		if in.kind == inChoice {
			fl.Choose = f.cat.text(f.lang, "cust.choose")
			fl.Options = f.choicesOf(in)
		} else if in.kind == inSelect || in.kind == inChecks {
			fl.Choose = f.cat.text(f.lang, "cust.choose")
			chosen := f.vals[in.name]
			for _, v := range in.values {
				fl.Options = append(fl.Options, option{Value: v, Label: f.cat.text(f.lang, in.enum+v), Selected: slices.Contains(chosen, v)})
			}
		}
		if h, ok := f.fields.field(f.tmpl, key, fl); ok {
			fl = field{HTML: h}
		}
		out = append(out, fl)
	}
	return out
}

// choicesOf are input in's choices with the chosen one selected; a value
// chosen that is no longer a choice (the campaign closed since the page)
// stays, by its value, so that the user sees what they sent.
func (f *form) choicesOf(in *input) []option {
	chosen := f.vals.Get(in.name)
	var out []option
	found := chosen == ""
	for _, o := range f.choices[in.choices] {
		o.Selected = o.Value == chosen
		found = found || o.Selected
		out = append(out, o)
	}
	if !found {
		out = append(out, option{Value: chosen, Label: chosen, Selected: true})
	}
	return out
}

// labelKey and hintKey are the catalog keys of an input's label and
// (optional) hint.
func labelKey(kind, name string) string { return "cust.form." + kind + "." + name }
func hintKey(kind, name string) string  { return "cust.hint." + kind + "." + name }

// setError puts the translated message of err next to the input it names
// (or on the form if it names none of them).
func (f *form) setError(err error) {
	msg := f.cat.errorText(f.lang, f.localArgs(err))
	var ee *events.Error
	if asEventsError(err, &ee) && ee.Field != "" {
		if in := f.spec.inputFor(ee.Field); in != "" {
			f.msgs[in] = msg
			return
		}
		// A field the console names itself (a time, a duration).
		for _, i := range f.spec.inputs {
			if i.name == ee.Field {
				f.msgs[i.name] = msg
				return
			}
		}
	}
	f.Err = msg
}

// consentRefusal is the pitch's refusal naming the consent channel it
// needs (api/pitches.go); the form names the channel as the page does.
const consentRefusal = "needs the customer's marketing consent by %s"

// localArgs returns err with the times and durations its message shows as
// the page shows them: an RFC 3339 time (the server's clock of "must not
// be in the future", in UTC) in KST, a duration in minutes, the consent
// channel of consentRefusal by its name; err itself if it has none.
func (f *form) localArgs(err error) error {
	var ee *events.Error
	if !asEventsError(err, &ee) || len(ee.Args) == 0 {
		return err
	}
	args := slices.Clone(ee.Args)
	changed := false
	for i, a := range args {
		switch v := a.(type) {
		case time.Duration:
			args[i], changed = f.cat.text(f.lang, "cust.minutes", minutes(int(v/time.Second))), true
		case string:
			if t, perr := time.Parse(time.RFC3339Nano, v); perr == nil {
				args[i], changed = formatTime(t)+" KST", true
			} else if ee.Template == consentRefusal && slices.Contains(events.ConsentChannels, v) {
				args[i], changed = f.cat.text(f.lang, "cust.consentChannel."+v), true // "by SMS", not "by sms"
			}
		}
	}
	if !changed {
		return err
	}
	local := *ee
	local.Args = args
	return &local
}
