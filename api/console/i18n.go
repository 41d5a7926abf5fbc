package console

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Languages are the console's languages, the first the default.
var Languages = []string{"ko", "en"}

// langCookie remembers the language a person chose with the switch; without
// it, Accept-Language decides.
const langCookie = "dangol_lang"

// catalog is one language's messages: key → text, the text a
// fmt.Sprintf format when the message takes arguments.
type catalog map[string]string

type catalogs map[string]catalog

// mustCatalogs loads every locales/<lang>/*.json of every language (one
// file per part of the console); a key in two files of a language is a
// build defect.
func mustCatalogs() *catalogs {
	cs := catalogs{}
	for _, lang := range Languages {
		files, err := fs.Glob(assets, "locales/"+lang+"/*.json")
		if err != nil || len(files) == 0 {
			panic("console: no catalog for " + lang)
		}
		c := catalog{}
		for _, f := range files {
			b, err := assets.ReadFile(f)
			if err != nil {
				panic("console: catalog " + f + ": " + err.Error())
			}
			var part catalog
			if err := json.Unmarshal(b, &part); err != nil {
				panic("console: catalog " + f + ": " + err.Error())
			}
			for k, v := range part {
				if _, dup := c[k]; dup {
					panic("console: catalog " + f + ": key " + k + " is also in another file")
				}
				c[k] = v
			}
		}
		cs[lang] = c
	}
	return &cs
}

// text returns the message key in lang, formatted with args. A key missing
// from the catalog shows as the key itself (a test keeps both catalogs
// complete), never as an empty string.
func (cs *catalogs) text(lang, key string, args ...any) string {
	msg, ok := (*cs)[lang][key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// has reports whether lang's catalog holds key.
func (cs *catalogs) has(lang, key string) bool {
	_, ok := (*cs)[lang][key]
	return ok
}

// language picks the language of r: the switch's cookie, then the first
// supported language of Accept-Language by quality, then Korean.
func language(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && slices.Contains(Languages, c.Value) {
		return c.Value
	}
	best, bestQ := Languages[0], -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if slices.Contains(Languages, base) && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}

// kst is Korea Standard Time: the bank's people read times in it; the log
// stores UTC.
var kst = time.FixedZone("KST", 9*60*60)

// formatTime shows t in KST to the minute ("2026-11-25 18:00"), "" for zero.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(kst).Format("2006-01-02 15:04")
}

// formatDate shows t's KST date.
func formatDate(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(kst).Format(time.DateOnly)
}

// formatWon shows an amount in won as ₩1,234,567 (negative: -₩1,234).
func formatWon(n int64) string {
	if n < 0 {
		return "-₩" + groupDigits(strconv.FormatUint(uint64(-n), 10))
	}
	return "₩" + groupDigits(strconv.FormatUint(uint64(n), 10))
}

// groupDigits puts a comma between each three digits of the decimal
// digits s, from the right ("1234567" → "1,234,567"), as both Korean and
// English write numbers.
func groupDigits(s string) string {
	var b strings.Builder
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// grouped is an integer a message shows with thousands separators
// ("2,000자", as the forms' hints write it) where its format says %d or %v;
// any other verb (%04X) formats the plain integer.
type grouped int64

// Format implements fmt.Formatter.
func (n grouped) Format(f fmt.State, verb rune) {
	if verb != 'd' && verb != 'v' {
		fmt.Fprintf(f, fmt.FormatString(f, verb), int64(n))
		return
	}
	s := strconv.FormatInt(int64(n), 10)
	if n < 0 {
		s = "-" + groupDigits(s[1:])
	} else {
		s = groupDigits(s)
	}
	if w, ok := f.Width(); ok && len(s) < w { // a width pads, as for a plain %5d
		pad := strings.Repeat(" ", w-len(s))
		if f.Flag('-') {
			s += pad
		} else {
			s = pad + s
		}
	}
	_, _ = io.WriteString(f, s)
}

// groupArgs returns the arguments of a validation message with its
// integers grouped, except in a message about years (1900, not 1,900).
func groupArgs(template string, args []any) []any {
	if strings.Contains(template, "year") {
		return args
	}
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			out[i] = grouped(v)
		case int32:
			out[i] = grouped(v)
		case int64:
			out[i] = grouped(v)
		case uint:
			out[i] = grouped(v)
		case uint32:
			out[i] = grouped(v)
		default:
			out[i] = a
		}
	}
	return out
}

// errorText translates err for a person: an Invalid error by its template
// ("invalid." + template in the catalog, formatted with its arguments),
// any other by its code; the API's English message when the catalog has
// no entry.
func (cs *catalogs) errorText(lang string, err error) string {
	var ee *events.Error
	if !asEventsError(err, &ee) {
		return cs.text(lang, "error.internal")
	}
	if ee.Code == events.Invalid && ee.Template != "" {
		if key := "invalid." + ee.Template; cs.has(lang, key) {
			return cs.text(lang, key, groupArgs(ee.Template, ee.Args)...)
		}
	}
	if key := "error." + ee.Code; ee.Code != events.Invalid && cs.has(lang, key) {
		return cs.text(lang, key)
	}
	return ee.Message
}
