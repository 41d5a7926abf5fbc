package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/seal"
)

// clientOf is a stack over a `dangol serve` that serveCommand started at
// addr, to send it requests with the staff tokens of tok.
func clientOf(t *testing.T, addr string, tok map[string]string) *stack {
	return &stack{t: t, base: "http://" + addr, tok: tok, client: &http.Client{Timeout: hang}}
}

// checkKeyFileHidesSeed fails unless the file at path is mode 0600 and no
// 32 bytes of it, raw or base64-decoded, are the seed of pub.
func checkKeyFileHidesSeed(t *testing.T, path string, pub ed25519.PublicKey) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no sealing key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, st.Mode().Perm())
	}
	raw, _ := os.ReadFile(path)
	decoded, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	for _, b := range [][]byte{raw, decoded} {
		for i := 0; i+ed25519.SeedSize <= len(b); i++ {
			if ed25519.NewKeyFromSeed(b[i : i+ed25519.SeedSize]).Public().(ed25519.PublicKey).Equal(pub) {
				t.Fatalf("%s holds the sealing key's seed in clear at byte %d", path, i)
			}
		}
	}
}

// checkCheckpoint opens a signed checkpoint with the served verifier key.
func checkCheckpoint(t *testing.T, vkey, signed string) {
	t.Helper()
	k, err := seal.ParseVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := k.OpenCheckpoint([]byte(signed))
	if err != nil {
		t.Fatalf("checkpoint %q does not open with %s: %v", signed, vkey, err)
	}
	if c.Origin != k.Name() {
		t.Fatalf("checkpoint of %q, key %q", c.Origin, k.Name())
	}
}

// waitForSeal waits until /v1/audit/seals/latest, asked as the auditor U1,
// shows seal seq, and then, unless witness is "", until the witness file
// holds its checkpoint. It returns the seal.
func waitForSeal(t *testing.T, s *stack, seq int, witness string) map[string]any {
	t.Helper()
	var l map[string]any
	waitUntil(t, fmt.Sprintf("seal %d", seq), func() bool {
		l, _ = s.json("U1", "GET", "/v1/audit/seals/latest", nil, 200)["seal"].(map[string]any)
		return l != nil && l["seal"] == float64(seq)
	})
	if witness != "" {
		waitUntil(t, "the witness file", func() bool { b, _ := os.ReadFile(witness); return string(b) == l["checkpoint"] })
	}
	return l
}

// TestServeSeals boots `dangol serve --seal-every 7` on a fresh data
// directory: the sealing key is created encrypted, /v1/audit/key serves
// it without a token, a seal appears once seven events came, signed with
// that key, and the witness file holds its checkpoint. A restart keeps the
// key and resumes the stored tree without a rebuild; a damaged tree is
// rebuilt from the log and the next seal extends the first.
//
// The counts hold whenever the sealer polls: the two staff added are six
// events, one short of a seal; with the customer and four contacts the
// first seal covers 7 to 11 events and leaves at most four, which seven
// more contacts bring to a second seal, and only one.
func TestServeSeals(t *testing.T) {
	dir := t.TempDir()
	tok := map[string]string{"R1": staffAdd(t, dir, dirURL(t, dir), "R1", "rep"), "U1": staffAdd(t, dir, dirURL(t, dir), "U1", "auditor")}
	witness := filepath.Join(dir, "witness", "checkpoint")
	if err := os.MkdirAll(filepath.Dir(witness), 0o700); err != nil {
		t.Fatal(err)
	}
	args := []string{"--metrics-addr", "off", "--seal-every", "7", "--seal-interval", "0", "--witness-file", witness}
	addr, _, stop := serveCommand(t, dir, args...)
	s := clientOf(t, addr, tok)
	waitOK(t, s.base+"/readyz")

	key := s.json("", "GET", "/v1/audit/key", nil, 200)
	pub, _ := base64.StdEncoding.DecodeString(key["publicKey"].(string))
	if key["name"] != "dangol" || key["algorithm"] != "ed25519" || len(pub) != ed25519.PublicKeySize {
		t.Fatalf("key %v", key)
	}
	checkKeyFileHidesSeed(t, filepath.Join(dir, "sealing.key"), pub)
	if l := s.json("U1", "GET", "/v1/audit/seals/latest", nil, 200); l["seal"] != nil || l["every"] != 7.0 {
		t.Fatalf("before seven events: %v", l)
	}

	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	for i := range 4 {
		s.json("R1", "POST", "/v1/customers/C1/contacts", contact(fmt.Sprintf("call %d", i)), 201)
	}
	first := waitForSeal(t, s, 0, witness)
	if n := first["treeSize"].(float64); n < 7 || n > 11 {
		t.Fatalf("first seal %v", first)
	}
	checkCheckpoint(t, key["verifierKey"].(string), first["checkpoint"].(string))
	stop()

	// The same key and tree after a restart: nothing to rebuild.
	addr, stderr, stop := serveCommand(t, dir, args...)
	s = clientOf(t, addr, tok)
	waitOK(t, s.base+"/readyz")
	if again := s.json("", "GET", "/v1/audit/key", nil, 200); again["verifierKey"] != key["verifierKey"] {
		t.Fatalf("the key changed across a restart: %v, was %v", again, key)
	}
	if l := s.json("U1", "GET", "/v1/audit/seals/latest", nil, 200); l["treeSize"].(float64) < first["treeSize"].(float64) {
		t.Fatalf("after the restart the tree holds %v events, the seal covers %v", l["treeSize"], first["treeSize"])
	}
	stop()
	if strings.Contains(stderr.String(), "rebuilding") {
		t.Fatalf("the tree was rebuilt after a clean restart:\n%s", stderr)
	}

	// A tree overwritten with garbage is rebuilt from the log (the check
	// above can fail), and sealing goes on from the first seal.
	hashes := filepath.Join(dir, "seals", seal.HashesFile)
	st, err := os.Stat(hashes)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(hashes, bytes.Repeat([]byte{0x5a}, int(st.Size())), 0o600); err != nil {
		t.Fatal(err)
	}
	addr, stderr, stop = serveCommand(t, dir, args...)
	s = clientOf(t, addr, tok)
	waitOK(t, s.base+"/readyz")
	waitUntil(t, "the damaged tree rebuilt", func() bool { return strings.Contains(stderr.String(), "rebuilding") })
	for i := range 7 {
		s.json("R1", "POST", "/v1/customers/C1/contacts", contact(fmt.Sprintf("later call %d", i)), 201)
	}
	second := waitForSeal(t, s, 1, "")
	if second["prevSealHash"] != first["hash"] {
		t.Fatalf("second seal %v does not link to the first %v", second, first)
	}
	if p := s.json("U1", "GET", "/v1/audit/proofs/consistency?from_seal=0&to_seal=1", nil, 200); len(p["proof"].([]any)) == 0 {
		t.Fatalf("consistency proof %v", p)
	}
	stop()
}

// TestAuditSealCommand: `dangol audit seal` seals the stopped server's log
// with the key serve uses, prints the seal's hash and its signed
// checkpoint, and appends nothing when nothing came since; the sealing
// key from the environment overrides the file and creates none.
func TestAuditSealCommand(t *testing.T) {
	dir := t.TempDir()
	staffAdd(t, dir, "", "R1", "rep")
	master, _, err := pii.LoadMasterKey("", filepath.Join(dir, "master.key"), true) // as serve's first start does
	if err != nil {
		t.Fatal(err)
	}
	sealOut := func(env env, extra ...string) (stdout, stderr string) {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(t.Context(), append([]string{"audit", "seal", "--data", dir}, extra...), env, &out, &errOut); err != nil {
			t.Fatalf("dangol audit seal: %v\n%s", err, errOut.String())
		}
		return out.String(), errOut.String()
	}
	out, info := sealOut(noEnv)
	hash, note, _ := strings.Cut(out, "\n")
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(hash) || !strings.Contains(info, "sealed: seal 0") {
		t.Fatalf("stdout %q, stderr %q", out, info)
	}
	key, err := seal.LoadKey(filepath.Join(dir, "sealing.key"), "", "dangol", master)
	if err != nil {
		t.Fatal(err)
	}
	checkKeyFileHidesSeed(t, filepath.Join(dir, "sealing.key"), key.Public())
	c, err := key.OpenCheckpoint([]byte(note))
	if err != nil || c.Size != int64(len(logLines(t, dir))-1) {
		t.Fatalf("checkpoint %q: %+v %v: not the log before the seal", note, c, err)
	}

	// Nothing new: the same seal again, nothing appended.
	again, info := sealOut(noEnv)
	if again != out || !strings.Contains(info, "nothing new since seal 0") {
		t.Fatalf("a second seal with nothing new: %q %q", again, info)
	}
	if seals := logLines(t, dir, "--stream", "ledger"); len(seals) != 1 {
		t.Fatalf("the ledger stream has %d events, want 1: %q", len(seals), seals)
	}

	// A key from the environment, in a fresh directory: no key file.
	other := t.TempDir()
	staffAdd(t, other, "", "R1", "rep")
	seed := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	var envOut bytes.Buffer
	envKey := func(k string) string {
		if k == seal.EnvSealingKey {
			return seed
		}
		return ""
	}
	if err := run(t.Context(), []string{"audit", "seal", "--data", other, "--seal-origin", "bank.example/ledger"}, envKey, &envOut, io.Discard); err != nil {
		t.Fatal(err)
	}
	fromEnv, _ := seal.NewKey("bank.example/ledger", bytes.Repeat([]byte{7}, ed25519.SeedSize))
	_, envNote, _ := strings.Cut(envOut.String(), "\n")
	if _, err := fromEnv.OpenCheckpoint([]byte(envNote)); err != nil {
		t.Fatalf("the checkpoint is not signed with the environment's key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "sealing.key")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a key file was written although the key came from the environment: %v", err)
	}
}

// logLines runs `dangol log --json` on the embedded store in dir and
// returns its lines, one event each.
func logLines(t *testing.T, dir string, args ...string) []string {
	t.Helper()
	var out bytes.Buffer
	if err := run(t.Context(), append([]string{"log", "--data", dir, "--json"}, args...), noEnv, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n")
}

// TestAuditCommandUsage: `dangol audit` names its subcommands; a wrong
// one, a missing ledger and a malformed environment key are refused.
func TestAuditCommandUsage(t *testing.T) {
	var stderr bytes.Buffer
	if err := run(context.Background(), []string{"audit"}, noEnv, io.Discard, &stderr); !errors.Is(err, errUsage) ||
		!strings.Contains(stderr.String(), "seal") || !strings.Contains(stderr.String(), "verify") {
		t.Fatalf("dangol audit: %v\n%s", err, stderr.String())
	}
	if err := run(context.Background(), []string{"audit", "-h"}, noEnv, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("dangol audit -h: %v", err)
	}
	if err := run(context.Background(), []string{"audit", "stamp"}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), `"stamp"`) {
		t.Fatalf("dangol audit stamp: %v", err)
	}
	empty := t.TempDir()
	if err := run(context.Background(), []string{"audit", "seal", "--data", empty}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "no ledger") {
		t.Fatalf("audit seal on an empty directory: %v", err)
	}
	dir := t.TempDir()
	staffAdd(t, dir, "", "R1", "rep")
	if err := run(context.Background(), []string{"audit", "seal", "--data", dir}, noEnv, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("audit seal without a master key: %v", err)
	}
	bad := func(k string) string {
		if k == seal.EnvSealingKey {
			return "secret-but-malformed"
		}
		return ""
	}
	err := run(context.Background(), []string{"audit", "seal", "--data", dir}, bad, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), seal.EnvSealingKey) || strings.Contains(err.Error(), "secret-but-malformed") {
		t.Fatalf("a malformed %s: %v (must name it, never echo it)", seal.EnvSealingKey, err)
	}
}

// TestSealFlagsDocumented: every flag of the seals, and the environment's
// sealing key, is described in README.md or docs/audit.md.
func TestSealFlagsDocumented(t *testing.T) {
	var docs []byte
	for _, p := range []string{"../../README.md", "../../docs/audit.md"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, b...)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	new(sealFlags).register(fs, true)
	names := []string{seal.EnvSealingKey, "audit seal"}
	fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
	for _, n := range names {
		if !bytes.Contains(docs, []byte(n)) {
			t.Errorf("%s is in neither README.md nor docs/audit.md", n)
		}
	}
}

// TestSealDirLocked: a tree directory another process (here, another open
// of it) holds is refused, naming the flag; it is free again once closed.
func TestSealDirLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "seals")
	first, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second, err := lockDir(dir); err == nil || !strings.Contains(err.Error(), "--seal-dir") {
		second.Close()
		t.Fatalf("a second lock of %s: %v, want a refusal naming --seal-dir", dir, err)
	}
	first.Close()
	again, err := lockDir(dir)
	if err != nil {
		t.Fatalf("the lock after it was released: %v", err)
	}
	again.Close()
}
