package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// EnvSealingKey is the environment variable that carries the sealing key's
// Ed25519 seed as base64 of 32 bytes. It overrides the key file.
const EnvSealingKey = "DANGOL_SEALING_KEY"

// sealingKeyLabel derives the key that encrypts the sealing key file from
// the master key.
const sealingKeyLabel = "sealing-key"

// keyFileFormat is the first byte of a key file's content: version 1 is
// AES-256-GCM, a 12-byte nonce, then the sealed 32-byte seed.
const keyFileFormat byte = 1

// keyFileAAD binds the ciphertext to its use.
var keyFileAAD = []byte("dangol sealing key")

// LoadKey returns the sealing key named name (the checkpoints' origin),
// from, in this order:
//
//  1. envSeed, the value of EnvSealingKey (the caller passes it): base64
//     of the 32-byte seed. If set, the file is not read.
//  2. the file at path: base64 of a format byte, a nonce and the seed
//     encrypted with AES-256-GCM under master.Derive("sealing-key"). A file
//     group or others may access is refused.
//  3. if the file does not exist: a new random seed, written encrypted to
//     path with mode 0600 (a temporary file, fsynced, linked into place
//     without replacing anything, the directory fsynced).
//
// Errors never contain key material. A malformed seed or file, a file that
// does not open with master (another master key), a missing master key and
// a too-open file are Invalid; I/O failures are Internal.
func LoadKey(path, envSeed, name string, master pii.MasterKey) (*Key, error) {
	if envSeed != "" {
		seed, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace([]byte(envSeed))))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, events.Errorf(events.Invalid, "%s is not base64 of %d bytes", EnvSealingKey, ed25519.SeedSize)
		}
		defer clear(seed)
		return NewKey(name, seed)
	}
	if path == "" {
		return nil, events.Errorf(events.Invalid, "no sealing key: set %s or give a sealing key file", EnvSealingKey)
	}
	if master.IsZero() {
		return nil, events.Errorf(events.Invalid, "sealing key file %s: no master key to open it with", path)
	}
	seed, err := readSealingKey(path, master)
	if errors.Is(err, fs.ErrNotExist) {
		seed, err = createSealingKey(path, master)
		if errors.Is(err, fs.ErrExist) { // another process created it meanwhile: use theirs
			seed, err = readSealingKey(path, master)
		}
	}
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	return NewKey(name, seed)
}

func keyAEAD(master pii.MasterKey) cipher.AEAD {
	k := master.Derive(sealingKeyLabel)
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		panic("seal: aes: " + err.Error()) // only for a key length Derive never returns
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic("seal: gcm: " + err.Error())
	}
	return gcm
}

// readSealingKey reads and decrypts the seed at path. A missing file
// returns an error matching fs.ErrNotExist.
func readSealingKey(path string, master pii.MasterKey) ([]byte, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, ioError("open sealing key file", path, err)
	}
	defer f.Close()
	fi, err := f.Stat() // the open file's mode: what is read
	if err != nil {
		return nil, ioError("stat sealing key file", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, events.Errorf(events.Invalid, "sealing key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, events.Errorf(events.Invalid,
			"sealing key file %s has mode %04o: group or others may access it; run chmod 600 %s", path, perm, path)
	}
	text, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, ioError("read sealing key file", path, err)
	}
	gcm := keyAEAD(master)
	raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(text)))
	if err != nil || len(raw) != 1+gcm.NonceSize()+ed25519.SeedSize+gcm.Overhead() || raw[0] != keyFileFormat {
		return nil, events.Errorf(events.Invalid, "sealing key file %s is not a dangol sealing key (format %d)", path, keyFileFormat)
	}
	nonce, sealed := raw[1:1+gcm.NonceSize()], raw[1+gcm.NonceSize():]
	seed, err := gcm.Open(nil, nonce, sealed, keyFileAAD)
	if err != nil {
		return nil, events.Errorf(events.Invalid,
			"sealing key file %s does not open with %s: it was made under another master key, or altered", path, master)
	}
	return seed, nil
}

// createSealingKey writes a new random seed to path, encrypted. If path
// appeared meanwhile the error matches fs.ErrExist and nothing is
// replaced: a new sealing key would not verify the seals already made.
func createSealingKey(path string, master pii.MasterKey) ([]byte, error) {
	gcm := keyAEAD(master)
	seed := make([]byte, ed25519.SeedSize)
	raw := make([]byte, 1+gcm.NonceSize(), 1+gcm.NonceSize()+ed25519.SeedSize+gcm.Overhead())
	raw[0] = keyFileFormat
	rand.Read(seed)
	rand.Read(raw[1:])
	raw = gcm.Seal(raw, raw[1:], seed, keyFileAAD)
	text := base64.StdEncoding.AppendEncode(nil, raw)
	text = append(text, '\n')

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, ioError("create directory of", path, err)
	}
	tmp, err := writeTemp(dir, ".sealing-key-*.tmp", text, 0o600)
	if err != nil {
		return nil, ioError("write sealing key file", path, err)
	}
	defer os.Remove(tmp)
	// A hard link, unlike rename, never replaces an existing file.
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, ioError("install sealing key file", path, err)
	}
	os.Remove(tmp) // before the directory sync, so no second name survives a crash
	if err := pii.SyncDir(dir); err != nil {
		return nil, ioError("sync directory of", path, err)
	}
	return seed, nil
}

// writeTemp writes data to a new temporary file in dir (named after
// pattern, as os.CreateTemp), with mode perm, fsynced and closed, and
// returns its name. On failure nothing is left behind.
func writeTemp(dir, pattern string, data []byte, perm os.FileMode) (string, error) {
	f, err := os.CreateTemp(dir, pattern) // O_EXCL, mode 0600
	if err != nil {
		return "", err
	}
	_, err = f.Write(data)
	if err == nil && perm != 0o600 {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}
