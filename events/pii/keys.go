package pii

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/events"
)

// KeyStore keeps one data key per customer, apart from the log.
type KeyStore interface {
	// DataKey returns the customer's 32-byte data key, a copy the caller
	// may wipe. If the customer has none, it is created when create is true
	// (durably, before DataKey returns) and the error is ErrNoKey otherwise.
	// A destroyed key returns ErrErased, with or without create: erasure is
	// for good. Other errors: Invalid (customer id), Unavailable (closed).
	DataKey(ctx context.Context, customerID string, create bool) ([]byte, error)

	// Destroy deletes the customer's data key for good and records that it
	// did, so the key can never be re-created. Destroying twice, or
	// destroying a customer that never had a key, is not an error.
	Destroy(ctx context.Context, customerID string) error

	// Close releases the key store and wipes the keys it holds in memory.
	Close() error
}

// ErrErased is returned (wrapped) for a customer whose data key was
// destroyed. Its code is NotFound; match it with errors.Is.
var ErrErased = &events.Error{Code: events.NotFound, Message: "personal data erased"}

// ErrNoKey is returned (wrapped) by DataKey without create for a customer
// who has no data key yet. Its code is NotFound.
var ErrNoKey = &events.Error{Code: events.NotFound, Message: "no data key"}

// ErrWrongMasterKey is returned (wrapped, with both key ids) by OpenBoltKeys
// when the key store was created under another master key. Its code is
// Invalid.
var ErrWrongMasterKey = &events.Error{Code: events.Invalid, Message: "wrong master key for the key store"}

var (
	bucketMeta   = []byte("meta")
	bucketKeys   = []byte("keys")
	bucketErased = []byte("erased")

	metaFormat = []byte("format")
	metaKeyID  = []byte("masterKeyId")
	metaCheck  = []byte("check")

	checkPlain = []byte("dangol keys.db v1")
)

const (
	storeFormat = "1"
	wrapVersion = 1  // first byte of a wrapped key; lets a future rotation tell keys apart
	nonceSize   = 12 // AES-GCM standard nonce
)

// Domain separation of what the master key encrypts: the check blob and the
// data keys can never be mistaken for one another.
const (
	aadCheck = "dangol/pii/check\x00"
	aadKey   = "dangol/pii/key\x00"
)

// BoltKeys is the KeyStore of the embedded deployment: a bbolt file (keys.db)
// next to the log, never inside it, so the log and its backups hold no key.
//
// Layout: bucket "keys" maps a customer id to its data key wrapped by the
// master key (version byte ‖ nonce ‖ AES-256-GCM ciphertext, AAD naming the
// customer); bucket "erased" maps a customer id to the RFC 3339 time its key
// was destroyed; bucket "meta" holds the master key's id and a check blob
// encrypted under it, which is how a wrong master key is detected.
//
// Residual risk: bbolt copies pages on write and only reuses freed pages
// later, so after Destroy the wrapped key may still sit in a free page of
// keys.db until that page is reused, and in any copy or backup of the file
// taken before. It is wrapped, so it is useless without the master key; but
// whoever holds both an old keys.db and the master key can recover erased
// data. Compact writes a copy holding only live keys, to replace the file
// during maintenance; backups of keys.db must expire (docs/personal-data.md).
//
// BoltKeys is safe for concurrent use.
type BoltKeys struct {
	db     *bolt.DB
	path   string
	master MasterKey
	cache  *keyCache
}

var _ KeyStore = (*BoltKeys)(nil)

// OpenBoltKeys opens (creating if needed, mode 0600) the key store at path
// under master. A store created under another master key is refused with
// ErrWrongMasterKey; a file locked by another process for a second is
// Unavailable; anything else is Internal.
func OpenBoltKeys(path string, master MasterKey) (*BoltKeys, error) {
	if master.IsZero() {
		return nil, events.Errorf(events.Invalid, "open key store %s: no master key", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, &events.Error{Code: events.Unavailable, Message: "key store " + path + " is locked by another process", Err: err}
	}
	if err != nil {
		return nil, &events.Error{Code: events.Internal, Message: "open key store " + path, Err: err}
	}
	k := &BoltKeys{db: db, path: path, master: master, cache: newKeyCache(DefaultCacheSize)}
	if err := k.init(); err != nil {
		db.Close()
		return nil, err
	}
	return k, nil
}

// init creates the buckets and the check blob on first open, and verifies
// the master key against the check blob on every later one.
func (k *BoltKeys) init() error {
	gcm, err := k.master.aead()
	if err != nil {
		return err
	}
	return k.update("open", func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketKeys, bucketErased} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		check := meta.Get(metaCheck)
		if check == nil {
			if tx.Bucket(bucketKeys).Stats().KeyN > 0 {
				return events.Errorf(events.Internal, "key store %s holds keys but no master key check", k.path)
			}
			blob, err := seal(gcm, checkPlain, []byte(aadCheck))
			if err != nil {
				return err
			}
			if err := meta.Put(metaCheck, blob); err != nil {
				return err
			}
			if err := meta.Put(metaFormat, []byte(storeFormat)); err != nil {
				return err
			}
			return meta.Put(metaKeyID, []byte(k.master.ID()))
		}
		if f := string(meta.Get(metaFormat)); f != storeFormat {
			return events.Errorf(events.Internal, "key store %s has format %q, this build reads %q", k.path, f, storeFormat)
		}
		plain, err := open(gcm, check, []byte(aadCheck))
		if err != nil || !bytes.Equal(plain, checkPlain) {
			return &events.Error{Code: ErrWrongMasterKey.Code, Message: ErrWrongMasterKey.Message,
				Err: fmt.Errorf("%s was created under master key %s, this is master key %s",
					k.path, meta.Get(metaKeyID), k.master.ID())}
		}
		return nil
	})
}

// DataKey implements KeyStore.
func (k *BoltKeys) DataKey(ctx context.Context, customerID string, create bool) ([]byte, error) {
	return cachedDataKey(ctx, k.cache, customerID, create, func() (key []byte, erased bool, err error) {
		err = k.view("read data key", func(tx *bolt.Tx) (err error) {
			key, erased, err = k.lookup(tx, customerID)
			return err
		})
		return key, erased, err
	}, func() (key []byte, erased bool, err error) {
		err = k.update("create data key", func(tx *bolt.Tx) (err error) {
			// Look again inside the write transaction: another goroutine or
			// process may have created (or destroyed) it since.
			if key, erased, err = k.lookup(tx, customerID); key != nil || erased || err != nil {
				return err
			}
			key, err = k.newKey(tx, customerID)
			return err
		})
		return key, erased, err
	})
}

// cachedDataKey is DataKey for every key store: the cache first, then
// lookup, then (with create) create, which must itself re-check for a key
// created or destroyed meanwhile. Both return the key, or erased.
func cachedDataKey(ctx context.Context, cache *keyCache, customerID string, create bool,
	lookup, createKey func() (key []byte, erased bool, err error)) ([]byte, error) {
	if err := checkCustomer(ctx, customerID); err != nil {
		return nil, err
	}
	var cached [32]byte
	if found, erased := cache.get(customerID, &cached); found {
		if erased {
			return nil, erasedError(customerID)
		}
		key := make([]byte, 32)
		copy(key, cached[:])
		clear(cached[:])
		return key, nil
	}
	gen := cache.generation()
	key, erased, err := lookup()
	if err == nil && key == nil && !erased && create {
		key, erased, err = createKey()
	}
	switch {
	case err != nil:
		return nil, err
	case erased:
		cache.putErased(customerID)
		return nil, erasedError(customerID)
	case key == nil:
		return nil, fmt.Errorf("customer %s: %w", customerID, ErrNoKey)
	}
	cache.putKey(customerID, key, gen)
	return key, nil
}

// lookup returns the unwrapped key of id, or whether it was erased; neither
// if id has no key.
func (k *BoltKeys) lookup(tx *bolt.Tx, id string) (key []byte, erased bool, err error) {
	if tx.Bucket(bucketErased).Get([]byte(id)) != nil {
		return nil, true, nil
	}
	wrapped := tx.Bucket(bucketKeys).Get([]byte(id))
	if wrapped == nil {
		return nil, false, nil
	}
	key, err = k.unwrap(id, wrapped)
	return key, false, err
}

// newKey generates, wraps and stores a data key for id.
func (k *BoltKeys) newKey(tx *bolt.Tx, id string) ([]byte, error) {
	key, wrapped, err := newWrappedKey(k.master, id)
	if err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketKeys).Put([]byte(id), wrapped); err != nil {
		return nil, err
	}
	return key, nil
}

func (k *BoltKeys) unwrap(id string, wrapped []byte) ([]byte, error) {
	return unwrapKey(k.master, id, wrapped)
}

// newWrappedKey generates a data key for customer id and returns it with
// its wrapped form (version byte ‖ nonce ‖ AES-256-GCM under the master
// key, the AAD naming the customer), the only form ever stored.
func newWrappedKey(master MasterKey, id string) (key, wrapped []byte, err error) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, &events.Error{Code: events.Internal, Message: "generate data key", Err: err}
	}
	gcm, err := master.aead()
	if err != nil {
		return nil, nil, err
	}
	sealed, err := seal(gcm, key, []byte(aadKey+id))
	if err != nil {
		return nil, nil, err
	}
	return key, append([]byte{wrapVersion}, sealed...), nil
}

// unwrapKey reverses newWrappedKey.
func unwrapKey(master MasterKey, id string, wrapped []byte) ([]byte, error) {
	if len(wrapped) == 0 || wrapped[0] != wrapVersion {
		return nil, events.Errorf(events.Internal, "data key of customer %s: unknown wrapping", id)
	}
	gcm, err := master.aead()
	if err != nil {
		return nil, err
	}
	key, err := open(gcm, wrapped[1:], []byte(aadKey+id))
	if err != nil || len(key) != 32 {
		return nil, events.Errorf(events.Internal, "data key of customer %s does not authenticate under %s", id, master)
	}
	return key, nil
}

// Destroy implements KeyStore. The wrapped key is deleted and the erasure
// recorded in one transaction, durable when Destroy returns; the key is then
// wiped from the cache. See BoltKeys for what may survive in free pages.
func (k *BoltKeys) Destroy(ctx context.Context, customerID string) error {
	if err := checkCustomer(ctx, customerID); err != nil {
		return err
	}
	err := k.update("destroy data key", func(tx *bolt.Tx) error {
		id := []byte(customerID)
		if err := tx.Bucket(bucketKeys).Delete(id); err != nil {
			return err
		}
		erased := tx.Bucket(bucketErased)
		if erased.Get(id) != nil {
			return nil // keep the time of the first erasure
		}
		return erased.Put(id, []byte(time.Now().UTC().Format(time.RFC3339Nano)))
	})
	if err != nil {
		return err
	}
	k.cache.destroyed(customerID)
	return nil
}

// ErasedAt returns when the customer's key was destroyed, or false if it was
// not. Errors: Invalid (customer id), Unavailable (closed), Internal.
func (k *BoltKeys) ErasedAt(ctx context.Context, customerID string) (time.Time, bool, error) {
	if err := checkCustomer(ctx, customerID); err != nil {
		return time.Time{}, false, err
	}
	var at time.Time
	var found bool
	err := k.view("read erasure", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketErased).Get([]byte(customerID))
		if v == nil {
			return nil
		}
		found = true
		var err error
		at, err = time.Parse(time.RFC3339Nano, string(v))
		return err
	})
	return at, found, err
}

// Compact writes a copy of the key store to dst (which must not exist)
// holding only live keys, erasure records and the master key check: the
// free pages that may still hold destroyed wrapped keys are not copied. Stop
// the service, compact, replace keys.db with dst, and securely delete the
// old file (on SSDs and copy-on-write filesystems overwriting is not enough;
// rely on full-disk encryption there). Errors: Invalid (dst exists),
// Internal.
func (k *BoltKeys) Compact(dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return events.Errorf(events.Invalid, "compact key store: %s already exists", dst)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return &events.Error{Code: events.Internal, Message: "compact key store: open " + dst, Err: err}
	}
	err = bolt.Compact(out, k.db, 0)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return k.translate("compact key store", err)
	}
	return nil
}

// CacheStats returns the data key cache counters.
func (k *BoltKeys) CacheStats() CacheStats { return k.cache.snapshot() }

// Path returns the file the key store lives in.
func (k *BoltKeys) Path() string { return k.path }

// Close implements KeyStore. It is safe to call more than once.
func (k *BoltKeys) Close() error {
	k.cache.wipe()
	if err := k.db.Close(); err != nil {
		return &events.Error{Code: events.Internal, Message: "close key store " + k.path, Err: err}
	}
	return nil
}

func (k *BoltKeys) view(op string, f func(*bolt.Tx) error) error {
	return k.translate(op, k.db.View(f))
}

func (k *BoltKeys) update(op string, f func(*bolt.Tx) error) error {
	return k.translate(op, k.db.Update(f))
}

// translate turns bbolt's errors into *events.Error.
func (k *BoltKeys) translate(op string, err error) error {
	var e *events.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, bolt.ErrDatabaseNotOpen):
		return &events.Error{Code: events.Unavailable, Message: "key store closed"}
	}
	return &events.Error{Code: events.Internal, Message: op + " in key store " + k.path, Err: err}
}

func checkCustomer(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return &events.Error{Code: events.Unavailable, Message: "key store request cancelled", Err: err}
	}
	if id == "" || len(id) > 256 {
		return events.InvalidField("customerId", "must be 1-256 bytes")
	}
	return nil
}

func erasedError(id string) error { return fmt.Errorf("customer %s: %w", id, ErrErased) }

// seal encrypts plain under gcm with a random nonce and returns nonce ‖
// ciphertext.
func seal(gcm cipher.AEAD, plain, aad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plain)+gcm.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, &events.Error{Code: events.Internal, Message: "nonce", Err: err}
	}
	return gcm.Seal(out, out, plain, aad), nil
}

// open reverses seal.
func open(gcm cipher.AEAD, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+gcm.Overhead() {
		return nil, errors.New("too short")
	}
	return gcm.Open(nil, sealed[:nonceSize], sealed[nonceSize:], aad)
}
