package pii_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

func customer(id string) *events.CustomerRegistered {
	return &events.CustomerRegistered{
		CustomerID: id,
		Name:       "Kim Minji",
		BirthDate:  "1971-03-09",
		Phone:      "+82-10-5550-1234",
		Email:      "minji.kim@example.kr",
		Address:    "12 Sejong-daero, Jung-gu, Seoul",
		BranchID:   "B017",
		Source:     events.Source{System: "core", Ref: "CIF-778812"},
	}
}

// personal returns the personal fields of p by name.
func personal(p events.Personal) map[string]string {
	m := map[string]string{}
	p.EachPersonal(func(f string, v *string) { m[f] = *v })
	return m
}

// sealEvent seals d for customer id through events.NewEvent, the way the
// API does, and returns the event and its data decoded back, still sealed.
func sealEvent(t testing.TB, s *pii.Sealer, id string, d events.Data) (events.Event, *events.CustomerRegistered) {
	t.Helper()
	ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "R017", Role: "rep"},
		Seal: s.SealFor(context.Background(), id)})
	if err != nil {
		t.Fatal(err)
	}
	var stored events.CustomerRegistered
	if err := json.Unmarshal(ev.Data, &stored); err != nil {
		t.Fatal(err)
	}
	return ev, &stored
}

func TestSealOpenRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(t))
	want := customer("C1")
	want.Address = "" // optional and absent: stays empty
	in := *want       // sealed in place
	_, stored := sealEvent(t, s, "C1", &in)

	for f, v := range personal(stored) {
		if f == "address" {
			if v != "" {
				t.Fatalf("empty address sealed to %q", v)
			}
			continue
		}
		if !strings.HasPrefix(v, pii.Prefix) {
			t.Fatalf("%s stored as %q, not sealed", f, v)
		}
	}
	if stored.CustomerID != "C1" || stored.BranchID != "B017" || stored.Source != want.Source {
		t.Fatalf("non-personal fields changed: %+v", stored)
	}
	if err := s.Open(ctx, "C1", stored); err != nil {
		t.Fatal(err)
	}
	if *stored != *want {
		t.Fatalf("round trip:\n got %+v\nwant %+v", stored, want)
	}
	// Opening what is already open (or was never sealed) changes nothing.
	if err := s.Open(ctx, "C1", stored); err != nil || *stored != *want {
		t.Fatalf("second open: %v, %+v", err, stored)
	}
}

func TestSealedDataHoldsNoPlaintext(t *testing.T) {
	s := pii.NewSealer(tempKeys(t))
	d := customer("C1")
	plain := personal(customer("C1"))
	ev, _ := sealEvent(t, s, "C1", d)
	for f, v := range plain {
		for _, form := range []string{v, strings.ToLower(v), base64.StdEncoding.EncodeToString([]byte(v)),
			base64.RawURLEncoding.EncodeToString([]byte(v))} {
			if bytes.Contains(ev.Data, []byte(form)) {
				t.Fatalf("stored data contains %s in the clear (%q): %s", f, form, ev.Data)
			}
		}
	}
	for _, visible := range []string{`"customerId":"C1"`, `"branchId":"B017"`, `"system":"core"`, `"ref":"CIF-778812"`} {
		if !bytes.Contains(ev.Data, []byte(visible)) {
			t.Fatalf("non-personal %s missing from %s", visible, ev.Data)
		}
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	s := pii.NewSealer(tempKeys(t))
	d1, d2 := customer("C1"), customer("C1")
	d1.Email, d1.Address = d1.Name, d1.Name // same plaintext in three fields
	_, a := sealEvent(t, s, "C1", d1)
	_, b := sealEvent(t, s, "C1", d2)
	pa, pb := personal(a), personal(b)
	seen := map[string]string{}
	for f := range pa {
		for _, v := range []string{pa[f], pb[f]} {
			if other, dup := seen[v]; dup {
				t.Fatalf("identical ciphertext in %s and %s", other, f)
			}
			seen[v] = f
		}
	}
}

func TestEraseKeepsEventsHashesAndNonPersonalFields(t *testing.T) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(t))
	reg, _ := sealEvent(t, s, "C1", customer("C1"))
	erasure := events.Event{ID: events.NewID(), Type: pii.ErasureEvent, Schema: 1, Actor: events.Actor{ID: "S9", Role: "admin"},
		Data: json.RawMessage(`{"reason":"customer request","requestedBy":"S9"}`)}

	// The log as stored: canonical records with the hash chain.
	var records [][]byte
	var prev events.Hash
	for v, ev := range []events.Event{reg, erasure} {
		env := events.Envelope{ID: ev.ID, Stream: "customer-C1", Version: uint64(v), Position: events.At(uint64(v + 1)),
			Type: ev.Type, Schema: ev.Schema, RecordedAt: time.Date(2026, 3, 1, 9, v, 0, 0, time.UTC), Actor: ev.Actor,
			Data: ev.Data, PrevHash: prev}
		records = append(records, bytes.Clone(events.EncodeRecord(&env)))
		prev = env.Hash
	}
	read := func() []events.Envelope {
		envs := make([]events.Envelope, len(records))
		for i, rec := range records {
			if err := events.DecodeRecord(bytes.Clone(rec), &envs[i]); err != nil {
				t.Fatal(err)
			}
			envs[i].Position = events.At(uint64(i + 1))
		}
		return envs
	}

	before := read()
	d, err := s.OpenEnvelope(ctx, &before[0])
	if err != nil {
		t.Fatal(err)
	}
	if got := d.(*events.CustomerRegistered); *got != *customer("C1") {
		t.Fatalf("before erasure: %+v", got)
	}

	// The order Erase documents: the event is in the log, then the key goes.
	for i := range before {
		if err := s.EnforceErasure(ctx, &before[i]); err != nil {
			t.Fatal(err)
		}
	}

	after := read()
	if err := events.VerifyStream(after); err != nil {
		t.Fatalf("hash chain after erasure: %v", err)
	}
	d, err = s.OpenEnvelope(ctx, &after[0])
	if err != nil {
		t.Fatalf("reading an erased customer must not fail: %v", err)
	}
	got := d.(*events.CustomerRegistered)
	for f, v := range personal(got) {
		if v != pii.Erased {
			t.Fatalf("%s after erasure = %q, want %q", f, v, pii.Erased)
		}
	}
	if got.CustomerID != "C1" || got.BranchID != "B017" || got.Source != (events.Source{System: "core", Ref: "CIF-778812"}) {
		t.Fatalf("non-personal fields after erasure: %+v", got)
	}
	if err := events.VerifyStream(after); err != nil || !bytes.Equal(after[0].Data, reg.Data) {
		t.Fatalf("opening changed the stored event: %v", err)
	}
	v := events.NewChainVerifier()
	for i := range after {
		if err := v.Add(&after[i]); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing personal can be sealed for an erased customer any more; data
	// without personal values still can.
	_, err = events.NewEvent(customer("C1"), events.Meta{Seal: s.SealFor(ctx, "C1")})
	if !errors.Is(err, pii.ErrErased) {
		t.Fatalf("sealing for an erased customer: %v, want ErrErased", err)
	}
	wantCode(t, err, events.NotFound)
	if err := s.Seal(ctx, "C1", &note{}); err != nil {
		t.Fatalf("sealing nothing personal for an erased customer: %v", err)
	}
}

func TestOpenRejectsTamperedCiphertext(t *testing.T) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(t))
	_, stored := sealEvent(t, s, "C1", customer("C1"))

	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(stored.Email, pii.Prefix))
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{0, 12, len(raw) / 2, len(raw) - 1} { // nonce, ciphertext, tag
		bad := *stored
		flipped := bytes.Clone(raw)
		flipped[at] ^= 0x20
		bad.Email = pii.Prefix + base64.RawURLEncoding.EncodeToString(flipped)
		wantFieldError(t, s.Open(ctx, "C1", &bad), "email")
	}
	for _, malformed := range []string{pii.Prefix, pii.Prefix + "!!!", pii.Prefix + "AAAA"} {
		bad := *stored
		bad.Phone = malformed
		wantFieldError(t, s.Open(ctx, "C1", &bad), "phone")
	}
}

func TestOpenRejectsTransplantedCiphertext(t *testing.T) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(t))
	_, a := sealEvent(t, s, "C1", customer("C1"))
	_, b := sealEvent(t, s, "C2", customer("C2"))

	moved := *a
	moved.Email = a.Name // same customer and event, another field
	wantFieldError(t, s.Open(ctx, "C1", &moved), "email")

	moved = *b
	moved.Name = a.Name // same field, another customer
	wantFieldError(t, s.Open(ctx, "C2", &moved), "name")

	moved = *a // right ciphertext, opened as another customer
	wantFieldError(t, s.Open(ctx, "C2", &moved), "name")

	n := &note{Name: a.Name} // same customer and field name, another event type
	wantFieldError(t, s.Open(ctx, "C1", n), "name")
}

func wantFieldError(t *testing.T, err error, field string) {
	t.Helper()
	var e *events.Error
	if !errors.As(err, &e) || e.Code != events.Internal || e.Field != field {
		t.Fatalf("got %v, want an internal error naming %s", err, field)
	}
}

func TestOpenLeavesUnsealedValues(t *testing.T) {
	s := pii.NewSealer(tempKeys(t))
	plain := customer("C9") // appended before sealing was enabled: no key, nothing to open
	if err := s.Open(context.Background(), "C9", plain); err != nil || *plain != *customer("C9") {
		t.Fatalf("%v, %+v", err, plain)
	}
}

func TestOpenWithoutKeyIsLoud(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	master := newMaster(t)
	_, stored := sealEvent(t, pii.NewSealer(openKeys(t, filepath.Join(dir, "keys.db"), master)), "C1", customer("C1"))
	lost := pii.NewSealer(openKeys(t, filepath.Join(dir, "restored-too-old.db"), master))
	err := lost.Open(ctx, "C1", stored)
	if !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("open with a key store that lacks the key: %v, want ErrNoKey", err)
	}
	wantCode(t, err, events.Internal) // not "erased", not "not found": data is at risk
}

func TestOpenEnvelopeOnlyOpensCustomerStreams(t *testing.T) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(t))
	ev, _ := sealEvent(t, s, "C1", customer("C1"))
	env := events.Envelope{ID: ev.ID, Stream: "staff-C1", Type: ev.Type, Schema: ev.Schema, Actor: ev.Actor, Data: ev.Data}
	d, err := s.OpenEnvelope(ctx, &env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(d.(*events.CustomerRegistered).Name, pii.Prefix) {
		t.Fatal("opened personal data of a non-customer stream")
	}
	env.Stream = events.CustomerStream("C1")
	if d, err = s.OpenEnvelope(ctx, &env); err != nil || d.(*events.CustomerRegistered).Name != "Kim Minji" {
		t.Fatalf("customer stream: %v", err)
	}
	// Erasure events elsewhere, or other types, destroy nothing.
	for _, e := range []events.Envelope{{Stream: "staff-C1", Type: pii.ErasureEvent}, {Stream: "customer-C1", Type: "ContactLogged"}} {
		if err := s.EnforceErasure(ctx, &e); err != nil {
			t.Fatal(err)
		}
	}
	if d, err = s.OpenEnvelope(ctx, &env); err != nil || d.(*events.CustomerRegistered).Name != "Kim Minji" {
		t.Fatalf("a key was destroyed by the wrong event: %v", err)
	}
}

// note is a Personal type of this test only, to show that a ciphertext does
// not open under another event type. It is not registered in the catalog.
type note struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

func (*note) EventType() string { return "PiiTestNote" }
func (*note) Validate() error   { return nil }
func (n *note) EachPersonal(f func(string, *string)) {
	f("name", &n.Name)
	f("text", &n.Text)
}

// BenchmarkOpen opens the five personal fields of one CustomerRegistered
// with the customer's key in the cache, as a projection replay does.
func BenchmarkOpen(b *testing.B) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(b))
	_, stored := sealEvent(b, s, "C1", customer("C1"))
	d := *stored
	if err := s.Open(ctx, "C1", &d); err != nil { // warms the cache
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		d = *stored
		if err := s.Open(ctx, "C1", &d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenEnvelope adds events.Decode (JSON) to BenchmarkOpen: the
// whole cost of reading one stored CustomerRegistered.
func BenchmarkOpenEnvelope(b *testing.B) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(b))
	ev, _ := sealEvent(b, s, "C1", customer("C1"))
	env := events.Envelope{ID: ev.ID, Stream: "customer-C1", Type: ev.Type, Schema: ev.Schema, Actor: ev.Actor, Data: ev.Data}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.OpenEnvelope(ctx, &env); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSeal seals one CustomerRegistered with the key in the cache.
func BenchmarkSeal(b *testing.B) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(b))
	if err := s.Seal(ctx, "C1", customer("C1")); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Seal(ctx, "C1", customer("C1")); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSealBlob(t *testing.T) {
	ctx := context.Background()
	ks := tempKeys(t)
	s := pii.NewSealer(ks)
	plain := []byte(`{"name":"김민준"}`)
	blob, err := s.SealBlob(ctx, "C1", "row", plain)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, plain) {
		t.Fatal("the blob holds the plain text")
	}
	got, err := s.OpenBlob(ctx, "C1", "row", blob)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("OpenBlob: %q, %v", got, err)
	}
	if _, err := s.SealBlob(ctx, "C2", "row", plain); err != nil {
		t.Fatal(err)
	}
	for what, open := range map[string]func() ([]byte, error){
		"another customer": func() ([]byte, error) { return s.OpenBlob(ctx, "C2", "row", blob) },
		"another purpose":  func() ([]byte, error) { return s.OpenBlob(ctx, "C1", "other", blob) },
		"a flipped byte": func() ([]byte, error) {
			bad := bytes.Clone(blob)
			bad[len(bad)-1] ^= 1
			return s.OpenBlob(ctx, "C1", "row", bad)
		},
	} {
		if _, err := open(); events.ErrorCode(err) != events.Internal {
			t.Errorf("%s: %v, want Internal", what, err)
		}
	}
	if err := s.Erase(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenBlob(ctx, "C1", "row", blob); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("after erasure: %v, want ErrErased", err)
	}
	if _, err := s.SealBlob(ctx, "C1", "row", plain); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("sealing for an erased customer: %v, want ErrErased", err)
	}
}
