package pii

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"github.com/dangol/dangol/events"
)

// EnvMasterKey is the environment variable that carries the master key as
// base64 of 32 bytes. It overrides the key file.
const EnvMasterKey = "DANGOL_MASTER_KEY"

// MasterKeySize is the size of the master key and of every data key: 32
// bytes, for AES-256.
const MasterKeySize = 32

// MasterKey wraps the customers' data keys. Its value never leaves the
// process through this package: formatting it with fmt or log/slog prints
// only its ID, so a stray log line cannot leak it.
type MasterKey struct {
	key [MasterKeySize]byte
	set bool
}

// NewMasterKey returns the master key made of b, which must be 32 bytes. The
// error is Invalid. b is copied.
func NewMasterKey(b []byte) (MasterKey, error) {
	if len(b) != MasterKeySize {
		return MasterKey{}, events.Errorf(events.Invalid, "master key must be %d bytes, not %d", MasterKeySize, len(b))
	}
	var k MasterKey
	copy(k.key[:], b)
	k.set = true
	return k, nil
}

// IsZero reports whether k is the zero MasterKey, which holds no key.
func (k MasterKey) IsZero() bool { return !k.set }

// Derive returns a 32-byte key for label, derived from the master key with
// HKDF-SHA256 (RFC 5869): each use of a key of its own (the console's
// session and sealing keys, the search index) gets it by its label, and
// none of them reveals the master key or another derived key.
func (k MasterKey) Derive(label string) []byte {
	if !k.set {
		panic("pii: Derive on a zero master key")
	}
	b, err := hkdf.Key(sha256.New, k.key[:], nil, "dangol "+label, MasterKeySize)
	if err != nil {
		panic("pii: hkdf: " + err.Error()) // only for a length HKDF cannot give
	}
	return b
}

// ID returns the first 8 hex digits of the SHA-256 of the key: enough to
// tell two keys apart in an error message, useless for recovering the key.
func (k MasterKey) ID() string {
	if !k.set {
		return "none"
	}
	sum := sha256.Sum256(k.key[:])
	return hex.EncodeToString(sum[:4])
}

// String returns "master key <id>", never the key.
func (k MasterKey) String() string { return "master key " + k.ID() }

// GoString returns the same as String, so %#v does not print the key.
func (k MasterKey) GoString() string { return k.String() }

// Format prints String for every verb, so neither %x nor %d nor %+v can
// print the key bytes.
func (k MasterKey) Format(f fmt.State, _ rune) { io.WriteString(f, k.String()) }

// LogValue returns the key's ID for log/slog.
func (k MasterKey) LogValue() slog.Value { return slog.StringValue(k.String()) }

// aead returns AES-256-GCM under the master key.
func (k MasterKey) aead() (cipher.AEAD, error) {
	if !k.set {
		return nil, events.Errorf(events.Invalid, "no master key")
	}
	return newGCM(k.key[:])
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, &events.Error{Code: events.Internal, Message: "aes", Err: err}
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, &events.Error{Code: events.Internal, Message: "gcm", Err: err}
	}
	return gcm, nil
}

// LoadMasterKey returns the master key, looked for in this order:
//
//  1. env, the value of EnvMasterKey (the caller passes it, so tests and
//     run(getenv) control it): base64 of 32 bytes. If it is set, the file is
//     not read at all.
//  2. the file at path: 32 raw bytes, or base64 of 32 bytes with optional
//     surrounding whitespace. A file that group or others may read or write
//     is refused, as ssh refuses such a private key.
//  3. if the file does not exist and create is true: 32 new random bytes,
//     written to path as base64 with mode 0600 (through a temporary file,
//     fsynced, linked into place without replacing anything, directory
//     fsynced). created is then true so the caller can tell the operator
//     where the key is and that it must be backed up.
//
// Errors never contain key material. Malformed keys, an empty env and path,
// and a too-open file are Invalid; a missing file without create is NotFound;
// I/O failures are Internal.
func LoadMasterKey(env, path string, create bool) (key MasterKey, created bool, err error) {
	if env != "" {
		k, err := decodeKey([]byte(env), false)
		if err != nil {
			return MasterKey{}, false, events.Errorf(events.Invalid, "%s is not base64 of %d bytes", EnvMasterKey, MasterKeySize)
		}
		return k, false, nil
	}
	if path == "" {
		return MasterKey{}, false, events.Errorf(events.Invalid, "no master key: set %s or give a key file", EnvMasterKey)
	}
	k, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if !create {
		return MasterKey{}, false, &events.Error{Code: events.NotFound,
			Message: fmt.Sprintf("master key file %s does not exist (set %s or create the file)", path, EnvMasterKey)}
	}
	k, err = createKeyFile(path)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it between our read and our link: use theirs.
		k, err = readKeyFile(path)
		return k, false, err
	}
	if err != nil {
		return MasterKey{}, false, err
	}
	return k, true, nil
}

// decodeKey accepts base64 (standard or URL alphabet, padded or not) of 32
// bytes and, if allowRaw, the 32 bytes themselves.
func decodeKey(b []byte, allowRaw bool) (MasterKey, error) {
	if allowRaw && len(b) == MasterKeySize {
		return NewMasterKey(b)
	}
	s := string(bytes.TrimSpace(b))
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err := enc.DecodeString(s); err == nil && len(raw) == MasterKeySize {
			k, err := NewMasterKey(raw)
			clear(raw)
			return k, err
		}
	}
	return MasterKey{}, events.Errorf(events.Invalid, "not a %d-byte key", MasterKeySize)
}

// readKeyFile reads the key at path. A missing file returns an error
// matching fs.ErrNotExist.
func readKeyFile(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return MasterKey{}, err
	}
	if err != nil {
		return MasterKey{}, &events.Error{Code: events.Internal, Message: "open master key file " + path, Err: err}
	}
	defer f.Close()
	// Stat the open file, not the path, so the mode checked is the mode of
	// what is read.
	fi, err := f.Stat()
	if err != nil {
		return MasterKey{}, &events.Error{Code: events.Internal, Message: "stat master key file " + path, Err: err}
	}
	if !fi.Mode().IsRegular() {
		return MasterKey{}, events.Errorf(events.Invalid, "master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return MasterKey{}, events.Errorf(events.Invalid,
			"master key file %s has mode %04o: group or others may access it; run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return MasterKey{}, &events.Error{Code: events.Internal, Message: "read master key file " + path, Err: err}
	}
	defer clear(b)
	k, err := decodeKey(b, true)
	if err != nil {
		return MasterKey{}, events.Errorf(events.Invalid,
			"master key file %s must hold %d raw bytes or their base64", path, MasterKeySize)
	}
	return k, nil
}

// createKeyFile writes a new random key to path. If path appeared in the
// meantime the error matches fs.ErrExist and nothing is replaced: replacing a
// master key would lose every customer's personal data.
func createKeyFile(path string) (MasterKey, error) {
	fail := func(op string, err error) (MasterKey, error) {
		return MasterKey{}, &events.Error{Code: events.Internal, Message: op + " master key file " + path, Err: err}
	}
	var raw [MasterKeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return fail("generate", err)
	}
	k, _ := NewMasterKey(raw[:])
	text := []byte(base64.StdEncoding.EncodeToString(raw[:]) + "\n")
	clear(raw[:])
	defer clear(text)

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fail("create directory of", err)
	}
	// CreateTemp opens with mode 0600 and O_EXCL.
	f, err := os.CreateTemp(dir, ".master-key-*.tmp")
	if err != nil {
		return fail("create", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // on failure; after success it is already gone
	_, err = f.Write(text)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fail("write", err)
	}
	// A hard link, unlike rename, never replaces an existing file. Where
	// links are not supported, fall back to rename after a last check.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return MasterKey{}, err
		}
		if _, serr := os.Lstat(path); serr == nil {
			return MasterKey{}, fs.ErrExist
		}
		if err := os.Rename(tmp, path); err != nil {
			return fail("install", err)
		}
	}
	// Remove the temporary name before the directory sync, so no second copy
	// of the key survives a crash.
	os.Remove(tmp)
	if err := SyncDir(dir); err != nil {
		return fail("sync directory of", err)
	}
	return k, nil
}

// SyncDir makes a new directory entry durable.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
