package pii_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

func randomKey(t testing.TB) []byte {
	t.Helper()
	b := make([]byte, pii.MasterKeySize)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func newMaster(t testing.TB) pii.MasterKey {
	t.Helper()
	k, err := pii.NewMasterKey(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := events.ErrorCode(err); got != code {
		t.Fatalf("error code %q, want %q (err: %v)", got, code, err)
	}
}

func TestLoadMasterKeyCreatesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "master.key")
	k, created, err := pii.LoadMasterKey("", path, true)
	if err != nil {
		t.Fatal(err)
	}
	if !created || k.IsZero() {
		t.Fatalf("created = %v, zero = %v; want a new key", created, k.IsZero())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("key file mode %04o, want 0600", perm)
	}
	b, _ := os.ReadFile(path)
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(b))); err != nil || len(raw) != 32 {
		t.Fatalf("key file does not hold base64 of 32 bytes: %v", err)
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".master-key-*"))
	if len(left) != 0 {
		t.Fatalf("temporary files left behind: %v", left)
	}

	again, created, err := pii.LoadMasterKey("", path, true)
	if err != nil {
		t.Fatal(err)
	}
	if created || again.ID() != k.ID() {
		t.Fatalf("second load: created = %v, id %s, want the existing key %s", created, again.ID(), k.ID())
	}
}

func TestLoadMasterKeyRefusesOpenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	text := base64.StdEncoding.EncodeToString(randomKey(t))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	_, _, err := pii.LoadMasterKey("", path, true)
	wantCode(t, err, events.Invalid)
	if !strings.Contains(err.Error(), "0644") || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("error does not explain the mode: %v", err)
	}
	if strings.Contains(err.Error(), text) {
		t.Fatal("error contains the key")
	}
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := pii.LoadMasterKey("", path, false); err != nil {
		t.Fatalf("after chmod 600: %v", err)
	}
}

func TestLoadMasterKeyEnvOverridesFile(t *testing.T) {
	dir := t.TempDir()
	fileKey, envKey := randomKey(t), randomKey(t)
	path := filepath.Join(dir, "master.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(fileKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, _ := pii.NewMasterKey(fileKey)
	fromEnv, _ := pii.NewMasterKey(envKey)

	k, created, err := pii.LoadMasterKey(base64.StdEncoding.EncodeToString(envKey), path, true)
	if err != nil {
		t.Fatal(err)
	}
	if created || k.ID() != fromEnv.ID() || k.ID() == fromFile.ID() {
		t.Fatalf("got %s (created %v), want the env key %s, not the file's %s", k.ID(), created, fromEnv.ID(), fromFile.ID())
	}

	// With the env set, a missing file is neither needed nor created.
	missing := filepath.Join(dir, "none.key")
	if _, _, err := pii.LoadMasterKey(base64.RawURLEncoding.EncodeToString(envKey), missing, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("key file created although the env was set: %v", err)
	}
}

func TestLoadMasterKeyRawFile(t *testing.T) {
	raw := randomKey(t)
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	k, _, err := pii.LoadMasterKey("", path, false)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := pii.NewMasterKey(raw)
	if k.ID() != want.ID() {
		t.Fatalf("id %s, want %s", k.ID(), want.ID())
	}
}

func TestLoadMasterKeyErrors(t *testing.T) {
	dir := t.TempDir()
	short := filepath.Join(dir, "short.key")
	os.WriteFile(short, []byte(base64.StdEncoding.EncodeToString(make([]byte, 16))), 0o600)

	badEnv := "not-a-key-but-secret-looking"
	_, _, err := pii.LoadMasterKey(badEnv, "", false)
	wantCode(t, err, events.Invalid)
	if strings.Contains(err.Error(), badEnv) {
		t.Fatal("error repeats the env value")
	}
	_, _, err = pii.LoadMasterKey(base64.StdEncoding.EncodeToString(make([]byte, 31)), "", false)
	wantCode(t, err, events.Invalid)
	_, _, err = pii.LoadMasterKey("", "", true)
	wantCode(t, err, events.Invalid)
	_, _, err = pii.LoadMasterKey("", filepath.Join(dir, "missing.key"), false)
	wantCode(t, err, events.NotFound)
	_, _, err = pii.LoadMasterKey("", short, false)
	wantCode(t, err, events.Invalid)
	_, err = pii.NewMasterKey(make([]byte, 16))
	wantCode(t, err, events.Invalid)
}

func TestMasterKeyIsNeverFormatted(t *testing.T) {
	raw := randomKey(t)
	k, _ := pii.NewMasterKey(raw)
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "key", k)
	out := fmt.Sprintf("%v %+v %#v %s %x %X %d %q", k, k, k, k, k, k, k, k) + logged.String()
	for _, form := range []string{
		hex.EncodeToString(raw), strings.ToUpper(hex.EncodeToString(raw)), base64.StdEncoding.EncodeToString(raw),
		fmt.Sprint(raw), fmt.Sprint(raw[:4]), string(raw),
	} {
		if strings.Contains(out, form) {
			t.Fatalf("formatting printed key material %q in %q", form, out)
		}
	}
	if !strings.Contains(out, k.ID()) || len(k.ID()) != 8 {
		t.Fatalf("formatting should show the id %q: %q", k.ID(), out)
	}
}
