package seal

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

func masterKey(t testing.TB, b byte) pii.MasterKey {
	k, err := pii.NewMasterKey(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestLoadKeyCreatesEncryptedFile: the first start creates a 0600 file
// that does not hold the seed in clear; the next start reads the same key.
func TestLoadKeyCreatesEncryptedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "sealing.key")
	master := masterKey(t, 1)
	k, err := LoadKey(path, "", "dangol", master)
	if err != nil {
		t.Fatal(err)
	}
	if !k.CanSign() || k.Name() != "dangol" {
		t.Fatalf("key %v", k)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	text, _ := os.ReadFile(path)
	seed := k.priv.Seed()
	for _, clear := range [][]byte{seed, []byte(base64.StdEncoding.EncodeToString(seed)), []byte(base64.RawURLEncoding.EncodeToString(seed))} {
		if bytes.Contains(text, clear) {
			t.Fatal("the key file holds the seed in clear")
		}
	}
	again, err := LoadKey(path, "", "dangol", master)
	if err != nil || !again.Public().Equal(k.Public()) {
		t.Fatalf("second start: %v %v", again, err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".sealing-key-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

// TestLoadKeyConcurrentFirstStart: two processes starting at once end up
// with one key file and the same key.
func TestLoadKeyConcurrentFirstStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	master := masterKey(t, 1)
	keys := make([]*Key, 4)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := LoadKey(path, "", "dangol", master)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || !k.Public().Equal(keys[0].Public()) {
			t.Fatal("concurrent first starts made different keys")
		}
	}
}

// TestLoadKeyFromEnv: the environment's seed overrides the file, which is
// then neither read nor created.
func TestLoadKeyFromEnv(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sealing.key")
	seed := bytes.Repeat([]byte{9}, 32)
	k, err := LoadKey(path, base64.StdEncoding.EncodeToString(seed)+"\n", "dangol", pii.MasterKey{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := NewKey("dangol", seed)
	if !k.Public().Equal(want.Public()) {
		t.Fatal("not the environment's key")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("the key file was created: %v", err)
	}
}

// TestLoadKeyRefuses: a wrong master key, an altered or too open file, a
// bad environment value or no master key are Invalid errors that say so
// and never show key material.
func TestLoadKeyRefuses(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sealing.key")
	k, err := LoadKey(path, "", "dangol", masterKey(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	text, _ := os.ReadFile(path)
	altered := filepath.Join(dir, "altered.key")
	b := bytes.Clone(text)
	b[10] ^= 1
	os.WriteFile(altered, b, 0o600)
	truncated := filepath.Join(dir, "truncated.key")
	os.WriteFile(truncated, text[:len(text)/2], 0o600)
	empty := filepath.Join(dir, "empty.key")
	os.WriteFile(empty, nil, 0o600)
	open := filepath.Join(dir, "open.key")
	os.WriteFile(open, text, 0o644)
	os.Chmod(open, 0o644)
	cases := []struct {
		name, path, env string
		master          pii.MasterKey
		says            string
	}{
		{"another master key", path, "", masterKey(t, 2), "another master key"},
		{"altered file", altered, "", masterKey(t, 1), "sealing key"},
		{"truncated file", truncated, "", masterKey(t, 1), "is not a dangol sealing key"},
		{"empty file", empty, "", masterKey(t, 1), "is not a dangol sealing key"},
		{"file open to others", open, "", masterKey(t, 1), "chmod 600"},
		{"bad environment value", path, "not base64!", masterKey(t, 1), EnvSealingKey},
		{"short environment seed", path, base64.StdEncoding.EncodeToString([]byte("short")), masterKey(t, 1), EnvSealingKey},
		{"no master key", path, "", pii.MasterKey{}, "no master key"},
		{"no file and no environment", "", "", masterKey(t, 1), EnvSealingKey},
	}
	seed := k.priv.Seed()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadKey(c.path, c.env, "dangol", c.master)
			if events.ErrorCode(err) != events.Invalid || !strings.Contains(err.Error(), c.says) {
				t.Fatalf("got %v, want invalid saying %q", err, c.says)
			}
			if strings.Contains(err.Error(), base64.StdEncoding.EncodeToString(seed)) {
				t.Fatal("the error shows the seed")
			}
		})
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, text) {
		t.Fatal("a refused load changed the key file")
	}
}
