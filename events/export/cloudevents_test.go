package export_test

import (
	"encoding/json"
	"strings"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
)

// The export read back with the CloudEvents SDK: every line one valid
// CloudEvent whose attributes and extensions are the envelope's.
func TestCloudEventsSDKReadsExport(t *testing.T) {
	log := exampleLog(t)
	for i, l := range lines(t, write(t, log)) {
		e := &log[i]
		var ce cloudevents.Event
		if err := json.Unmarshal(l, &ce); err != nil {
			t.Fatalf("line %d: %v\n%s", i, err, l)
		}
		if err := ce.Validate(); err != nil {
			t.Errorf("line %d: Validate: %v", i, err)
		}
		if ce.SpecVersion() != "1.0" || ce.ID() != e.ID.String() || ce.Type() != "dangol."+e.Type ||
			ce.Source() != "urn:dangol:dangol-test" || ce.Subject() != e.Stream || !ce.Time().Equal(e.RecordedAt) ||
			ce.DataContentType() != "application/json" || !strings.HasPrefix(ce.DataSchema(), "urn:dangol:schema:"+e.Type+":") {
			t.Errorf("line %d: context %s", i, ce.Context)
		}
		if string(ce.Data()) != string(e.Data) {
			t.Errorf("line %d: data %s, want %s", i, ce.Data(), e.Data)
		}
		ext := ce.Extensions()
		want := map[string]any{"position": e.Position.String(), "streamversion": int32(e.Version),
			"schemaversion": int32(e.Schema), "hash": e.Hash.String(), "prevhash": e.PrevHash.String(), "actorid": e.Actor.ID}
		if e.CorrelationID != "" {
			want["correlationid"], want["causationid"], want["actorrole"] = e.CorrelationID, e.CausationID, e.Actor.Role
			want["occurredat"] = e.OccurredAt.Format("2006-01-02T15:04:05.999999999Z07:00")
		}
		for k, v := range want {
			if ext[k] != v {
				t.Errorf("line %d: extension %s = %#v, want %#v", i, k, ext[k], v)
			}
		}
		if len(ext) != len(want) {
			t.Errorf("line %d: extensions %v, want %v", i, ext, want)
		}
	}
}

// An export in clear: its storeddata and erased extensions are valid
// CloudEvents extensions too.
func TestCloudEventsSDKReadsClearLines(t *testing.T) {
	e := exampleOf(t, "CustomerRegistered")
	for _, l := range [][]byte{clearLine(t, &e, `{"name":"김민지"}`), erasedLine(t, &e)} {
		var ce cloudevents.Event
		if err := json.Unmarshal(l, &ce); err != nil {
			t.Fatalf("%v\n%s", err, l)
		}
		if err := ce.Validate(); err != nil {
			t.Errorf("Validate: %v\n%s", err, l)
		}
		ext := ce.Extensions()
		if ext["storeddata"] == nil && ext["erased"] != true {
			t.Errorf("extensions %v: neither storeddata nor erased", ext)
		}
	}
}
