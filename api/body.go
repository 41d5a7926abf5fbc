package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/dangol/dangol/events"
)

// readBody reads a JSON body of at most MaxBodyBytes and decodes it
// strictly into v: the Content-Type must be application/json (or absent),
// the body a JSON object of valid Unicode, with no unknown field, wrong
// type or trailing data. Every failure is Invalid and names the field where
// it can. The bytes read stay on r (see requestBody) for the fingerprint
// that binds an Idempotency-Key to its request.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, v any) error {
	if err := checkJSONType(r.Header.Get("Content-Type")); err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errTooLarge
		}
		return events.InvalidField("body", "could not read the request body")
	}
	r.Body = &readBytes{Reader: bytes.NewReader(body), b: body}
	// encoding/json takes null for an empty object; no endpoint means that.
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return events.InvalidField("", "the body must be a JSON object")
	}
	if err := events.Strict(body, v); err != nil {
		return err
	}
	// encoding/json takes the last of two equal keys, and matches keys to
	// fields without regard to case: {"month": a, "Month": b} would be
	// read as b, whatever a proxy, a log or a reviewer took it for.
	if field, dup := duplicateKey(body); dup {
		return events.InvalidField(field, "is given twice (keys are compared without regard to case)")
	}
	// encoding/json turns an unpaired surrogate escape into U+FFFD without
	// a word: the stored text would differ from what the client sent.
	if field, bad := loneSurrogate(body); bad {
		return events.InvalidField(field, `holds an unpaired UTF-16 surrogate escape (\ud800-\udfff); send valid Unicode`)
	}
	return nil
}

// duplicateKey reports the path of the first key of raw (JSON that
// encoding/json accepted) that repeats an earlier key of its object, as
// encoding/json compares keys with fields: case-folded.
func duplicateKey(raw []byte) (path string, found bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var walk func(at string) bool // false: stop (found, or malformed)
	walk = func(at string) bool {
		t, err := dec.Token()
		if err != nil {
			return false
		}
		switch t {
		case json.Delim('{'):
			keys := map[string]bool{}
			for dec.More() {
				kt, err := dec.Token()
				k, ok := kt.(string)
				if err != nil || !ok {
					return false
				}
				p := at // a key that may be anything is not echoed
				if events.ValidID(k) {
					p = join(at, k)
				}
				f := foldKey(k)
				if keys[f] {
					path, found = p, true
					return false
				}
				keys[f] = true
				if !walk(p) {
					return false
				}
			}
			_, err = dec.Token()
			return err == nil
		case json.Delim('['):
			for i := 0; dec.More(); i++ {
				if !walk(at + "[" + strconv.Itoa(i) + "]") {
					return false
				}
			}
			_, err = dec.Token()
			return err == nil
		}
		return true
	}
	walk("")
	return path, found
}

// foldKey maps each rune of k to the least of its case-folding orbit, so
// that two keys are equal exactly when strings.EqualFold says so.
func foldKey(k string) string {
	return strings.Map(func(r rune) rune {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		return least
	}, k)
}

// readBytes is a request body already read by readBody.
type readBytes struct {
	*bytes.Reader
	b []byte
}

func (*readBytes) Close() error { return nil }

// requestBody returns the body readBody read from r, or nil if it read none.
func requestBody(r *http.Request) []byte {
	if rb, ok := r.Body.(*readBytes); ok {
		return rb.b
	}
	return nil
}

// checkJSONType accepts an absent Content-Type or exactly application/json,
// with at most a charset=utf-8 parameter (RFC 8259 has no other).
func checkJSONType(ct string) error {
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return events.InvalidField("Content-Type", "must be application/json")
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return events.InvalidField("Content-Type", "must be application/json; the only parameter allowed is charset=utf-8")
		}
	}
	return nil
}

// loneSurrogate reports the path of the first string (or key) of raw that
// holds an escaped UTF-16 surrogate not forming a pair.
func loneSurrogate(raw []byte) (path string, found bool) {
	walkJSON(raw, func(p string, _ bool, s []byte) bool {
		if unpaired(s) {
			path, found = p, true
			return false
		}
		return true
	})
	return path, found
}

// unpaired reports whether the raw content of a JSON string (between its
// quotes, escapes undecoded) holds a \uXXXX surrogate escape that is not a
// high surrogate followed by a low one.
func unpaired(s []byte) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) || s[i] != 'u' {
			continue // \n, \", \\ ...: the escaped byte is skipped
		}
		r, ok := hex4(s, i+1)
		i += 4
		switch {
		case !ok || r < 0xD800 || r > 0xDFFF:
		case r >= 0xDC00:
			return true // a low surrogate with no high one before it
		default:
			low, ok := hex4(s, i+3)
			if i+2 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' || !ok || low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 6
		}
	}
	return false
}

// hex4 decodes the four hex digits of s at i.
func hex4(s []byte, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(s[i:i+4]), 16, 16)
	return rune(n), err == nil
}

// decodeString returns the value of the raw content of a JSON string.
func decodeString(s []byte) string {
	var v string
	_ = json.Unmarshal(append(append([]byte{'"'}, s...), '"'), &v)
	return v
}

// walkJSON calls f with the path ("changes.name", "items[2].note") and raw
// content of every key and string value of the first JSON value in raw,
// in order, until f returns false. It expects JSON that encoding/json
// accepted; on anything else it stops early without harm.
func walkJSON(raw []byte, f func(path string, key bool, s []byte) bool) {
	w := jsonWalk{b: raw, f: f}
	w.value("")
}

type jsonWalk struct {
	b    []byte
	i    int
	f    func(path string, key bool, s []byte) bool
	done bool
}

func (w *jsonWalk) ws() {
	for w.i < len(w.b) && strings.IndexByte(" \t\r\n", w.b[w.i]) >= 0 {
		w.i++
	}
}

// str reads a string at w.i (its opening quote) and returns its raw content.
func (w *jsonWalk) str() ([]byte, bool) {
	if w.i >= len(w.b) || w.b[w.i] != '"' {
		return nil, false
	}
	start := w.i + 1
	for j := start; j < len(w.b); j++ {
		switch w.b[j] {
		case '\\':
			j++
		case '"':
			w.i = j + 1
			return w.b[start:j], true
		}
	}
	return nil, false
}

func (w *jsonWalk) visit(path string, key bool, s []byte) {
	if !w.f(path, key, s) {
		w.done = true
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func (w *jsonWalk) value(path string) {
	w.ws()
	if w.done || w.i >= len(w.b) {
		w.done = true
		return
	}
	switch w.b[w.i] {
	case '{':
		w.i++
		for !w.done {
			w.ws()
			if w.i >= len(w.b) || w.b[w.i] == '}' {
				w.i++
				return
			}
			if w.b[w.i] == ',' {
				w.i++
				continue
			}
			k, ok := w.str()
			if !ok {
				w.done = true
				return
			}
			child := join(path, decodeString(k))
			if w.visit(child, true, k); w.done {
				return
			}
			w.ws()
			if w.i >= len(w.b) || w.b[w.i] != ':' {
				w.done = true
				return
			}
			w.i++
			w.value(child)
		}
	case '[':
		w.i++
		for n := 0; !w.done; {
			w.ws()
			if w.i >= len(w.b) || w.b[w.i] == ']' {
				w.i++
				return
			}
			if w.b[w.i] == ',' {
				w.i++
				continue
			}
			w.value(path + "[" + strconv.Itoa(n) + "]")
			n++
		}
	case '"':
		s, ok := w.str()
		if !ok {
			w.done = true
			return
		}
		w.visit(path, false, s)
	default: // number, true, false, null
		start := w.i
		for w.i < len(w.b) && strings.IndexByte(",]} \t\r\n", w.b[w.i]) < 0 {
			w.i++
		}
		if w.i == start {
			w.done = true // not JSON: stop rather than loop
		}
	}
}
