package events

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
)

// encoding/json reports an error of a value's own UnmarshalJSON (a time,
// a position) without saying which field held the value, and with the
// method's message, which for a time is Go's layout string
// ("parsing time "yesterday" as "2006-01-02T15:04:05Z07:00""). Strict calls
// unmarshalerError after a failed decode to name the field and say what it
// must be instead.

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// unmarshalerError returns an Invalid error naming the JSON path of the
// first value in raw (in field order) that the UnmarshalJSON or
// UnmarshalText method of its field's type refuses, or nil if there is none
// or raw is not JSON at all (jsonError reports those failures).
func unmarshalerError(raw []byte, v any) *Error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc any
	if dec.Decode(&doc) != nil {
		return nil
	}
	return refused(doc, reflect.TypeOf(v), "")
}

// refused walks doc along type t, as encoding/json would decode it.
func refused(doc any, t reflect.Type, path string) *Error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if doc == nil {
		return nil // null leaves a value as it is
	}
	pt := reflect.PointerTo(t)
	switch {
	case pt.Implements(jsonUnmarshaler):
		b, err := json.Marshal(doc)
		if err != nil {
			return nil
		}
		if err := reflect.New(t).Interface().(json.Unmarshaler).UnmarshalJSON(b); err != nil {
			return unmarshalFailure(path, t, err)
		}
		return nil
	case pt.Implements(textUnmarshaler):
		s, ok := doc.(string)
		if !ok {
			return nil // a type error, which jsonError names
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			return unmarshalFailure(path, t, err)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if e := refused(member(obj, name), f.Type, join(path, name)); e != nil {
				return e
			}
		}
	case reflect.Slice, reflect.Array:
		arr, _ := doc.([]any)
		for i, el := range arr {
			if e := refused(el, t.Elem(), path+"["+strconv.Itoa(i)+"]"); e != nil {
				return e
			}
		}
	case reflect.Map:
		obj, _ := doc.(map[string]any)
		for _, k := range sortedKeysAny(obj) {
			if e := refused(obj[k], t.Elem(), join(path, k)); e != nil {
				return e
			}
		}
	}
	return nil
}

// member returns obj's value for a field named name, matched as
// encoding/json matches it: exactly, else ignoring case.
func member(obj map[string]any, name string) any {
	if v, ok := obj[name]; ok {
		return v
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func sortedKeysAny(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// unmarshalFailure says what the value at path must be: for a time, the
// form the catalog accepts rather than Go's layout string.
func unmarshalFailure(path string, t reflect.Type, err error) *Error {
	if t == timeType {
		return InvalidField(path, "must be an RFC 3339 time such as 2026-11-25T09:30:00+09:00")
	}
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return InvalidField(path, "%s", e.Message)
	}
	return InvalidField(path, "%s", strings.TrimPrefix(err.Error(), "json: "))
}
