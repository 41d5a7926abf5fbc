package pii

import (
	"slices"
	"strings"
	"sync"
)

// DefaultCacheSize is how many customers' unwrapped data keys (or erasure
// facts) Keys keeps in memory: about 10 MB. A replay of the log opens
// millions of fields; without the cache each would cost a key store read and
// an unwrap.
const DefaultCacheSize = 100_000

// keyCache is a least-recently-used map from customer id to an unwrapped
// data key or the fact that it was erased. Erasure is permanent, so an erased
// entry never goes stale; a key entry is removed by Destroy. gen counts
// destroys: a reader that fetched a key from the store before a concurrent
// Destroy finished must not put it back into the cache afterwards, so it
// inserts only if gen has not moved since it began (see Keys.DataKey).
type keyCache struct {
	mu    sync.Mutex
	max   int
	m     map[string]*cacheEntry
	head  cacheEntry // sentinel of a circular list, most recent first
	gen   uint64
	stats CacheStats
}

type cacheEntry struct {
	id         string
	key        [32]byte
	erased     bool
	prev, next *cacheEntry
}

// CacheStats counts data key cache lookups since the key store was opened.
type CacheStats struct {
	Hits, Misses, Evictions uint64
	Len                     int
}

func newKeyCache(max int) *keyCache {
	c := &keyCache{max: max, m: make(map[string]*cacheEntry)}
	c.head.prev, c.head.next = &c.head, &c.head
	return c
}

// get copies the cached key of id into dst and reports whether id was found
// and whether it is erased.
func (c *keyCache) get(id string, dst *[32]byte) (found, erased bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok {
		c.stats.Misses++
		return false, false
	}
	c.stats.Hits++
	c.unlink(e)
	c.pushFront(e)
	*dst = e.key
	return true, e.erased
}

// missing returns the ids, sorted and each once, that can name a key
// (keyID) and are not in the cache; the cache's order and counters
// are left as they are.
func (c *keyCache) missing(ids []string) []string {
	out := make([]string, 0, len(ids))
	c.mu.Lock()
	for _, id := range ids {
		if _, ok := c.m[id]; !ok && keyID(id) {
			out = append(out, id)
		}
	}
	c.mu.Unlock()
	slices.Sort(out)
	return slices.Compact(out)
}

// generation returns the current destroy count.
func (c *keyCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

// putKey caches key for id unless a Destroy ran since gen was read.
func (c *keyCache) putKey(id string, key []byte, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return
	}
	e := c.entry(id)
	if e.erased {
		return
	}
	copy(e.key[:], key)
}

// putErased caches that id's key was destroyed.
func (c *keyCache) putErased(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e := c.entry(id)
	clear(e.key[:])
	e.erased = true
}

// destroyed records a committed Destroy of id: the key is wiped from memory,
// the erasure cached, and readers in flight are kept from re-caching the key.
func (c *keyCache) destroyed(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	e := c.entry(id)
	clear(e.key[:])
	e.erased = true
}

// entry returns id's entry, most recent, creating it (and evicting the least
// recent one) if needed. c.mu is held.
func (c *keyCache) entry(id string) *cacheEntry {
	if e, ok := c.m[id]; ok {
		c.unlink(e)
		c.pushFront(e)
		return e
	}
	var e *cacheEntry
	if len(c.m) >= c.max && c.head.prev != &c.head {
		e = c.head.prev
		c.unlink(e)
		delete(c.m, e.id)
		c.stats.Evictions++
		*e = cacheEntry{} // wipes the evicted key
	} else {
		e = new(cacheEntry)
	}
	// Callers may pass a string that shares a large read buffer (envelope
	// fields do); the cache outlives it, so it keeps its own copy.
	id = strings.Clone(id)
	e.id = id
	c.m[id] = e
	c.pushFront(e)
	return e
}

func (c *keyCache) unlink(e *cacheEntry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

func (c *keyCache) pushFront(e *cacheEntry) {
	e.prev, e.next = &c.head, c.head.next
	c.head.next.prev = e
	c.head.next = e
}

// wipe empties the cache, zeroing every key.
func (c *keyCache) wipe() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.m {
		*e = cacheEntry{}
	}
	c.m = make(map[string]*cacheEntry)
	c.head.prev, c.head.next = &c.head, &c.head
}

func (c *keyCache) snapshot() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Len = len(c.m)
	return s
}
