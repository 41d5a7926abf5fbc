package console

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
)

// chain returns n events of stream as the API answers them (through JSON),
// each linked to the one before.
func chain(t *testing.T, stream string, n int) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	var prev events.Hash
	for i := range n {
		e := events.Envelope{ID: events.NewID(), Stream: stream, Version: uint64(i), Position: events.At(uint64(10 + i)), Type: "ContactLogged",
			Schema: 1, RecordedAt: eventstest.Epoch.Add(time.Duration(i) * time.Minute), Actor: events.Actor{ID: "R1", Role: "rep"},
			Data: json.RawMessage(`{"summary":"` + pii.Prefix + `abc","n":` + string(rune('0'+i)) + `}`), PrevHash: prev}
		events.EncodeRecord(&e)
		prev = e.Hash
		out = append(out, e)
	}
	return roundTrip(t, out)
}

// roundTrip is evs as a client of the API decodes them.
func roundTrip(t *testing.T, evs []events.Envelope) []events.Envelope {
	t.Helper()
	b, err := json.Marshal(evs)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Envelope
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAuditStreamChecks: each event of a stream page is checked against its
// content and the one before; an altered event, a broken link and a gap
// show as such, and the page counts them; the page renders them marked.
func TestAuditStreamChecks(t *testing.T) {
	v := &streamView{Stream: "customer-C1"}
	v.setEvents(chain(t, "customer-C1", 4), false)
	for _, e := range v.Events {
		if !e.Sound || e.Chain != "ok" {
			t.Fatalf("version %d of an intact chain: sound %v, chain %q", e.Version, e.Sound, e.Chain)
		}
	}
	if v.Broken != 0 {
		t.Fatalf("an intact chain counts %d broken", v.Broken)
	}
	v.setEvents(chain(t, "customer-C1", 4)[1:], true)
	if len(v.Events) != 2 || v.Events[0].Version != 2 || v.Events[0].Chain != "ok" {
		t.Fatalf("a page after its predecessor: %+v", v.Events)
	}

	evs := chain(t, "customer-C1", 5)
	evs[1].Data = json.RawMessage(`{"summary":"changed","n":1}`) // altered after its hash
	evs[3].PrevHash = events.Hash{1}                             // linked to nothing, hash recomputed
	events.EncodeRecord(&evs[3])
	evs = roundTrip(t, evs)
	v.setEvents(evs, false)
	got := []string{}
	for _, e := range v.Events {
		got = append(got, map[bool]string{true: "sound", false: "altered"}[e.Sound]+"/"+e.Chain)
	}
	if want := "sound/ok altered/ok sound/ok sound/bad sound/bad"; strings.Join(got, " ") != want {
		t.Errorf("checks %v, want %s (version 4's link is to version 3 as stored, whose hash changed)", got, want)
	}
	if v.Broken != 3 {
		t.Errorf("%d broken, want 3", v.Broken)
	}
	gap := chain(t, "customer-C1", 3)
	v.setEvents([]events.Envelope{gap[0], gap[2]}, false)
	if v.Events[1].Chain != "bad" {
		t.Errorf("a missing version: chain %q", v.Events[1].Chain)
	}

	c := New(Config{Secret: make([]byte, 32)})
	v.setEvents(evs, false)
	var b bytes.Buffer
	if err := c.pages.byName["audit_stream"].Execute(&b, view{Lang: "en", Data: v, c: c}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"events on this page failing their hash or chain: 3", ">hash wrong</span>", ">chain broken</span>",
		`<span class="tag sealed">encrypted</span> <code class="h" title="pii:v1:abc">`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if n := strings.Count(page, `class="au-broken"`); n != 3 {
		t.Errorf("%d rows marked broken, want 3", n)
	}
}

// TestAuditVerifyShowsFirstBad: a failed verification names the first bad
// event, links to it, and gives the reason.
func TestAuditVerifyShowsFirstBad(t *testing.T) {
	c := New(Config{Secret: make([]byte, 32)})
	v := &sealsView{Verified: true}
	if err := json.Unmarshal([]byte(`{"ok":false,"checked":41,"head":41,"firstBad":{"position":42,"stream":"customer-C7","version":3,"id":"x",
		"reason":"customer-C7@3: hash does not match the event's content"},"seals":{"checked":2,"latest":null,"ageSeconds":0,"verifiedThrough":40}}`), &v.Verify); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := c.pages.byName["audit_seals"].Execute(&b, view{Lang: "en", Data: v, c: c}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{`class="panel au-verify bad"`, "The log does not verify", "events checked: 41, up to position 41",
		`href="/audit/streams/customer-C7?from=3#v3">customer-C7 @ 3</a>`, `href="/audit/log?from=42"`, "hash does not match the event&#39;s content",
		"This server does not seal the log"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

// TestAuditWitnesses: each witness shows where, the tree size last written
// there, when (KST) and its last error.
func TestAuditWitnesses(t *testing.T) {
	c := New(Config{Secret: make([]byte, 32)})
	v := &sealsView{Status: &api.LatestSeal{TreeSize: 9, Witnesses: []seal.WitnessStatus{
		{Kind: "file", Target: "/var/lib/dangol/checkpoint", TreeSize: 8, At: eventstest.Epoch},
		{Kind: "url", Target: "https://witness.example/add", TreeSize: 5, At: eventstest.Epoch.Add(-time.Hour), LastError: "POST: 503 Service Unavailable"},
	}}}
	var b bytes.Buffer
	if err := c.pages.byName["audit_seals"].Execute(&b, view{Lang: "ko", Data: v, c: c}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		`<tr><td>파일</td><td><code class="wrap">/var/lib/dangol/checkpoint</code></td><td class="num">8</td><td>2026-11-25 18:00:00</td><td><span class="muted">—</span></td></tr>`,
		`<tr><td>URL</td><td><code class="wrap">https://witness.example/add</code></td><td class="num">5</td><td>2026-11-25 17:00:00</td><td><span class="tag bad">POST: 503 Service Unavailable</span></td></tr>`,
		"아직 봉인이 없습니다."} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
}

// TestAuditDataFields: stored data shows field by field in its order, a
// personal field's ciphertext as such, anything else as its JSON.
func TestAuditDataFields(t *testing.T) {
	got := dataFields(json.RawMessage(`{"z":"plain","name":"` + pii.Prefix + `Zm9v","n":3,"o":{"a":[1,2]},"nil":null}`))
	want := []dataField{{"z", "plain", false}, {"name", pii.Prefix + "Zm9v", true}, {"n", "3", false}, {"o", `{"a":[1,2]}`, false}, {"nil", "null", false}}
	if len(got) != len(want) {
		t.Fatalf("fields %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("field %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := dataFields(json.RawMessage(`[1,2]`)); len(got) != 1 || got[0].Value != "[1,2]" {
		t.Errorf("an array: %v", got)
	}
}

// TestAuditChanges: a comparison lists what differs, what appeared and what
// went, by field; list elements pair by their identity, not their index.
func TestAuditChanges(t *testing.T) {
	a, b := map[string]string{}, map[string]string{}
	flatten("", "", map[string]any{"name": "A", "consents": []any{
		map[string]any{"channel": "phone", "purpose": "marketing", "granted": true},
	}, "gone": 1.0}, a)
	flatten("", "", map[string]any{"name": "A", "consents": []any{
		map[string]any{"channel": "email", "purpose": "marketing", "granted": true},
		map[string]any{"channel": "phone", "purpose": "marketing", "granted": false},
	}, "tier": "vip"}, b)
	got := changes(sortedFields(a), sortedFields(b))
	want := []fieldChange{
		{"consents[email/marketing].channel", "", "email"}, {"consents[email/marketing].granted", "", "true"},
		{"consents[email/marketing].purpose", "", "marketing"}, {"consents[phone/marketing].granted", "true", "false"},
		{"gone", "1", ""}, {"tier", "", "vip"},
	}
	if len(got) != len(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestAuditLogStart: a position typed is included; a page's link starts
// after its last event.
func TestAuditLogStart(t *testing.T) {
	for _, tc := range []struct {
		from, after string
		want        events.Position
		err         bool
	}{
		{"", "", events.Start, false},
		{"7", "", events.At(6), false},
		{"1", "", events.At(0), false},
		{"", "7", events.At(7), false},
		{"9/4", "", events.Position{Commit: 9, Prepare: 3}, false},
		{"x", "", events.Start, true},
		{"", "x", events.Start, true},
	} {
		got, err := logStart(tc.from, tc.after)
		if (err != nil) != tc.err || err == nil && got != tc.want {
			t.Errorf("from %q after %q: %v %v, want %v (error %v)", tc.from, tc.after, got, err, tc.want, tc.err)
		}
		if err != nil && events.ErrorCode(err) != events.Invalid {
			t.Errorf("from %q after %q: %v is not invalid", tc.from, tc.after, err)
		}
	}
}

// TestAuditKSTValue: the view's timestamps show in KST to the second (a
// fraction kept), anything else as it is.
func TestAuditKSTValue(t *testing.T) {
	for in, want := range map[string]string{
		"2026-11-23T09:00:00Z":          "2026-11-23 18:00:00 KST",
		"2026-11-23T15:30:05.25Z":       "2026-11-24 00:30:05.25 KST",
		"2026-11-23T18:00:00+09:00":     "2026-11-23 18:00:00 KST",
		"1970-05-01":                    "1970-05-01",
		"010-1234-5678":                 "010-1234-5678",
		"2026-11-23Tnot a time at all!": "2026-11-23Tnot a time at all!",
	} {
		if got := kstValue(in); got != want {
			t.Errorf("kstValue(%q) = %q, want %q", in, got, want)
		}
	}
}
