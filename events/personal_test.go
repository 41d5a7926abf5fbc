package events_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/dangol/dangol/events"
)

// personalFields is the documented list (docs/events.md) of the personal
// fields each type reports, in the order EachPersonal visits them, for the
// types' examples. Every other type must not implement events.Personal.
// The names are part of the stored data: the encryption layer binds each
// ciphertext to its field name, so they never change.
var personalFields = map[string][]string{
	"CustomerRegistered":   {"name", "birthDate", "phone", "email", "address"},
	"ProfileChanged":       {"changes.email", "changes.phone"}, // every change, in key order
	"LifeEventRecorded":    {"note"},
	"ContactLogged":        {"summary"},
	"ProductPitched":       {"reason"},
	"CustomerRequestNoted": {"text"},
}

// TestEachPersonal checks that EachPersonal visits exactly the documented
// fields: it replaces each visited value with a marker and compares the
// encoding with the example whose documented fields were replaced by hand.
// A field visited but not documented, documented but not visited, or
// visited through a pointer that does not write back, fails.
func TestEachPersonal(t *testing.T) {
	for _, typ := range events.Types() {
		t.Run(typ, func(t *testing.T) {
			d := mustParse(t, typ, []byte(examples[typ]))
			p, ok := d.(events.Personal)
			want := personalFields[typ]
			if !ok {
				if want != nil {
					t.Fatalf("%s has personal fields %q but does not implement events.Personal", typ, want)
				}
				return
			}
			var visited, plain []string
			p.EachPersonal(func(field string, v *string) {
				visited = append(visited, field)
				plain = append(plain, *v)
				*v = "SEALED(" + field + ")"
			})
			if !slices.Equal(visited, want) {
				t.Fatalf("visited %q, want %q", visited, want)
			}
			got, err := json.Marshal(d)
			if err != nil {
				t.Fatal(err)
			}
			expect := examples[typ]
			for _, f := range want {
				expect = string(mutate(t, expect, f, "SEALED("+f+")"))
			}
			if !reflect.DeepEqual(generic(t, string(got)), generic(t, expect)) {
				t.Errorf("after sealing every visited field\n got %s\nwant %s", got, expect)
			}

			// Opening visits the same fields in the same order; restoring
			// each value gives back the example, byte for byte.
			i := 0
			p.EachPersonal(func(field string, v *string) {
				if i >= len(visited) || field != visited[i] || *v != "SEALED("+field+")" {
					t.Errorf("second visit: %s = %q at %d", field, *v, i)
					return
				}
				*v = plain[i]
				i++
			})
			if got, _ := json.Marshal(d); string(got) != examples[typ] {
				t.Errorf("after opening\n got %s\nwant %s", got, examples[typ])
			}
		})
	}
}

// TestEachPersonalVisitsEmptyFields checks that optional personal fields
// are visited even when empty (the sealer skips them; a reader must still
// see a stable list), and that a ProfileChanged visits whatever it changes.
func TestEachPersonalVisitsEmptyFields(t *testing.T) {
	d := &events.CustomerRegistered{CustomerID: "C1", Name: "Kim", BranchID: "B1", Source: events.Source{System: "crm"}}
	var fields []string
	d.EachPersonal(func(f string, _ *string) { fields = append(fields, f) })
	if !slices.Equal(fields, personalFields["CustomerRegistered"]) {
		t.Errorf("visited %q", fields)
	}

	pc := &events.ProfileChanged{Changes: map[string]string{"address": "a", "name": "n", "birthDate": "1970-01-01"}, Source: "branch"}
	fields = nil
	pc.EachPersonal(func(f string, v *string) { fields = append(fields, f); *v += "!" })
	if want := []string{"changes.address", "changes.birthDate", "changes.name"}; !slices.Equal(fields, want) {
		t.Errorf("visited %q, want %q", fields, want)
	}
	if pc.Changes["name"] != "n!" || pc.Changes["address"] != "a!" || len(pc.Changes) != 3 {
		t.Errorf("values not written back: %v", pc.Changes)
	}
	if pc.Source != "branch" {
		t.Error("source is not personal")
	}
}
