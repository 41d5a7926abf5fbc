package pii_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
)

// TestPrefetchSameAsDataKey: Keys.Prefetch (one read transaction for a
// batch's customers) leaves DataKey answering exactly what it answers
// without it: the same keys, erased customers erased, customers without a
// key still without one (Prefetch creates none), bad ids ignored; the
// prefetched keys are then found in the cache. Over a vault that cannot
// read in batches it does nothing.
func TestPrefetchSameAsDataKey(t *testing.T) {
	ctx := context.Background()
	path, m := filepath.Join(t.TempDir(), "keys.db"), newMaster(t)
	k := openKeys(t, path, m)
	want := map[string][]byte{}
	for i := range 40 {
		id := fmt.Sprintf("C%03d", i)
		key, err := k.DataKey(ctx, id, true)
		if err != nil {
			t.Fatal(err)
		}
		want[id] = key
	}
	for _, id := range []string{"C003", "C017", "C018"} {
		if err := k.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
		delete(want, id)
	}
	k.Close()

	ids := []string{"C039", "C003", "", "NOKEY", "C001", "C001", string(make([]byte, 300))}
	for i := range 40 {
		ids = append(ids, fmt.Sprintf("C%03d", 39-i))
	}
	fresh := openKeys(t, path, m) // a cold cache, as at a start
	if err := fresh.Prefetch(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if st := fresh.CacheStats(); st.Len != 40 || st.Misses != 0 || st.Hits != 0 {
		t.Fatalf("after the prefetch: %+v, want the 40 customers with a key or an erasure cached, no look-up counted", st)
	}
	for i := range 40 {
		id := fmt.Sprintf("C%03d", i)
		got, err := fresh.DataKey(ctx, id, false)
		switch w, ok := want[id]; {
		case !ok && !errors.Is(err, pii.ErrErased):
			t.Fatalf("%s: %v, want ErrErased", id, err)
		case ok && (err != nil || !bytes.Equal(got, w)):
			t.Fatalf("%s: key %x, %v; want %x", id, got, err, w)
		}
	}
	if st := fresh.CacheStats(); st.Hits != 40 || st.Misses != 0 {
		t.Fatalf("DataKey after the prefetch: %+v, want 40 hits", st)
	}
	if _, err := fresh.DataKey(ctx, "NOKEY", false); !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("NOKEY after the prefetch: %v, want ErrNoKey (none created)", err)
	}
	fresh.Close()

	v, err := boltkeys.OpenVault(path)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := pii.OpenKeys(ctx, struct{ pii.Vault }{v}, m) // hides WrappedEach
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Prefetch(ctx, ids); err != nil || plain.CacheStats().Len != 0 {
		t.Fatalf("Prefetch over a vault without WrappedEach: %v, %+v; want nothing done", err, plain.CacheStats())
	}
}

// TestPrefetchKeysOpensTheSame: a Sealer's PrefetchKeys ahead of
// OpenEnvelope over a batch of customer events changes nothing
// OpenEnvelope returns, and the opens find their keys in the cache.
func TestPrefetchKeysOpensTheSame(t *testing.T) {
	ctx := context.Background()
	path, m := filepath.Join(t.TempDir(), "keys.db"), newMaster(t)
	k := openKeys(t, path, m)
	s := pii.NewSealer(k)
	var envs []events.Envelope
	for i := range 30 {
		id := fmt.Sprintf("C%03d", i%10)
		d := customer(id)
		d.Phone = fmt.Sprintf("+82-10-5550-%04d", i)
		e, _ := sealEvent(t, s, id, d)
		envs = append(envs, events.Envelope{ID: e.ID, Stream: "customer-" + id, Version: uint64(i / 10), Type: e.Type, Schema: e.Schema, Actor: e.Actor, Data: e.Data})
	}
	envs = append(envs, events.Envelope{Stream: "staff-S1", Type: "ContactLogged", Data: []byte(`{}`)})
	k.Close()

	open := func(prefetch bool) []string {
		k := openKeys(t, path, m)
		defer k.Close()
		s := pii.NewSealer(k)
		if prefetch {
			s.PrefetchKeys(ctx, envs)
		}
		var out []string
		for i := range envs {
			d, err := s.OpenEnvelope(ctx, &envs[i])
			out = append(out, fmt.Sprintf("%#v %v", d, err))
		}
		if st := k.CacheStats(); prefetch && st.Misses != 0 {
			t.Errorf("opens after the prefetch: %+v, want no miss", st)
		}
		return out
	}
	plain, pre := open(false), open(true)
	for i := range plain {
		if plain[i] != pre[i] {
			t.Fatalf("event %d: with the prefetch %s, without %s", i, pre[i], plain[i])
		}
	}
}
