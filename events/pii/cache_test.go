package pii

import (
	"fmt"
	"testing"
)

func TestKeyCacheIsBoundedLRU(t *testing.T) {
	c := newKeyCache(3)
	key := func(b byte) []byte { k := make([]byte, 32); k[0] = b; return k }
	for i := byte(1); i <= 3; i++ {
		c.putKey(fmt.Sprint(i), key(i), c.generation())
	}
	var got [32]byte
	if found, _ := c.get("1", &got); !found || got[0] != 1 { // 1 becomes most recent
		t.Fatal("1 missing")
	}
	c.putKey("4", key(4), c.generation()) // evicts 2, the least recent
	if found, _ := c.get("2", &got); found {
		t.Fatal("2 should have been evicted")
	}
	for _, id := range []string{"1", "3", "4"} {
		if found, _ := c.get(id, &got); !found {
			t.Fatalf("%s missing", id)
		}
	}
	if s := c.snapshot(); s.Len != 3 || s.Evictions != 1 {
		t.Fatalf("stats %+v", s)
	}
}

func TestKeyCacheDestroyFencesStaleInserts(t *testing.T) {
	c := newKeyCache(10)
	gen := c.generation() // a reader starts, reads the key from the file...
	c.destroyed("C1")     // ...Destroy commits and tells the cache...
	c.putKey("C1", make([]byte, 32), gen)
	var got [32]byte
	if found, erased := c.get("C1", &got); !found || !erased {
		t.Fatalf("found %v erased %v: the stale key came back", found, erased)
	}
	c.putKey("C1", make([]byte, 32), c.generation()) // even with a fresh generation
	if _, erased := c.get("C1", &got); !erased {
		t.Fatal("an erased entry was overwritten by a key")
	}

	// The fence must hold even when the erasure entry is evicted before the
	// stale insert arrives.
	small := newKeyCache(1)
	gen = small.generation()
	small.destroyed("C1")
	small.putKey("C2", make([]byte, 32), small.generation()) // evicts C1's entry
	small.putKey("C1", make([]byte, 32), gen)
	if found, _ := small.get("C1", &got); found {
		t.Fatal("a key read before Destroy was cached after it")
	}
}
