package pii

import (
	"crypto/cipher"
	"crypto/subtle"
	"hash/maphash"
	"strings"
	"sync"
)

// gcmSlots is how many ciphers a Sealer keeps set up: one customer's events
// come close together in the log (a seeded or imported customer's whole
// history, a conversation's notes), so a few recent customers cover most
// opens, for about 1 KiB each (8 MiB in all). 512 slots were too few: a
// bank seeded or imported 512 customers at a time interleaves that many in
// the log, and their slots collided, so a third of a replay's opens built
// the cipher again.
const gcmSlots = 8192

// gcmCache keeps the AES-GCM set-up (key schedule and hash table) of
// recently used data keys, so opening a customer's next field does not
// build it again: that set-up and its allocations were about a tenth of a
// replay's CPU. It is a map of gcmSlots slots by customer id, the newest
// entry replacing the one in its slot.
//
// An entry is used only for the very key it was built from: the caller asks
// the key store first (which alone knows a key destroyed, here or in another
// process) and hands the key in, so a cached cipher never outlives the
// store's answer. Sealer.Erase also drops the customer's entry, so an erased
// key's schedule does not linger here.
//
// The AEADs of crypto/cipher's AES-GCM are not changed by Seal or Open
// (they hold the key schedule and the hash key, set when built), so one
// entry serves the Sealer's concurrent callers.
type gcmCache struct {
	seed  maphash.Seed
	mu    sync.Mutex
	slots *[gcmSlots]gcmEntry
}

type gcmEntry struct {
	id  string
	key [32]byte
	gcm cipher.AEAD
}

func newGCMCache() gcmCache {
	return gcmCache{seed: maphash.MakeSeed(), slots: new([gcmSlots]gcmEntry)}
}

func (c *gcmCache) slot(id string) *gcmEntry {
	return &c.slots[maphash.String(c.seed, id)%gcmSlots]
}

// get returns the cipher built from key for id, or nil.
func (c *gcmCache) get(id string, key []byte) cipher.AEAD {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.slot(id)
	if e.gcm == nil || e.id != id || subtle.ConstantTimeCompare(e.key[:], key) != 1 {
		return nil
	}
	return e.gcm
}

// put caches gcm, built from key, for id.
func (c *gcmCache) put(id string, key []byte, gcm cipher.AEAD) {
	if len(key) != len(gcmEntry{}.key) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.slot(id)
	e.id, e.gcm = strings.Clone(id), gcm // id may share the memory of a whole read of the log
	copy(e.key[:], key)
}

// forget drops id's entry.
func (c *gcmCache) forget(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e := c.slot(id); e.id == id {
		*e = gcmEntry{}
	}
}
