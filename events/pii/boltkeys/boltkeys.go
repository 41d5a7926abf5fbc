// Package boltkeys is the key store of the embedded deployment: a bbolt file
// (keys.db) next to the log, never inside it, so the log and its backups hold
// no key. It is a pii.Vault; Open returns it behind pii.Keys, which does the
// wrapping and the caching.
//
// Layout: bucket "keys" maps a customer id to its data key wrapped by the
// master key; bucket "erased" maps a customer id to the RFC 3339 time its key
// was destroyed; bucket "meta" holds the master key's id and a check blob
// sealed under it, which is how a wrong master key is detected.
//
// Residual risk: bbolt copies pages on write and only reuses freed pages
// later, so after Destroy the wrapped key may still sit in a free page of
// keys.db until that page is reused, and in any copy or backup of the file
// taken before. It is wrapped, so it is useless without the master key; but
// whoever holds both an old keys.db and the master key can recover erased
// data. Keys.Compact writes a copy holding only live keys, to replace the
// file during maintenance; backups of keys.db must expire
// (docs/personal-data.md).
package boltkeys

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

var (
	bucketMeta   = []byte("meta")
	bucketKeys   = []byte("keys")
	bucketErased = []byte("erased")

	metaFormat = []byte("format")
	metaKeyID  = []byte("masterKeyId")
	metaCheck  = []byte("check")
)

const storeFormat = "1"

// Vault keeps wrapped data keys in a bbolt file. It is safe for concurrent
// use; the file is locked against other processes while it is open.
type Vault struct {
	db   *bolt.DB
	path string
}

var (
	_ pii.Vault      = (*Vault)(nil)
	_ pii.BatchVault = (*Vault)(nil)
)

// Keys is the key store over a Vault: a pii.Keys, plus what only a file
// can do (Compact, ErasedAt, Path).
type Keys struct {
	*pii.Keys
	vault *Vault
}

// Open opens (creating if needed, mode 0600) the key store at path under
// master. A store created under another master key is refused with
// pii.ErrWrongMasterKey (Invalid); a file locked by another process for a
// second is Unavailable; anything else is Internal.
func Open(path string, master pii.MasterKey) (*Keys, error) {
	if master.IsZero() {
		return nil, events.Errorf(events.Invalid, "open key store %s: no master key", path)
	}
	v, err := OpenVault(path)
	if err != nil {
		return nil, err
	}
	k, err := pii.OpenKeys(context.Background(), v, master)
	if err != nil {
		v.Close()
		return nil, fmt.Errorf("key store %s: %w", path, err)
	}
	return &Keys{Keys: k, vault: v}, nil
}

// OpenVault opens (creating if needed, mode 0600) the vault at path, for
// pii.OpenKeys. Errors: Unavailable (locked by another process for a
// second), Internal.
func OpenVault(path string) (*Vault, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &events.Error{Code: events.Unavailable, Message: "key store " + path + " is locked by another process", Err: err}
	}
	if err != nil {
		return nil, &events.Error{Code: events.Internal, Message: "open key store " + path, Err: err}
	}
	v := &Vault{db: db, path: path}
	err = v.update("open", func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketMeta, bucketKeys, bucketErased} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return v, nil
}

// MasterCheck implements pii.Vault. A file holding keys but no check, or
// of another format, is refused (Internal).
func (v *Vault) MasterCheck(ctx context.Context, keyID string, check []byte) (storedID string, stored []byte, err error) {
	err = v.update("check master key", func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if got := meta.Get(metaCheck); got != nil {
			if f := string(meta.Get(metaFormat)); f != storeFormat {
				return events.Errorf(events.Internal, "key store %s has format %q, this build reads %q", v.path, f, storeFormat)
			}
			storedID, stored = string(meta.Get(metaKeyID)), bytes.Clone(got)
			return nil
		}
		if tx.Bucket(bucketKeys).Stats().KeyN > 0 {
			return events.Errorf(events.Internal, "key store %s holds keys but no master key check", v.path)
		}
		storedID, stored = keyID, check
		return errors.Join(meta.Put(metaCheck, check), meta.Put(metaFormat, []byte(storeFormat)), meta.Put(metaKeyID, []byte(keyID)))
	})
	return storedID, stored, err
}

// Wrapped implements pii.Vault.
func (v *Vault) Wrapped(ctx context.Context, customerID string) (wrapped []byte, erased bool, err error) {
	err = v.view("read data key", func(tx *bolt.Tx) error {
		wrapped, erased = lookup(tx, customerID)
		return nil
	})
	return wrapped, erased, err
}

// WrappedEach implements pii.BatchVault: one read transaction for all of
// ids (sorted ids read the B+tree's pages in order); wrapped points into
// the database's pages, valid only during fn.
func (v *Vault) WrappedEach(ctx context.Context, ids []string, fn func(id string, wrapped []byte, erased bool)) error {
	return v.view("read data keys", func(tx *bolt.Tx) error {
		keys, gone := tx.Bucket(bucketKeys), tx.Bucket(bucketErased)
		for i, id := range ids {
			if i%256 == 255 && ctx.Err() != nil {
				return &events.Error{Code: events.Unavailable, Message: "key store request cancelled", Err: ctx.Err()}
			}
			if gone.Get([]byte(id)) != nil {
				fn(id, nil, true)
				continue
			}
			fn(id, keys.Get([]byte(id)), false)
		}
		return nil
	})
}

// PutWrapped implements pii.Vault: one write transaction looks again (another
// goroutine may have stored or destroyed the key since) and puts. Keys
// created at once share a transaction and its fsync (bbolt's Batch, which
// may run the function again: it is idempotent), so a bulk import's new
// customers do not wait for one fsync each.
func (v *Vault) PutWrapped(ctx context.Context, customerID string, wrapped []byte) (stored []byte, erased bool, err error) {
	err = v.batch("create data key", func(tx *bolt.Tx) error {
		if stored, erased = lookup(tx, customerID); stored != nil || erased {
			return nil
		}
		stored = wrapped
		return tx.Bucket(bucketKeys).Put([]byte(customerID), wrapped)
	})
	return stored, erased, err
}

// lookup returns a copy of id's wrapped key, or whether it was erased.
func lookup(tx *bolt.Tx, id string) (wrapped []byte, erased bool) {
	if tx.Bucket(bucketErased).Get([]byte(id)) != nil {
		return nil, true
	}
	return bytes.Clone(tx.Bucket(bucketKeys).Get([]byte(id))), false
}

// Destroy implements pii.Vault: the wrapped key is deleted and the erasure
// recorded in one transaction. See the package doc for what may survive in
// free pages.
func (v *Vault) Destroy(ctx context.Context, customerID string) error {
	return v.update("destroy data key", func(tx *bolt.Tx) error {
		id := []byte(customerID)
		if err := tx.Bucket(bucketKeys).Delete(id); err != nil {
			return err
		}
		erased := tx.Bucket(bucketErased)
		if erased.Get(id) != nil {
			return nil // keep the time of the first erasure
		}
		return erased.Put(id, []byte(events.SystemClock().UTC().Format(time.RFC3339Nano)))
	})
}

// Close implements pii.Vault. It is safe to call more than once.
func (v *Vault) Close() error {
	if err := v.db.Close(); err != nil {
		return &events.Error{Code: events.Internal, Message: "close key store " + v.path, Err: err}
	}
	return nil
}

// ErasedAt returns when the customer's key was destroyed, or false if it was
// not. Errors: Invalid (customer id), Unavailable (closed), Internal.
func (k *Keys) ErasedAt(ctx context.Context, customerID string) (time.Time, bool, error) {
	if customerID == "" || len(customerID) > 256 {
		return time.Time{}, false, events.InvalidField("customerId", "must be 1-256 bytes")
	}
	var at time.Time
	var found bool
	err := k.vault.view("read erasure", func(tx *bolt.Tx) error {
		raw := tx.Bucket(bucketErased).Get([]byte(customerID))
		if raw == nil {
			return nil
		}
		found = true
		var err error
		at, err = time.Parse(time.RFC3339Nano, string(raw))
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
func (k *Keys) Compact(dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return events.Errorf(events.Invalid, "compact key store: %s already exists", dst)
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return &events.Error{Code: events.Internal, Message: "compact key store: open " + dst, Err: err}
	}
	err = bolt.Compact(out, k.vault.db, 0)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(dst)
		return k.vault.translate("compact key store", err)
	}
	return nil
}

// Path returns the file the key store lives in.
func (k *Keys) Path() string { return k.vault.path }

func (v *Vault) view(op string, f func(*bolt.Tx) error) error {
	return v.translate(op, v.db.View(f))
}

func (v *Vault) update(op string, f func(*bolt.Tx) error) error {
	return v.translate(op, v.db.Update(f))
}

func (v *Vault) batch(op string, f func(*bolt.Tx) error) error {
	return v.translate(op, v.db.Batch(f))
}

// translate turns bbolt's errors into *events.Error.
func (v *Vault) translate(op string, err error) error {
	var e *events.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return err
	case errors.Is(err, bolterrors.ErrDatabaseNotOpen):
		return &events.Error{Code: events.Unavailable, Message: "key store closed"}
	}
	return &events.Error{Code: events.Internal, Message: op + " in key store " + v.path, Err: err}
}
