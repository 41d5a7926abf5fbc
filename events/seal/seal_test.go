package seal

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

// TestCompactMatchesTlog holds the compact tree to tlog's: the same root
// at every size, and a compact tree restarted from a frontier continues it.
func TestCompactMatchesTlog(t *testing.T) {
	var stored []tlog.Hash
	reader := tlog.HashReaderFunc(func(idx []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(idx))
		for i, x := range idx {
			out[i] = stored[x]
		}
		return out, nil
	})
	c, _ := NewCompact(0, nil)
	for n := int64(0); n < 300; n++ {
		leaf := sha256.Sum256([]byte{byte(n), byte(n >> 8)})
		hs, err := tlog.StoredHashes(n, leaf[:], reader)
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hs...)
		c.Append(tlog.RecordHash(leaf[:]))
		want, err := tlog.TreeHash(n+1, reader)
		if err != nil {
			t.Fatal(err)
		}
		if c.Root() != want {
			t.Fatalf("size %d: compact root %v, tlog %v", n+1, c.Root(), want)
		}
		r, err := NewCompact(c.Size(), c.Frontier())
		if err != nil || r.Root() != want {
			t.Fatalf("size %d: restarted compact tree: %v", n+1, err)
		}
	}
	if _, err := NewCompact(5, make([]tlog.Hash, 1)); err == nil {
		t.Fatal("a frontier of the wrong length was accepted")
	}
}

// TestEmptyTreeRoot: the tree of no leaves has tlog's root (RFC 6962's
// hash of the empty string) in the compact tree as in the stored one, so
// that a checkpoint of size 0 says the same to every checker.
func TestEmptyTreeRoot(t *testing.T) {
	want, err := tlog.TreeHash(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := NewCompact(0, nil)
	if c.Root() != want {
		t.Fatalf("compact root of no leaves %v, tlog %v", c.Root(), want)
	}
	tr := openTree(t, t.TempDir())
	if got, err := tr.Root(0); err != nil || got != want {
		t.Fatalf("stored root of no leaves %v %v, tlog %v", got, err, want)
	}
}

// TestCheckpointSignAndOpen signs a checkpoint and opens it with the
// verifier key as /v1/audit/key serves it; a changed size, another key or
// another origin is refused.
func TestCheckpointSignAndOpen(t *testing.T) {
	k, err := NewKey("dangol.test", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	cp := Checkpoint{Origin: "dangol.test", Size: 42, Root: tlog.RecordHash([]byte("x"))}
	signed, sig, err := k.SignCheckpoint(cp)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Verify(cp.Body(), sig) {
		t.Fatal("raw signature does not verify")
	}
	v, err := ParseVerifierKey(k.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.OpenCheckpoint([]byte(signed))
	if err != nil || got != cp {
		t.Fatalf("open: %+v %v", got, err)
	}
	if got, err := ParseCheckpoint(checkpointBody(signed)); err != nil || got != cp {
		t.Fatalf("checkpoint body: %+v %v", got, err)
	}
	forged := strings.Replace(signed, "\n42\n", "\n43\n", 1)
	if _, err := v.OpenCheckpoint([]byte(forged)); err == nil {
		t.Fatal("a changed size verified")
	}
	other, _ := NewKey("dangol.test", bytes.Repeat([]byte{8}, 32))
	if _, err := other.OpenCheckpoint([]byte(signed)); err == nil {
		t.Fatal("another key verified")
	}
	elsewhere, _ := NewKey("elsewhere", bytes.Repeat([]byte{7}, 32))
	signed2, _, _ := elsewhere.SignCheckpoint(Checkpoint{Origin: "dangol.test", Size: 1})
	if _, err := elsewhere.OpenCheckpoint([]byte(signed2)); err == nil {
		t.Fatal("a checkpoint of another origin opened")
	}
	if s := k.String(); strings.Contains(s, "PRIVATE") {
		t.Fatalf("key prints %q", s)
	}
}
