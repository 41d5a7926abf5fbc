package pii

import (
	"context"
	"crypto/cipher"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dangol/dangol/events"
)

// Prefix starts every sealed value: "pii:v1:" then base64url (unpadded) of
// nonce ‖ AES-256-GCM ciphertext and tag. The version lets a later scheme
// coexist with this one in the same log.
const Prefix = "pii:v1:"

// Erased is what a sealed field reads as once the customer's data key was
// destroyed. Readers get it instead of an error, so a customer view, a replay
// or an export of an erased customer still works.
const Erased = "[erased]"

// ErasureEvent is the catalog type that records an erasure; see
// EnforceErasure.
const ErasureEvent = "PersonalDataErased"

var b64 = base64.RawURLEncoding

// Sealer encrypts and decrypts the personal fields of customer events with
// the customers' data keys from a KeyStore. It is safe for concurrent use.
//
// Each field is sealed with a fresh random 96-bit nonce. A data key seals
// only one customer's fields, far fewer than the 2^32 messages after which
// random GCM nonces would start to risk a collision.
//
// The additional data of each field is customerID NUL eventType NUL field, so
// a ciphertext moved to another customer, event type or field no longer
// opens. Two consequences: the field names an events.Personal reports are
// part of the stored data and must never change for an existing type (an
// upcaster cannot rename a sealed field), and moving a ciphertext between two
// events of the same type, field and customer is not detected here; the hash
// chain, which covers the ciphertext, detects that and every other change.
type Sealer struct {
	ks   KeyStore
	gcms gcmCache
}

// NewSealer returns a Sealer over ks.
func NewSealer(ks KeyStore) *Sealer { return &Sealer{ks: ks, gcms: newGCMCache()} }

// SealFor returns a function for events.Meta.Seal that seals the personal
// fields of an event of customer customerID, creating the customer's data key
// on first use. It fails with ErrErased (NotFound) if the customer was erased
// and the event holds personal data; an event with every personal field
// empty needs no key and is left alone.
//
// Sealing replaces the values in place, so data handed to events.NewEvent
// with this function must not be handed to it a second time: the second
// call would seal the ciphertext again. Build the data afresh for a retry.
func (s *Sealer) SealFor(ctx context.Context, customerID string) func(events.Personal) error {
	return func(p events.Personal) error { return s.Seal(ctx, customerID, p) }
}

// Seal replaces every non-empty personal field of p with its sealed form
// under customerID's data key (see SealFor). Empty fields stay empty: an
// optional field left out is not personal data. Every non-empty value is
// sealed, including one that looks sealed already, so a customer typing
// "pii:v1:..." cannot smuggle an unsealed value into the log. Errors:
// ErrErased (NotFound), or what the key store returns.
func (s *Sealer) Seal(ctx context.Context, customerID string, p events.Personal) error {
	need := false
	p.EachPersonal(func(_ string, v *string) { need = need || *v != "" })
	if !need {
		return nil
	}
	gcm, err := s.aead(ctx, customerID, true)
	if err != nil {
		return fmt.Errorf("seal %s: %w", p.EventType(), err)
	}
	typ := p.EventType()
	var aad []byte
	var failed error
	p.EachPersonal(func(field string, v *string) {
		if *v == "" || failed != nil {
			return
		}
		aad = appendAAD(aad[:0], customerID, typ, field)
		sealed, err := seal(gcm, []byte(*v), aad)
		if err != nil {
			failed = err
			return
		}
		*v = Prefix + b64.EncodeToString(sealed)
	})
	return failed
}

// Open decrypts in place every sealed personal field of p, an event of
// customer customerID. Values without Prefix (empty, or written before
// sealing was enabled) are left as they are. If the customer's key was
// destroyed, every sealed field becomes Erased and Open returns nil.
//
// Errors are Internal: a sealed value that is malformed or does not
// authenticate (tampered with, moved from another field, event type or
// customer, or sealed under another key) names its field in Error.Field; a
// customer with sealed data but no key and no erasure record (keys.db lost,
// or restored from a backup older than the log) wraps ErrNoKey.
func (s *Sealer) Open(ctx context.Context, customerID string, p events.Personal) error {
	o := openers.Get().(*opener)
	defer o.done()
	p.EachPersonal(o.count)
	if o.sealed == 0 {
		return nil
	}
	gcm, err := s.aead(ctx, customerID, false)
	switch {
	case errors.Is(err, ErrErased):
		p.EachPersonal(func(_ string, v *string) {
			if strings.HasPrefix(*v, Prefix) {
				*v = Erased
			}
		})
		return nil
	case errors.Is(err, ErrNoKey):
		return &events.Error{Code: events.Internal, Err: err, Message: fmt.Sprintf(
			"open %s: customer %s has sealed personal data but no data key (keys.db lost, replaced, or restored from an older backup?)",
			p.EventType(), customerID)}
	case err != nil:
		return fmt.Errorf("open %s: %w", p.EventType(), err)
	}
	o.gcm, o.customerID, o.typ = gcm, customerID, p.EventType()
	p.EachPersonal(o.open)
	return o.failed
}

// opener is the state of one Open, pooled: its buffers serve the next
// call (a replay opens a million fields), and its methods are what Open
// hands EachPersonal instead of closures over fresh variables.
type opener struct {
	sealed     int
	gcm        cipher.AEAD
	customerID string
	typ        string
	buf, aad   []byte
	failed     error
}

var openers = sync.Pool{New: func() any { return new(opener) }}

func (o *opener) count(_ string, v *string) {
	if strings.HasPrefix(*v, Prefix) {
		o.sealed++
	}
}

func (o *opener) open(field string, v *string) {
	if o.failed != nil || !strings.HasPrefix(*v, Prefix) {
		return
	}
	enc := (*v)[len(Prefix):]
	o.buf = slices.Grow(o.buf[:0], b64.DecodedLen(len(enc)))
	buf := o.buf[:cap(o.buf)]
	n, err := b64.Decode(buf, []byte(enc))
	if err != nil || n < nonceSize+o.gcm.Overhead() {
		o.failed = fieldError(o.typ, field, o.customerID, "is not a well-formed sealed value")
		return
	}
	o.aad = appendAAD(o.aad[:0], o.customerID, o.typ, field)
	nonce, ct := buf[:nonceSize], buf[nonceSize:n]
	plain, err := o.gcm.Open(ct[:0], nonce, ct, o.aad)
	if err != nil {
		o.failed = fieldError(o.typ, field, o.customerID,
			"does not authenticate (tampered with, moved from another field or customer, or sealed under another key)")
		return
	}
	*v = string(plain)
}

// done wipes the plaintext decrypted in place and returns o to the pool.
func (o *opener) done() {
	clear(o.buf[:cap(o.buf)])
	if cap(o.buf) > 64<<10 { // a rare large field: do not keep its buffer
		o.buf = nil
	}
	*o = opener{buf: o.buf[:0], aad: o.aad[:0]}
	openers.Put(o)
}

// OpenEnvelope decodes a stored event (events.Decode) and, if it holds
// personal data and belongs to a customer stream ("customer-<id>"), opens it
// for that customer. It is the one call readers use; its signature is
// projections.Decoder's. Personal data outside customer streams is returned
// as stored. Errors: those of events.Decode and Open, prefixed with the event.
func (s *Sealer) OpenEnvelope(ctx context.Context, env *events.Envelope) (events.Data, error) {
	d, err := events.Decode(env)
	if err != nil {
		return nil, err
	}
	p, ok := d.(events.Personal)
	if !ok {
		return d, nil
	}
	category, id := events.StreamID(env.Stream)
	if category != events.CategoryCustomer || id == "" {
		return d, nil
	}
	if err := s.Open(ctx, id, p); err != nil {
		return nil, fmt.Errorf("%s@%d: %w", env.Stream, env.Version, err)
	}
	return d, nil
}

// PrefetchKeys reads into the key store's cache, in one read of its vault,
// the data keys of the customers whose streams envs are on, ahead of
// OpenEnvelope on each: a replay's decoding worker calls it for a batch
// (projections.RunnerOptions.Prefetch). It changes no answer of
// OpenEnvelope; with a key store that cannot (not *Keys over a BatchVault)
// it does nothing, and a failure is left for OpenEnvelope to meet.
func (s *Sealer) PrefetchKeys(ctx context.Context, envs []events.Envelope) {
	k, ok := s.ks.(interface {
		Prefetch(ctx context.Context, customerIDs []string) error
	})
	if !ok {
		return
	}
	// A customer's events come together in the log: the batch names each
	// customer once per run of their events, not once per event (sorting
	// and looking up a thousand ids a batch was a third of Prefetch's cost
	// at 4,000,000 customers, docs/replay.md).
	ids := make([]string, 0, len(envs))
	for i := range envs {
		if i > 0 && envs[i].Stream == envs[i-1].Stream {
			continue
		}
		if category, id := events.StreamID(envs[i].Stream); category == events.CategoryCustomer && id != "" {
			ids = append(ids, id)
		}
	}
	_ = k.Prefetch(ctx, ids)
}

// Erase destroys the customer's data key: every personal field ever sealed
// for them reads as Erased from then on, and nothing new can be sealed for
// them. It is idempotent. Errors: those of KeyStore.Destroy.
//
// Order: append PersonalDataErased to the customer's stream first, then
// call Erase. The log is the record of the decision; destroying first and
// then failing to append (a crash, a conflict) would leave data unreadable
// with no event saying why, and cannot be undone. Appending first, a crash
// before Erase leaves the key alive, but the event is durable and Erase is
// idempotent: EnforceErasure, run over the log at start or as a reactor,
// finishes the job, and the projections already show the customer as erased
// from the event itself.
func (s *Sealer) Erase(ctx context.Context, customerID string) error {
	if err := s.ks.Destroy(ctx, customerID); err != nil {
		return fmt.Errorf("erase customer %s: %w", customerID, err)
	}
	s.gcms.forget(customerID)
	return nil
}

// EnforceErasure erases the customer if env is a PersonalDataErased event of
// a customer stream, and does nothing otherwise. Run it over the whole log
// at start (or as a reactor on new events) so that neither a crash between
// the append and Erase nor a keys.db restored from an old backup can leave an
// erased customer's key alive. Errors: those of Erase.
func (s *Sealer) EnforceErasure(ctx context.Context, env *events.Envelope) error {
	if env.Type != ErasureEvent {
		return nil
	}
	category, id := events.StreamID(env.Stream)
	if category != events.CategoryCustomer || id == "" {
		return nil
	}
	return s.Erase(ctx, id)
}

// aead returns AES-256-GCM under customerID's data key. The key store is
// asked every time (it alone knows whether the key was destroyed); only the
// cipher's set-up for a key just used is taken from s.gcms.
func (s *Sealer) aead(ctx context.Context, customerID string, create bool) (cipher.AEAD, error) {
	key, err := s.ks.DataKey(ctx, customerID, create)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	if gcm := s.gcms.get(customerID, key); gcm != nil {
		return gcm, nil
	}
	gcm, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	s.gcms.put(customerID, key, gcm)
	return gcm, nil
}

// appendAAD appends the additional data binding a sealed value to its place.
func appendAAD(b []byte, customerID, eventType, field string) []byte {
	b = append(b, customerID...)
	b = append(b, 0)
	b = append(b, eventType...)
	b = append(b, 0)
	return append(b, field...)
}

func fieldError(eventType, field, customerID, what string) *events.Error {
	return &events.Error{Code: events.Internal, Field: field,
		Message: fmt.Sprintf("sealed value in %s of customer %s %s", eventType, customerID, what)}
}

// SealBlob encrypts plain under customerID's data key (creating it if
// needed) for purpose, returning nonce ‖ ciphertext: for copies of a
// customer's data outside the log, such as read-model rows, which then die
// with the key like the log's fields do. The AAD binds the blob to the
// customer and the purpose. A customer whose key was destroyed wraps
// ErrErased.
func (s *Sealer) SealBlob(ctx context.Context, customerID, purpose string, plain []byte) ([]byte, error) {
	gcm, err := s.aead(ctx, customerID, true)
	if err != nil {
		return nil, err
	}
	return seal(gcm, plain, blobAAD(customerID, purpose))
}

// OpenBlob reverses SealBlob. A destroyed key wraps ErrErased; a blob that
// does not authenticate (altered, or sealed for another customer or
// purpose) is Internal.
func (s *Sealer) OpenBlob(ctx context.Context, customerID, purpose string, sealed []byte) ([]byte, error) {
	gcm, err := s.aead(ctx, customerID, false)
	if err != nil {
		return nil, err
	}
	plain, err := open(gcm, sealed, blobAAD(customerID, purpose))
	if err != nil {
		return nil, events.Errorf(events.Internal, "sealed %s of customer %s does not authenticate", purpose, customerID)
	}
	return plain, nil
}

func blobAAD(customerID, purpose string) []byte {
	return []byte("dangol/pii/blob\x00" + purpose + "\x00" + customerID)
}

// RowSealer seals whole read-model rows per customer with a Sealer (it
// implements projections/postgres.RowCipher). Purpose names the kind of
// row in the blobs' AAD.
type RowSealer struct {
	Sealer  *Sealer
	Purpose string
}

// Seal seals a row; for a customer whose key was destroyed it returns nil
// and no error: the row, already erased by the fold, is then kept in clear.
func (r RowSealer) Seal(ctx context.Context, customerID string, plain []byte) ([]byte, error) {
	b, err := r.Sealer.SealBlob(ctx, customerID, r.Purpose, plain)
	if errors.Is(err, ErrErased) {
		return nil, nil
	}
	return b, err
}

// Open opens a row Seal sealed.
func (r RowSealer) Open(ctx context.Context, customerID string, sealed []byte) ([]byte, error) {
	return r.Sealer.OpenBlob(ctx, customerID, r.Purpose, sealed)
}
