package console

import (
	"bytes"
	"html/template"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
)

// fieldCache keeps the rendered HTML of the inputs of the customer page's
// forms that are the same on every page of a kind and language: an input
// without a message whose value is empty, or, for a select or checkboxes,
// one of its fixed choices (the outbound call, every field of the
// refresh). html/template spends most of the page's time reflecting over
// these; a typed value (a name, a time) is rendered each time, so what is
// kept is bounded by the forms' inputs and choices, and capped besides.
type fieldCache struct {
	m sync.Map     // key → template.HTML
	n atomic.Int64 // entries, against fieldCacheMax
}

// fieldCacheMax caps the entries: the combinations of checked boxes a user
// may send back are many, and after an error they are rendered anyway.
const fieldCacheMax = 4096

// fieldKey is the key of input in of form f as its values stand, or ""
// if that rendering is not one to keep.
func fieldKey(f *form, in *input) string {
	if f.msgs[in.name] != "" || in.kind == inChoice { // its choices differ from customer to customer
		return ""
	}
	var b strings.Builder
	b.WriteString(f.Kind)
	b.WriteByte(0)
	b.WriteString(f.lang)
	b.WriteByte(0)
	b.WriteString(in.name)
	b.WriteByte(0)
	if in.kind == inSelect || in.kind == inChecks {
		// The template shows which choices are selected, not the value.
		chosen := f.vals[in.name]
		for _, v := range in.values {
			sel := byte('0')
			if slices.Contains(chosen, v) {
				sel = '1'
			}
			b.WriteByte(sel)
		}
		return b.String()
	}
	if f.vals.Get(in.name) != "" {
		return ""
	}
	return b.String()
}

// kept returns the HTML kept for key, if any.
func (fc *fieldCache) kept(key string) (template.HTML, bool) {
	if fc == nil || key == "" {
		return "", false
	}
	h, ok := fc.m.Load(key)
	if !ok {
		return "", false
	}
	return h.(template.HTML), true
}

// field renders fl, an input kept() had not, with the page's "cust_field"
// template (in the same context the page calls it) and keeps it as key.
func (fc *fieldCache) field(t *template.Template, key string, fl field) (template.HTML, bool) {
	if fc == nil || t == nil || key == "" {
		return "", false
	}
	if fc.n.Load() >= fieldCacheMax {
		return "", false
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "cust_field", fl); err != nil {
		return "", false // the page renders it itself, and reports the error
	}
	h := template.HTML(buf.String())
	if _, loaded := fc.m.LoadOrStore(key, h); !loaded {
		fc.n.Add(1)
	}
	return h, true
}
