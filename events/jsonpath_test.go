package events_test

// Helpers for the catalog tests: a generic JSON value (objects as
// map[string]any, numbers as json.Number) addressed by the field paths the
// catalog reports ("items[1].score", "changes.email").

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// del, as the new value of a mutation, removes the field.
var del = &struct{ deleted bool }{true}

// generic decodes raw into a generic JSON value.
func generic(t testing.TB, raw string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("generic %s: %v", raw, err)
	}
	return v
}

// compact encodes a generic value (object keys sorted, as encoding/json does
// for maps).
func compact(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type step struct {
	key   string
	index int // -1 for an object key
}

// parsePath splits "items[1].score" into items, [1], score.
func parsePath(t testing.TB, path string) []step {
	t.Helper()
	var steps []step
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if name != "" {
			steps = append(steps, step{key: name, index: -1})
		}
		for rest != "" {
			n, after, ok := strings.Cut(rest, "]")
			i, err := strconv.Atoi(n)
			if !ok || err != nil {
				t.Fatalf("bad path %q", path)
			}
			steps = append(steps, step{index: i})
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return steps
}

// mutate returns raw with the value at path replaced by val (or removed, if
// val is del). Missing objects on the way are created.
func mutate(t testing.TB, raw, path string, val any) []byte {
	t.Helper()
	root := generic(t, raw)
	steps := parsePath(t, path)
	cur := root
	for i, s := range steps {
		last := i == len(steps)-1
		if s.index >= 0 {
			arr, ok := cur.([]any)
			if !ok || s.index >= len(arr) {
				t.Fatalf("mutate %s: no element %d", path, s.index)
			}
			if last {
				if val == del {
					t.Fatalf("mutate %s: cannot delete an array element", path)
				}
				arr[s.index] = val
				break
			}
			cur = arr[s.index]
			continue
		}
		obj, ok := cur.(map[string]any)
		if !ok {
			t.Fatalf("mutate %s: %q is not in an object", path, s.key)
		}
		if last {
			if val == del {
				delete(obj, s.key)
			} else {
				obj[s.key] = val
			}
			break
		}
		next, ok := obj[s.key]
		if !ok || next == nil {
			next = map[string]any{}
			obj[s.key] = next
		}
		cur = next
	}
	return compact(t, root)
}

// leaf is one value of a generic JSON document with its path.
type leaf struct {
	path string
	val  any
}

// leaves returns every value of v (objects, arrays and scalars alike)
// except the root, in a stable order.
func leaves(v any, path string) []leaf {
	var out []leaf
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out = append(out, leaf{p, x[k]})
			out = append(out, leaves(x[k], p)...)
		}
	case []any:
		for i, e := range x {
			p := fmt.Sprintf("%s[%d]", path, i)
			out = append(out, leaf{p, e})
			out = append(out, leaves(e, p)...)
		}
	}
	return out
}

// reordered writes v with every object's keys in reverse order and
// generous whitespace: the same document as the canonical one, spelled
// differently.
func reordered(v any) []byte {
	var b bytes.Buffer
	var write func(v any, indent string)
	write = func(v any, indent string) {
		switch x := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(x))
			for k := range x {
				keys = append(keys, k)
			}
			sort.Sort(sort.Reverse(sort.StringSlice(keys)))
			b.WriteString("{\n")
			for i, k := range keys {
				if i > 0 {
					b.WriteString(" ,\n")
				}
				kb, _ := json.Marshal(k)
				fmt.Fprintf(&b, "%s\t%s :\t", indent, kb)
				write(x[k], indent+"\t")
			}
			b.WriteString("\n" + indent + "}")
		case []any:
			b.WriteString("[ ")
			for i, e := range x {
				if i > 0 {
					b.WriteString(" , ")
				}
				write(e, indent)
			}
			b.WriteString(" ]")
		default:
			vb, _ := json.Marshal(x)
			b.Write(vb)
		}
	}
	b.WriteString("\r\n ")
	write(v, "")
	b.WriteString(" \n\t")
	return b.Bytes()
}

// padded returns v with every string value, except those at the paths
// skip accepts, surrounded by white space.
func padded(v any, path string, skip func(string) bool) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			out[k] = padded(e, p, skip)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = padded(e, fmt.Sprintf("%s[%d]", path, i), skip)
		}
		return out
	case string:
		if skip(path) {
			return x
		}
		return " \t" + x + "\n  "
	}
	return v
}

var (
	timeType     = reflect.TypeFor[time.Time]()
	positionType = reflect.TypeFor[events.Position]()
)

// stringFields calls visit with the JSON path of every string reachable in
// the Go value v (struct fields by their JSON names, slice elements, map
// values), and a function that sets it.
func stringFields(v reflect.Value, path string, visit func(path string, set func(string))) {
	join := func(name string) string {
		if path == "" {
			return name
		}
		return path + "." + name
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			stringFields(v.Elem(), path, visit)
		}
	case reflect.Struct:
		if v.Type() == timeType || v.Type() == positionType {
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			stringFields(v.Field(i), join(name), visit)
		}
	case reflect.Slice:
		for i := range v.Len() {
			stringFields(v.Index(i), fmt.Sprintf("%s[%d]", path, i), visit)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			visit(join(k.String()), func(s string) { v.SetMapIndex(k, reflect.ValueOf(s)) })
		}
	case reflect.String:
		visit(path, func(s string) { v.SetString(s) })
	}
}

// jsonFields returns the JSON names of every field of struct type t and of
// the structs it holds, nested names joined with '.', "[]." for the
// elements of an array ("items[].score").
func jsonFields(t reflect.Type, prefix string) []string {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t == timeType || t == positionType {
		return nil
	}
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, prefix+name)
		sep := "."
		if ft := f.Type; ft.Kind() == reflect.Slice {
			sep = "[]."
		}
		out = append(out, jsonFields(f.Type, prefix+name+sep)...)
	}
	return out
}
