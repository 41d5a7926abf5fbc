package pii_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// A key destroyed in the key store itself (another process's erasure, not
// this Sealer's Erase) reads as erased at once: the ciphers the Sealer keeps
// set up never answer for a key the store no longer gives.
func TestOpenAfterKeyDestroyedBehindTheSealer(t *testing.T) {
	ctx := context.Background()
	ks := tempKeys(t)
	s := pii.NewSealer(ks)
	_, first := sealEvent(t, s, "C1", customer("C1"))
	_, second := sealEvent(t, s, "C1", customer("C1"))
	if err := s.Open(ctx, "C1", first); err != nil || *first != *customer("C1") {
		t.Fatalf("open before the erasure: %v, %+v", err, first)
	}
	if err := ks.Destroy(ctx, "C1"); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(ctx, "C1", second); err != nil {
		t.Fatal(err)
	}
	for f, v := range personal(second) {
		if v != pii.Erased {
			t.Fatalf("%s after the key store destroyed the key = %q, want %q", f, v, pii.Erased)
		}
	}
}

// Many more customers than the Sealer keeps ciphers for, opened in an order
// that makes them share and evict slots, each open with their own key: a
// field sealed for one customer never opens as another's (the AAD binds it,
// and a slot's cipher is used only for the key it was built from).
func TestOpenManyCustomersInterleaved(t *testing.T) {
	ctx := context.Background()
	s := pii.NewSealer(tempKeys(t))
	const n = 600 // more than the Sealer's slots
	sealed := make([]*events.CustomerRegistered, n)
	for i := range n {
		id := fmt.Sprintf("C%d", i)
		_, sealed[i] = sealEvent(t, s, id, customer(id))
	}
	for round := range 2 {
		for j := range n {
			i := (j*7 + round) % n
			id := fmt.Sprintf("C%d", i)
			d := *sealed[i]
			if err := s.Open(ctx, id, &d); err != nil || d != *customer(id) {
				t.Fatalf("round %d, %s: %v, %+v", round, id, err, d)
			}
			other := *sealed[(i+1)%n]
			if err := s.Open(ctx, id, &other); err == nil {
				t.Fatalf("round %d: a field of %s opened as %s's", round, fmt.Sprintf("C%d", (i+1)%n), id)
			}
		}
	}
}
