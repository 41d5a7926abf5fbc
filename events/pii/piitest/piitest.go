// Package piitest is the contract of a key store (pii.KeyStore over a
// pii.Vault), run by every backend's tests as eventstest is by every log
// store's:
//
//	func TestKeyStore(t *testing.T) {
//		piitest.TestKeyStore(t, func(t testing.TB) piitest.Opener { ... })
//	}
package piitest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// Opener opens a key store under master on one place (a file, a database).
// Each call is one more handle on that place, as a restart (or another
// process) would open it; the suite closes every handle it opens.
type Opener func(master pii.MasterKey) (pii.KeyStore, error)

// TestKeyStore runs every property the KeyStore contract promises, each in a
// subtest on a fresh, empty place: newPlace returns its Opener.
func TestKeyStore(t *testing.T, newPlace func(t testing.TB) Opener) {
	tests := []struct {
		name string
		run  func(t *testing.T, open Opener)
	}{
		{"CreateAndReopen", testCreateAndReopen},
		{"DestroyIsForGood", testDestroyIsForGood},
		{"WrongMasterKeyIsRefused", testWrongMasterKey},
		{"ConcurrentCreateYieldsOneKey", testConcurrentCreate},
		{"DestroyWinsOverConcurrentReaders", testDestroyWinsOverReaders},
		{"ClosedAndBadInput", testClosedAndBadInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newPlace(t)) })
	}
}

// NewMaster returns a random master key.
func NewMaster(t testing.TB) pii.MasterKey {
	t.Helper()
	b := make([]byte, pii.MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	k, err := pii.NewMasterKey(b)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// must opens a handle that is closed when the test ends.
func must(t *testing.T, open Opener, master pii.MasterKey) pii.KeyStore {
	t.Helper()
	ks, err := open(master)
	if err != nil {
		t.Fatalf("open key store: %v", err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := events.ErrorCode(err); got != code {
		t.Fatalf("error code %q, want %q (err: %v)", got, code, err)
	}
}

func testCreateAndReopen(t *testing.T, open Opener) {
	ctx := t.Context()
	master := NewMaster(t)
	ks := must(t, open, master)

	_, err := ks.DataKey(ctx, "C1", false)
	if !errors.Is(err, pii.ErrNoKey) {
		t.Fatalf("DataKey without create on a new customer: %v, want ErrNoKey", err)
	}
	wantCode(t, err, events.NotFound)

	k1, err := ks.DataKey(ctx, "C1", true)
	if err != nil || len(k1) != 32 {
		t.Fatalf("create: %d bytes, %v", len(k1), err)
	}
	k1again, _ := ks.DataKey(ctx, "C1", true)
	k2, _ := ks.DataKey(ctx, "C2", true)
	if !bytes.Equal(k1, k1again) || bytes.Equal(k1, k2) {
		t.Fatal("one key per customer, stable across calls, is broken")
	}
	k1again[0] ^= 1 // a copy: scribbling on it must not change the stored key
	if again, _ := ks.DataKey(ctx, "C1", false); !bytes.Equal(again, k1) {
		t.Fatal("DataKey returned the cache's own slice")
	}
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}

	got, err := must(t, open, master).DataKey(ctx, "C1", false)
	if err != nil || !bytes.Equal(got, k1) {
		t.Fatalf("after reopen: %v, same key %v", err, bytes.Equal(got, k1))
	}
}

func testDestroyIsForGood(t *testing.T, open Opener) {
	ctx := t.Context()
	master := NewMaster(t)
	ks := must(t, open, master)
	if _, err := ks.DataKey(ctx, "C1", true); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // idempotent
		if err := ks.Destroy(ctx, "C1"); err != nil {
			t.Fatalf("destroy #%d: %v", i+1, err)
		}
	}
	// Never-keyed customers can be erased too, and then never get a key.
	if err := ks.Destroy(ctx, "C2"); err != nil {
		t.Fatal(err)
	}
	check := func(ks pii.KeyStore, when string) {
		t.Helper()
		for _, id := range []string{"C1", "C2"} {
			for _, create := range []bool{false, true} {
				key, err := ks.DataKey(ctx, id, create)
				if !errors.Is(err, pii.ErrErased) || key != nil {
					t.Fatalf("%s: DataKey(%s, create=%v) = %x, %v; want ErrErased", when, id, create, key, err)
				}
				wantCode(t, err, events.NotFound)
			}
		}
	}
	check(ks, "same handle")
	ks.Close()
	ks = must(t, open, master)
	check(ks, "after reopen")
	if _, err := ks.DataKey(ctx, "C3", true); err != nil {
		t.Fatalf("other customers are unaffected: %v", err)
	}
}

func testWrongMasterKey(t *testing.T, open Opener) {
	ctx := t.Context()
	right, wrong := NewMaster(t), NewMaster(t)
	ks := must(t, open, right)
	key, err := ks.DataKey(ctx, "C1", true)
	if err != nil {
		t.Fatal(err)
	}
	ks.Close()

	refused, err := open(wrong)
	if err == nil {
		refused.Close()
		t.Fatal("a key store opened under another master key")
	}
	if !errors.Is(err, pii.ErrWrongMasterKey) {
		t.Fatalf("open with another master key: %v, want ErrWrongMasterKey", err)
	}
	wantCode(t, err, events.Invalid)
	if msg := err.Error(); !strings.Contains(msg, right.ID()) || !strings.Contains(msg, wrong.ID()) {
		t.Fatalf("error should name both key ids (%s, %s): %v", right.ID(), wrong.ID(), err)
	}
	// The refused open left the store usable with the right key.
	if got, err := must(t, open, right).DataKey(ctx, "C1", false); err != nil || !bytes.Equal(got, key) {
		t.Fatalf("after a refused open: %v, same key %v", err, bytes.Equal(got, key))
	}
}

func testConcurrentCreate(t *testing.T, open Opener) {
	ctx := t.Context()
	ks := must(t, open, NewMaster(t))
	const goroutines = 16
	for c := range 20 {
		id := fmt.Sprintf("C%d", c)
		keys := make([][]byte, goroutines)
		errs := make([]error, goroutines)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for g := range goroutines {
			wg.Go(func() {
				<-start
				keys[g], errs[g] = ks.DataKey(ctx, id, true)
			})
		}
		close(start)
		wg.Wait()
		for g := range keys {
			if errs[g] != nil {
				t.Fatalf("%s goroutine %d: %v", id, g, errs[g])
			}
			if len(keys[g]) != 32 || !bytes.Equal(keys[g], keys[0]) {
				t.Fatalf("%s: goroutines %d and 0 got different keys", id, g)
			}
		}
		if stored, _ := ks.DataKey(ctx, id, false); !bytes.Equal(stored, keys[0]) {
			t.Fatalf("%s: the stored key differs from the one handed out", id)
		}
	}
}

// A reader that fetched a key from the vault just before a Destroy committed
// must not put it back into the cache afterwards.
func testDestroyWinsOverReaders(t *testing.T, open Opener) {
	ctx := t.Context()
	ks := must(t, open, NewMaster(t))
	for c := range 30 {
		id := fmt.Sprintf("C%d", c)
		if _, err := ks.DataKey(ctx, id, true); err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := ks.DataKey(ctx, id, g%2 == 0); err != nil && !errors.Is(err, pii.ErrErased) {
						t.Error(err)
						return
					}
				}
			})
		}
		if err := ks.Destroy(ctx, id); err != nil {
			t.Fatal(err)
		}
		if _, err := ks.DataKey(ctx, id, false); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("%s right after Destroy: %v, want ErrErased", id, err)
		}
		close(stop)
		wg.Wait()
		if _, err := ks.DataKey(ctx, id, true); !errors.Is(err, pii.ErrErased) {
			t.Fatalf("%s after the readers stopped: %v, want ErrErased", id, err)
		}
	}
}

func testClosedAndBadInput(t *testing.T, open Opener) {
	ctx := t.Context()
	master := NewMaster(t)
	ks := must(t, open, master)
	if _, err := ks.DataKey(ctx, "C1", true); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", strings.Repeat("x", 257)} {
		_, err := ks.DataKey(ctx, id, true)
		wantCode(t, err, events.Invalid)
		wantCode(t, ks.Destroy(ctx, id), events.Invalid)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ks.DataKey(cancelled, "C2", true); !errors.Is(err, context.Canceled) {
		t.Fatalf("DataKey with a cancelled context: %v", err)
	}
	if err := ks.Destroy(cancelled, "C1"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Destroy with a cancelled context: %v", err)
	}
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ks.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	// Closed: the cached key is gone with the handle, nothing is created.
	for _, id := range []string{"C1", "C3"} {
		key, err := ks.DataKey(ctx, id, true)
		if key != nil {
			t.Fatalf("DataKey(%s) after Close returned a key", id)
		}
		wantCode(t, err, events.Unavailable)
	}
	wantCode(t, ks.Destroy(ctx, "C1"), events.Unavailable)
	// The cancelled Destroy destroyed nothing.
	if _, err := must(t, open, master).DataKey(ctx, "C1", false); err != nil {
		t.Fatalf("C1 after a cancelled Destroy: %v", err)
	}
}
