package export_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/export"
)

// write exports log and returns the body, after checking the Writer's
// count and sum against it.
func write(t testing.TB, log []events.Envelope) []byte {
	t.Helper()
	var body bytes.Buffer
	w := export.NewWriter(&body, "dangol-test")
	for i := range log {
		if err := w.Write(&log[i], nil); err != nil {
			t.Fatal(err)
		}
	}
	if w.Count() != int64(len(log)) {
		t.Errorf("Count = %d, want %d", w.Count(), len(log))
	}
	if w.Sum() != sha256.Sum256(body.Bytes()) {
		t.Error("Sum is not the SHA-256 of the bytes written")
	}
	return body.Bytes()
}

// lines splits an export into its lines, each ending in one line break.
func lines(t testing.TB, body []byte) [][]byte {
	t.Helper()
	if len(body) == 0 {
		return nil
	}
	if body[len(body)-1] != '\n' {
		t.Fatal("export does not end with a line break")
	}
	return bytes.Split(body[:len(body)-1], []byte("\n"))
}

// sameEnvelope fails unless got is want field by field: the same record
// (every hashed field) and the same position.
func sameEnvelope(t testing.TB, got, want events.Envelope) {
	t.Helper()
	g, w := got, want
	if !bytes.Equal(events.EncodeRecord(&g), events.EncodeRecord(&w)) || got.Position != want.Position || got.Hash != want.Hash {
		t.Errorf("decoded\n %+v\nwant\n %+v", got, want)
	}
}

func TestRoundTripEveryType(t *testing.T) {
	log := exampleLog(t)
	ls := lines(t, write(t, log))
	if len(ls) != len(log) {
		t.Fatalf("%d lines for %d events", len(ls), len(log))
	}
	v := events.NewChainVerifier()
	for i, l := range ls {
		e, err := export.Decode(l)
		if err != nil {
			t.Fatalf("line %d: %v\n%s", i, err, l)
		}
		if err := v.Add(&e); err != nil {
			t.Errorf("line %d does not verify: %v", i, err)
		}
		sameEnvelope(t, e, log[i])
		var attrs map[string]json.RawMessage
		if err := json.Unmarshal(l, &attrs); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(attrs["data"], log[i].Data) {
			t.Errorf("line %d: data %s, want the stored bytes %s", i, attrs["data"], log[i].Data)
		}
		for _, a := range []string{"occurredat", "correlationid", "causationid", "actorrole"} {
			if _, has := attrs[a]; has != (log[i].CorrelationID != "") {
				t.Errorf("line %d: %s present %v, want %v", i, a, has, !has)
			}
		}
		if _, has := attrs["storeddata"]; has {
			t.Errorf("line %d: storeddata in a line of compact stored data", i)
		}
	}
}

func TestLineAttributes(t *testing.T) {
	e := exampleOf(t, "AdvisorAssigned")
	var got map[string]any
	if err := json.Unmarshal(export.Event("bank", &e), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"specversion": "1.0", "id": e.ID.String(), "source": "urn:dangol:bank", "type": "dangol." + e.Type,
		"subject": e.Stream, "time": e.RecordedAt.Format("2006-01-02T15:04:05.999999999Z07:00"),
		"datacontenttype": "application/json", "dataschema": "urn:dangol:schema:" + e.Type + ":" + strconv.Itoa(e.Schema),
		"position": e.Position.String(), "streamversion": float64(e.Version), "schemaversion": float64(e.Schema), "hash": e.Hash.String(),
		"prevhash": e.PrevHash.String(), "occurredat": e.OccurredAt.Format("2006-01-02T15:04:05.999999999Z07:00"),
		"actorid": "R017", "actorrole": "rep", "correlationid": e.CorrelationID, "causationid": e.CausationID}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	delete(got, "data")
	if len(got) != len(want) {
		t.Errorf("attributes %v, want exactly %v and data", got, want)
	}
	if !strings.Contains(e.Position.String(), "/") || !strings.Contains(got["time"].(string), ".") {
		t.Errorf("example is not KurrentDB-style with nanoseconds: position %s, time %s", e.Position, got["time"])
	}
}

func TestClearData(t *testing.T) {
	e := exampleOf(t, "AdvisorAssigned")
	clear := json.RawMessage(`{"name":"김민지"}`)
	var body bytes.Buffer
	w := export.NewWriter(&body, "dangol")
	if err := w.Write(&e, clear); err != nil {
		t.Fatal(err)
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(body.Bytes(), &attrs); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(attrs["data"], clear) || attrs["storeddata"] == nil {
		t.Errorf("clear line: data %s, storeddata %s", attrs["data"], attrs["storeddata"])
	}
	got, err := export.Decode(body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, got, e)
	if err := got.Verify(e.PrevHash); err != nil {
		t.Error(err)
	}

	for _, bad := range []string{" {\"a\":1}", "{\"a\":1}\n", `{"a":`, ``} {
		n := body.Len()
		if err := w.Write(&e, json.RawMessage(bad)); events.ErrorCode(err) != events.Invalid {
			t.Errorf("clear data %q: %v, want invalid", bad, err)
		}
		if body.Len() != n || w.Count() != 1 {
			t.Errorf("clear data %q: something was written", bad)
		}
	}
}

func TestErasedLine(t *testing.T) {
	e := exampleOf(t, "AdvisorAssigned")
	var body bytes.Buffer
	if err := export.NewWriter(&body, "dangol").WriteErased(&e); err != nil {
		t.Fatal(err)
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(body.Bytes(), &attrs); err != nil {
		t.Fatal(err)
	}
	if string(attrs["erased"]) != "true" || !bytes.Equal(attrs["data"], e.Data) || attrs["storeddata"] != nil {
		t.Errorf("erased line: %s", body.Bytes())
	}
	got, err := export.Decode(body.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sameEnvelope(t, got, e)
}

// Stored data the stores accept that cannot stand verbatim in a line, and
// strings that need escaping: each line is one line, and decodes to the
// stored bytes.
func TestAwkwardStoredBytes(t *testing.T) {
	log := exampleLog(t)[:6]
	log[0].Data = []byte("{\n  \"a\": [1,\r\n 2]\n}")
	log[1].Data = []byte(`{"a":1} `)
	log[2].Data = []byte(`{not json`)
	log[3].CorrelationID = "q\"uote\\back\x01\t\nslash 상관 \u2028"
	log[4].Actor.Role = "\x7f</script>"
	for i := range log {
		log[i].PrevHash = events.Hash{}
		events.EncodeRecord(&log[i])
	}
	ls := lines(t, write(t, log))
	if len(ls) != len(log) {
		t.Fatalf("%d lines for %d events", len(ls), len(log))
	}
	for i, l := range ls {
		if !json.Valid(l) {
			t.Errorf("line %d is not JSON: %s", i, l)
		}
		e, err := export.Decode(l)
		if err != nil {
			t.Fatalf("line %d: %v\n%s", i, err, l)
		}
		sameEnvelope(t, e, log[i])
		if err := e.Verify(events.Hash{}); err != nil {
			t.Errorf("line %d: %v", i, err)
		}
	}
	var attrs map[string]json.RawMessage
	_ = json.Unmarshal(ls[0], &attrs)
	if string(attrs["data"]) != `{"a":[1,2]}` {
		t.Errorf("pretty data exported as %s, want its compact form", attrs["data"])
	}
	attrs = nil
	_ = json.Unmarshal(ls[2], &attrs)
	if attrs["data"] != nil || attrs["storeddata"] == nil {
		t.Errorf("data that is not JSON: %s", ls[2])
	}
}

// A changed hashed field fails Verify; the position is not hashed (the
// seals' tree covers the log's order), so a changed one still verifies.
func TestTamperedLineFailsVerify(t *testing.T) {
	e := exampleOf(t, "AdvisorAssigned")
	l := lines(t, write(t, []events.Envelope{e}))[0]
	version := fmt.Sprintf(`"streamversion":%d`, e.Version)
	for _, edit := range []struct {
		from, to string
		breaks   bool
	}{
		{`"actorid":"R017"`, `"actorid":"R018"`, true},
		{version, version + "1", true},
		{`"subject":"customer-C1001"`, `"subject":"customer-C1002"`, true},
		{`{"advisorId":"R017"`, `{"advisorId":"R018"`, true},
		{`"position":"` + e.Position.String(), `"position":"7`, false},
	} {
		changed := bytes.Replace(l, []byte(edit.from), []byte(edit.to), 1)
		if bytes.Equal(changed, l) {
			t.Fatalf("edit %q does not apply to %s", edit.from, l)
		}
		got, err := export.Decode(changed)
		if err != nil {
			t.Fatal(err)
		}
		if err := got.Verify(e.PrevHash); (err != nil) != edit.breaks {
			t.Errorf("edit %q: Verify = %v", edit.from, err)
		}
	}
}

func TestDecodeRefusesMalformed(t *testing.T) {
	l := string(lines(t, write(t, []events.Envelope{exampleOf(t, "AdvisorAssigned")}))[0])
	for name, bad := range map[string]string{
		"specversion": strings.Replace(l, `"1.0"`, `"0.3"`, 1),
		"type":        strings.Replace(l, `"dangol.`, `"other.`, 1),
		"id":          strings.Replace(l, `"id":"`, `"id":"x`, 1),
		"no hash":     strings.Replace(l, `"hash":"`, `"hashx":"`, 1),
		"unknown":     strings.Replace(l, `{"specversion"`, `{"extra":1,"specversion"`, 1),
		"position":    strings.Replace(l, `"position":"`, `"position":"x`, 1),
		"time":        strings.Replace(l, `"time":"`, `"time":"x`, 1),
		"two values":  l + ` {}`,
		"not JSON":    l[:len(l)-1],
		"no data":     l[:strings.Index(l, `,"data":`)] + "}",
	} {
		if _, err := export.Decode([]byte(bad)); events.ErrorCode(err) != events.Invalid {
			t.Errorf("%s: Decode = %v, want invalid", name, err)
		}
	}
}

type failing struct{ n int }

func (f *failing) Write(b []byte) (int, error) {
	if f.n == 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(b), nil
}

func TestWriteErrorSticks(t *testing.T) {
	log := exampleLog(t)[:3]
	w := export.NewWriter(&failing{n: 1}, "dangol")
	if err := w.Write(&log[0], nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 3; i++ {
		if err := w.Write(&log[i], nil); err == nil || err.Error() != "disk full" {
			t.Errorf("write %d after a failure: %v", i, err)
		}
	}
	if w.Count() != 1 {
		t.Errorf("Count = %d after one good write", w.Count())
	}
}

func clearLine(t testing.TB, e *events.Envelope, clear string) []byte {
	t.Helper()
	var body bytes.Buffer
	if err := export.NewWriter(&body, "dangol").Write(e, json.RawMessage(clear)); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(body.Bytes(), []byte("\n"))
}

func erasedLine(t testing.TB, e *events.Envelope) []byte {
	t.Helper()
	var body bytes.Buffer
	if err := export.NewWriter(&body, "dangol").WriteErased(e); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(body.Bytes(), []byte("\n"))
}
