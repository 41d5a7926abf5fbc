package pii

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/dangol/dangol/events"
)

// KeyStore keeps one data key per customer, apart from the log. Keys, the
// one implementation, keeps them wrapped in a Vault.
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

// ErrWrongMasterKey is returned (wrapped, with both key ids) by OpenKeys
// when the vault was created under another master key. Its code is Invalid.
var ErrWrongMasterKey = &events.Error{Code: events.Invalid, Message: "wrong master key for the key store"}

// Vault is where a key store keeps customers' data keys: wrapped by the
// master key, so a vault, its files, rows and backups never hold a key in
// clear, and the crypto stays in this package. The backends are
// subpackages named after the database they wrap (events/pii/boltkeys,
// events/pii/pgkeys); events/pii/piitest is the contract they pass.
//
// A Vault must be safe for concurrent use, and its errors should be
// *events.Error: Unavailable once closed or while the database is
// unreachable, Internal otherwise.
type Vault interface {
	// MasterCheck stores check, a blob sealed under the master key whose id
	// is keyID, unless the vault holds one already, and returns the one it
	// holds and that key's id. It is how a wrong master key is detected.
	MasterCheck(ctx context.Context, keyID string, check []byte) (storedID string, stored []byte, err error)

	// Wrapped returns the customer's wrapped key, or erased if it was
	// destroyed; nil and false if the customer never had one.
	Wrapped(ctx context.Context, customerID string) (wrapped []byte, erased bool, err error)

	// PutWrapped stores wrapped as the customer's key, durably before it
	// returns, unless the customer has a key (then it returns that one) or
	// was erased (then erased is true), atomically with respect to Destroy
	// and other PutWrapped calls, in this process or another.
	PutWrapped(ctx context.Context, customerID string, wrapped []byte) (stored []byte, erased bool, err error)

	// Destroy deletes the customer's wrapped key and records the erasure,
	// in one step, durably before it returns; destroying twice keeps the
	// first record and is not an error.
	Destroy(ctx context.Context, customerID string) error

	// Close releases the vault. It is safe to call more than once.
	Close() error
}

// BatchVault is a Vault that reads many customers' wrapped keys at once:
// a replay's look-ups of the customers of a batch of events in one read
// transaction instead of one each (Keys.Prefetch).
type BatchVault interface {
	// WrappedEach calls fn with what Wrapped would return for each of ids,
	// in order, in one read of the vault. wrapped is valid only during fn.
	WrappedEach(ctx context.Context, ids []string, fn func(id string, wrapped []byte, erased bool)) error
}

// checkPlain is what the master key check blob seals.
var checkPlain = []byte("dangol keys.db v1")

const (
	wrapVersion = 1  // first byte of a wrapped key; lets a future rotation tell keys apart
	nonceSize   = 12 // AES-GCM standard nonce
)

// Domain separation of what the master key encrypts: the check blob and the
// data keys can never be mistaken for one another.
const (
	aadCheck = "dangol/pii/check\x00"
	aadKey   = "dangol/pii/key\x00"
)

// Keys is the KeyStore over a Vault: it wraps new data keys with the master
// key (version byte ‖ nonce ‖ AES-256-GCM ciphertext, the AAD naming the
// customer), unwraps stored ones, and caches unwrapped keys and erasures
// (DefaultCacheSize customers), so a replay does not read the vault for
// every field. It is safe for concurrent use.
//
// Across processes sharing a vault, a key destroyed by one process may stay
// in another's cache until that process destroys it too, which it does on
// applying the PersonalDataErased event (Sealer.EnforceErasure): a window of
// its projection lag.
type Keys struct {
	vault  Vault
	master MasterKey
	wrap   cipher.AEAD // AES-256-GCM under master, set up once: a replay unwraps every customer's key
	cache  *keyCache

	mu     sync.RWMutex // held for reading by calls in flight, for writing by Close
	closed bool
}

var _ KeyStore = (*Keys)(nil)

// OpenKeys returns the key store over v under master, checking master
// against the vault's check blob (written on first use). A vault created
// under another master key is refused with ErrWrongMasterKey (Invalid); the
// vault's own errors are returned as they are. Keys.Close closes v; v is not
// closed when OpenKeys fails.
func OpenKeys(ctx context.Context, v Vault, master MasterKey) (*Keys, error) {
	gcm, err := master.aead()
	if err != nil {
		return nil, err
	}
	blob, err := seal(gcm, checkPlain, []byte(aadCheck))
	if err != nil {
		return nil, err
	}
	id, check, err := v.MasterCheck(ctx, master.ID(), blob)
	if err != nil {
		return nil, err
	}
	if plain, err := open(gcm, check, []byte(aadCheck)); err != nil || !bytes.Equal(plain, checkPlain) {
		return nil, &events.Error{Code: ErrWrongMasterKey.Code, Message: ErrWrongMasterKey.Message,
			Err: fmt.Errorf("the key store was created under master key %s, this is master key %s", id, master.ID())}
	}
	return &Keys{vault: v, master: master, wrap: gcm, cache: newKeyCache(DefaultCacheSize)}, nil
}

// DataKey implements KeyStore: the cache first, then the vault, then (with
// create) a new key, unless another goroutine or process stored one first.
func (k *Keys) DataKey(ctx context.Context, customerID string, create bool) ([]byte, error) {
	if err := k.begin(ctx, customerID); err != nil {
		return nil, err
	}
	defer k.mu.RUnlock()
	var cached [32]byte
	if found, erased := k.cache.get(customerID, &cached); found {
		if erased {
			return nil, erasedError(customerID)
		}
		key := make([]byte, 32)
		copy(key, cached[:])
		clear(cached[:])
		return key, nil
	}
	// A Destroy that commits after this point bumps the generation, so the
	// key read below is not put back into the cache (keyCache.putKey).
	gen := k.cache.generation()
	key, erased, err := k.lookup(ctx, customerID)
	if err == nil && key == nil && !erased && create {
		key, erased, err = k.create(ctx, customerID)
	}
	switch {
	case err != nil:
		return nil, err
	case erased:
		k.cache.putErased(customerID)
		return nil, erasedError(customerID)
	case key == nil:
		return nil, fmt.Errorf("customer %s: %w", customerID, ErrNoKey)
	}
	k.cache.putKey(customerID, key, gen)
	return key, nil
}

// Prefetch puts the keys (or erasures) of those of customerIDs not in the
// cache into it, read from the vault in one read when it is a BatchVault
// (otherwise Prefetch does nothing): what DataKey then finds is what it
// would have read itself. A key destroyed meanwhile is not cached (the
// generation check of DataKey); customers without a key are left for
// DataKey (which may create one), and so is a key that does not unwrap
// (DataKey reports it). ids may repeat and come in any order.
func (k *Keys) Prefetch(ctx context.Context, customerIDs []string) error {
	bv, ok := k.vault.(BatchVault)
	if !ok || len(customerIDs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return &events.Error{Code: events.Unavailable, Message: "key store request cancelled", Err: err}
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.closed {
		return &events.Error{Code: events.Unavailable, Message: "key store closed"}
	}
	missing := k.cache.missing(customerIDs)
	if len(missing) == 0 {
		return nil
	}
	gen := k.cache.generation()
	return bv.WrappedEach(ctx, missing, func(id string, wrapped []byte, erased bool) {
		switch {
		case erased:
			k.cache.putErased(id)
		case wrapped != nil:
			if key, err := k.unwrapKey(id, wrapped); err == nil {
				k.cache.putKey(id, key, gen)
				clear(key)
			}
		}
	})
}

// lookup returns the customer's unwrapped key from the vault, or erased.
func (k *Keys) lookup(ctx context.Context, customerID string) (key []byte, erased bool, err error) {
	wrapped, erased, err := k.vault.Wrapped(ctx, customerID)
	if err != nil || wrapped == nil {
		return nil, erased, err
	}
	key, err = k.unwrapKey(customerID, wrapped)
	return key, false, err
}

// create stores a new key for the customer unless the vault holds one
// already (then that one is returned) or the customer was erased.
func (k *Keys) create(ctx context.Context, customerID string) (key []byte, erased bool, err error) {
	key, wrapped, err := k.newWrappedKey(customerID)
	if err != nil {
		return nil, false, err
	}
	stored, erased, err := k.vault.PutWrapped(ctx, customerID, wrapped)
	if err != nil || erased || !bytes.Equal(stored, wrapped) {
		clear(key)
		if err != nil || erased {
			return nil, erased, err
		}
		// Another goroutine or process stored its key first.
		key, err = k.unwrapKey(customerID, stored)
		return key, false, err
	}
	return key, false, nil
}

// Destroy implements KeyStore: the vault deletes the wrapped key and
// records the erasure, durably when Destroy returns; the key is then wiped
// from the cache. What may survive in the vault's storage is the backend's
// to say (boltkeys.Vault, pgkeys.Vault).
func (k *Keys) Destroy(ctx context.Context, customerID string) error {
	if err := k.begin(ctx, customerID); err != nil {
		return err
	}
	defer k.mu.RUnlock()
	if err := k.vault.Destroy(ctx, customerID); err != nil {
		return err
	}
	k.cache.destroyed(customerID)
	return nil
}

// CacheStats returns the data key cache counters.
func (k *Keys) CacheStats() CacheStats { return k.cache.snapshot() }

// Close implements KeyStore: it waits for calls in flight, wipes the cache
// and closes the vault. Later calls fail with Unavailable. It is safe to
// call more than once.
func (k *Keys) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil
	}
	k.closed = true
	k.cache.wipe()
	return k.vault.Close()
}

// keyID reports whether id can name a data key: 1-256 bytes.
func keyID(id string) bool { return id != "" && len(id) <= 256 }

// begin checks a call's arguments and holds k.mu for reading; the caller
// releases it unless begin fails.
func (k *Keys) begin(ctx context.Context, customerID string) error {
	if err := ctx.Err(); err != nil {
		return &events.Error{Code: events.Unavailable, Message: "key store request cancelled", Err: err}
	}
	if !keyID(customerID) {
		return events.InvalidField("customerId", "must be 1-256 bytes")
	}
	k.mu.RLock()
	if k.closed {
		k.mu.RUnlock()
		return &events.Error{Code: events.Unavailable, Message: "key store closed"}
	}
	return nil
}

func erasedError(id string) error { return fmt.Errorf("customer %s: %w", id, ErrErased) }

// newWrappedKey generates a data key for customer id and returns it with
// its wrapped form, the only form ever stored.
func (k *Keys) newWrappedKey(id string) (key, wrapped []byte, err error) {
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, &events.Error{Code: events.Internal, Message: "generate data key", Err: err}
	}
	sealed, err := seal(k.wrap, key, []byte(aadKey+id))
	if err != nil {
		return nil, nil, err
	}
	return key, append([]byte{wrapVersion}, sealed...), nil
}

// unwrapKey reverses newWrappedKey.
func (k *Keys) unwrapKey(id string, wrapped []byte) ([]byte, error) {
	if len(wrapped) == 0 || wrapped[0] != wrapVersion {
		return nil, events.Errorf(events.Internal, "data key of customer %s: unknown wrapping", id)
	}
	key, err := open(k.wrap, wrapped[1:], []byte(aadKey+id))
	if err != nil || len(key) != 32 {
		return nil, events.Errorf(events.Internal, "data key of customer %s does not authenticate under %s", id, k.master)
	}
	return key, nil
}

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
