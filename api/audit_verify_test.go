package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	bbolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seal"
)

// fillSealed appends customers' contacts through the API and seals after
// each customer: C1, C2, C3 with 4 contacts each, then 2 contacts no seal
// covers.
func fillSealed(s *stack) {
	for _, c := range []string{"C1", "C2", "C3"} {
		s.must("R1", "POST", "/v1/customers", newCustomer(c), 201)
		for i := range 4 {
			s.must("R1", "POST", "/v1/customers/"+c+"/contacts", newContact(fmt.Sprintf("통화 %d", i)), 201)
		}
		s.sealNow()
	}
	for i := range 2 {
		s.must("R1", "POST", "/v1/customers/C1/contacts", newContact(fmt.Sprintf("나중 %d", i)), 201)
	}
}

// TestAuditVerifySeals: a sealed log verifies, seals and all; the answer
// gives the latest seal, its age by the server's clock and the tree size
// proved; a seal_hash kept is checked, a bad one is invalid.
func TestAuditVerifySeals(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	ss := newStack(t, stackOptions{now: clock.Now})
	ver := ss.must("U1", "GET", "/v1/audit/verify", nil, 200)
	if ver["ok"] != true || ver["seals"].(map[string]any)["latest"] != nil || ver["seals"].(map[string]any)["checked"] != 0.0 {
		t.Fatalf("before any seal: %v", ver)
	}
	fillSealed(ss)
	clock.Set(clock.Now().Add(90 * time.Second))
	n := len(ss.logEvents(0))
	ver = ss.must("U1", "GET", "/v1/audit/verify", nil, 200)
	seals := ver["seals"].(map[string]any)
	latest, _ := seal.Latest(t.Context(), ss.store)
	if ver["ok"] != true || ver["checked"] != float64(n) || seals["checked"] != 3.0 || seals["verifiedThrough"] != float64(latest.TreeSize) {
		t.Fatalf("verify %v (log of %d events)", ver, n)
	}
	l := seals["latest"].(map[string]any)
	if l["hash"] != latest.Hash.String() || l["seal"] != 2.0 || l["checkpoint"] != latest.LedgerSealed.Checkpoint || seals["ageSeconds"] != 90.0 {
		t.Fatalf("latest seal %v, age %v; want %+v", l, seals["ageSeconds"], latest)
	}
	ok := ss.must("U1", "GET", "/v1/audit/verify?seal_hash="+latest.Hash.String(), nil, 200)
	if ok["ok"] != true {
		t.Fatalf("against the latest seal's hash: %v", ok)
	}
	other := ss.must("U1", "GET", "/v1/audit/verify?seal_hash="+strings.Repeat("ab", 32), nil, 200)
	if other["ok"] != false || !strings.Contains(other["firstBad"].(map[string]any)["reason"].(string), "the anchor seal abababababab is not in the verified log") {
		t.Fatalf("against a seal not in the log: %v", other)
	}
	for _, h := range []string{"xyz", strings.ToUpper(latest.Hash.String())} {
		bad := ss.req("U1", "GET", "/v1/audit/verify?seal_hash="+h, nil)
		if bad.status != 400 || !strings.Contains(string(bad.raw), "seal_hash") || !strings.Contains(string(bad.raw), "64 lowercase hex digits") {
			t.Fatalf("seal_hash=%s: %d %s", h, bad.status, bad.raw)
		}
	}
}

// apiTamper alters the embedded log's file while the server is stopped,
// as someone with the file and bbolt could.
type apiTamper struct {
	name string
	edit func(t *testing.T, tx *bbolt.Tx)
	kept bool   // verify against the latest seal's hash (?seal_hash=)
	want string // in firstBad.reason ("" : the check passes)
}

// TestAuditVerifyTamperMatrix tampers a sealed embedded log's file in
// every way the issue names and expects GET /v1/audit/verify to answer
// ok:false naming the failure. Events after the latest seal are covered by
// no seal: cut while the sealer's latest seal stays, they are not
// detected (the last case); cut through that seal, they are.
func TestAuditVerifyTamperMatrix(t *testing.T) {
	if pgBackend {
		t.Skip("tampers the embedded store's file")
	}
	ss := newStack(t, stackOptions{})
	fillSealed(ss)
	latest, err := seal.Latest(t.Context(), ss.store)
	if err != nil {
		t.Fatal(err)
	}
	ss.stop()
	path := filepath.Join(ss.dir, "events.db")
	pristine := readFile(t, path)
	for _, tc := range apiTampers {
		t.Run(tc.name, func(t *testing.T) {
			query := ""
			if tc.kept {
				query = "?seal_hash=" + latest.Hash.String()
			}
			writeFile(t, path, pristine)
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: hang})
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bbolt.Tx) error { tc.edit(t, tx); return nil })
			if cerr := db.Close(); err != nil || cerr != nil {
				t.Fatal(err, cerr)
			}
			s := ss.restart()
			defer s.stop()
			expectVerify(t, s, query, tc.want)
		})
	}
}

// expectVerify asks s for GET /v1/audit/verify with query and expects
// ok, or, if want is not "", ok:false with a reason that says want.
func expectVerify(t *testing.T, s *stack, query, want string) {
	t.Helper()
	a := s.req("U1", "GET", "/v1/audit/verify"+query, nil)
	var ver map[string]any
	if err := json.Unmarshal(a.raw, &ver); a.status != 200 || err != nil {
		t.Fatalf("verify: %d %s", a.status, a.raw)
	}
	bad, _ := ver["firstBad"].(map[string]any)
	switch {
	case want == "" && ver["ok"] != true:
		t.Fatalf("want ok, got %v", ver)
	case want != "" && (ver["ok"] != false || bad == nil || !strings.Contains(bad["reason"].(string), want)):
		t.Fatalf("want a failure saying %q, got %v", want, ver)
	case bad != nil:
		t.Log(bad)
	}
}

var apiTampers = []apiTamper{
	{name: "flipped byte in data", want: "hash does not match the event's content",
		edit: func(t *testing.T, tx *bbolt.Tx) {
			k, rec := findRecord(t, tx, func(e *events.Envelope) bool { return bytes.Contains(e.Data, []byte(`"Rep One"`)) })
			i := bytes.Index(rec, []byte(`"Rep One"`))
			rec[i+7] ^= 0x01 // "Rep Onf": still valid JSON the read side takes
			put(t, tx.Bucket([]byte("log")), k, rec)
		}},
	{name: "event deleted", want: "version gap in the stream, expected version 2",
		edit: func(t *testing.T, tx *bbolt.Tx) { deleteEvent(t, tx, "customer-C2", 2) }},
	{name: "two events swapped", want: "merkle root does not match the log",
		// Two events of different streams trade places: each chain holds.
		edit: func(t *testing.T, tx *bbolt.Tx) {
			a, _ := findRecord(t, tx, func(e *events.Envelope) bool { return e.Stream == "customer-C3" && e.Version == 0 })
			b := u64(binary.BigEndian.Uint64(a) - 1)
			swapEvents(t, tx, a, b)
		}},
	{name: "whole stream dropped", want: "events before it are missing",
		edit: func(t *testing.T, tx *bbolt.Tx) {
			dropStream(t, tx, "customer-C2")
		}},
	{name: "tail cut through the latest seal, no seal kept: not detectable", want: "",
		// Restarted, the sealer takes the cut log's latest seal for its own.
		edit: func(t *testing.T, tx *bbolt.Tx) { cutTail(t, tx, 6) }},
	{name: "tail cut through a kept seal", want: "the anchor seal",
		kept: true,
		edit: func(t *testing.T, tx *bbolt.Tx) { cutTail(t, tx, 6) }},
	{name: "seal forged with another key", want: "seal 2: checkpoint signature",
		edit: func(t *testing.T, tx *bbolt.Tx) { forgeSeal(t, tx, 2, resignWith(otherKey())) }},
	{name: "seal root changed", want: "seal 1: checkpoint (tree size",
		edit: func(t *testing.T, tx *bbolt.Tx) {
			forgeSeal(t, tx, 1, func(d *events.LedgerSealed) { d.MerkleRoot = strings.Repeat("0f", 32) })
		}},
	{name: "tail after the latest seal cut: not detectable", want: "",
		edit: func(t *testing.T, tx *bbolt.Tx) { cutTail(t, tx, 2) }},
}

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func indexKey(stream string, version uint64) []byte {
	return binary.BigEndian.AppendUint64(append([]byte(stream), 0), version)
}

func put(t *testing.T, b *bbolt.Bucket, k, v []byte) {
	if err := b.Put(k, v); err != nil {
		t.Fatal(err)
	}
}

func del(t *testing.T, b *bbolt.Bucket, k []byte) {
	if err := b.Delete(k); err != nil {
		t.Fatal(err)
	}
}

func decodeAt(t *testing.T, tx *bbolt.Tx, k []byte) *events.Envelope {
	var e events.Envelope
	if err := events.DecodeRecord(bytes.Clone(tx.Bucket([]byte("log")).Get(k)), &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// findRecord returns the key and a copy of the first record that match.
func findRecord(t *testing.T, tx *bbolt.Tx, match func(*events.Envelope) bool) ([]byte, []byte) {
	c := tx.Bucket([]byte("log")).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var e events.Envelope
		if err := events.DecodeRecord(bytes.Clone(v), &e); err != nil {
			t.Fatal(err)
		}
		if match(&e) {
			return bytes.Clone(k), bytes.Clone(v)
		}
	}
	t.Fatal("no such record")
	return nil, nil
}

// deleteEvent removes stream@version from every bucket, and moves the
// stream's head back if it was its last event.
func deleteEvent(t *testing.T, tx *bbolt.Tx, stream string, version uint64) {
	index, heads := tx.Bucket([]byte("index")), tx.Bucket([]byte("heads"))
	pos := index.Get(indexKey(stream, version))
	if pos == nil {
		t.Fatalf("no %s@%d", stream, version)
	}
	pos = bytes.Clone(pos)
	deleteAt(t, tx, pos)
	if binary.BigEndian.Uint64(heads.Get([]byte(stream))[:8]) != version {
		return
	}
	if version == 0 {
		del(t, heads, []byte(stream))
		return
	}
	prev := decodeAt(t, tx, index.Get(indexKey(stream, version-1)))
	put(t, heads, []byte(stream), append(binary.BigEndian.AppendUint64(nil, version-1), prev.Hash[:]...))
}

// deleteAt removes the event at position key pos from the log, the index
// and the ids (not the head).
func deleteAt(t *testing.T, tx *bbolt.Tx, pos []byte) {
	e := decodeAt(t, tx, pos)
	del(t, tx.Bucket([]byte("log")), pos)
	del(t, tx.Bucket([]byte("index")), indexKey(e.Stream, e.Version))
	del(t, tx.Bucket([]byte("ids")), e.ID[:])
}

// cutTail removes the log's last n events, heads and all.
func cutTail(t *testing.T, tx *bbolt.Tx, n int) {
	for range n {
		k, _ := tx.Bucket([]byte("log")).Cursor().Last()
		e := decodeAt(t, tx, k)
		deleteEvent(t, tx, e.Stream, e.Version)
	}
}

// swapEvents makes the events at positions a and b trade places.
func swapEvents(t *testing.T, tx *bbolt.Tx, a, b []byte) {
	log, index, ids := tx.Bucket([]byte("log")), tx.Bucket([]byte("index")), tx.Bucket([]byte("ids"))
	ea, eb := decodeAt(t, tx, a), decodeAt(t, tx, b)
	ra, rb := bytes.Clone(log.Get(a)), bytes.Clone(log.Get(b))
	put(t, log, a, rb)
	put(t, log, b, ra)
	put(t, index, indexKey(ea.Stream, ea.Version), b)
	put(t, index, indexKey(eb.Stream, eb.Version), a)
	put(t, ids, ea.ID[:], b)
	put(t, ids, eb.ID[:], a)
}

// forgeSeal rewrites seal seq's data in place, its hash recomputed.
func forgeSeal(t *testing.T, tx *bbolt.Tx, seq uint64, change func(*events.LedgerSealed)) {
	pos := bytes.Clone(tx.Bucket([]byte("index")).Get(indexKey(events.LedgerStream, seq)))
	e := forged(t, tx.Bucket([]byte("log")).Get(pos), change)
	put(t, tx.Bucket([]byte("log")), pos, e.Record())
	heads := tx.Bucket([]byte("heads"))
	if binary.BigEndian.Uint64(heads.Get([]byte(events.LedgerStream))[:8]) == seq {
		put(t, heads, []byte(events.LedgerStream), append(binary.BigEndian.AppendUint64(nil, seq), e.Hash[:]...))
	}
}

// forged is the seal of record rec with its data changed by change and
// its hash recomputed, as someone who rewrites a stored event would.
func forged(t *testing.T, rec []byte, change func(*events.LedgerSealed)) *events.Envelope {
	var e events.Envelope
	if err := events.DecodeRecord(bytes.Clone(rec), &e); err != nil {
		t.Fatal(err)
	}
	var d events.LedgerSealed
	if err := json.Unmarshal(e.Data, &d); err != nil {
		t.Fatal(err)
	}
	change(&d)
	data, err := json.Marshal(&d)
	if err != nil {
		t.Fatal(err)
	}
	e.Data = data
	events.EncodeRecord(&e)
	return &e
}

// resignWith signs a seal's checkpoint again with k.
func resignWith(k *seal.Key) func(*events.LedgerSealed) {
	return func(d *events.LedgerSealed) {
		c, _ := seal.ParseCheckpoint([]byte(strings.SplitN(d.Checkpoint, "\n\n", 2)[0] + "\n"))
		signed, sig, _ := k.SignCheckpoint(c)
		d.Checkpoint, d.Signature = signed, base64.StdEncoding.EncodeToString(sig)
	}
}

// otherKey is a sealing key of the same name that is not the server's.
func otherKey() *seal.Key {
	k, _ := seal.NewKey("dangol-test", bytes.Repeat([]byte{6}, 32))
	return k
}

func readFile(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, path string, b []byte) {
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// dropStream removes every event of stream.
func dropStream(t *testing.T, tx *bbolt.Tx, stream string) {
	h := tx.Bucket([]byte("heads")).Get([]byte(stream))
	for v := int64(binary.BigEndian.Uint64(h[:8])); v >= 0; v-- {
		deleteEvent(t, tx, stream, uint64(v))
	}
}

// sqlTamper alters the PostgreSQL log while the server runs, as someone
// with the database's superuser could (the append-only triggers bypassed).
type sqlTamper struct {
	name string
	edit func(t *testing.T, db *pgx.Conn)
	want string // in firstBad.reason ("": the check passes)
}

// TestAuditVerifyTamperMatrixPostgres tampers the events table of a
// sealed log on PostgreSQL under the running server, which must answer
// ok:false naming the failure. Running, the server's sealer remembers its
// latest seal: a tail cut through it is detected without a kept hash.
func TestAuditVerifyTamperMatrixPostgres(t *testing.T) {
	if !pgBackend {
		t.Skip("tampers PostgreSQL's tables: DANGOL_TEST_STORE=postgres")
	}
	for _, tc := range sqlTampers {
		t.Run(tc.name, func(t *testing.T) {
			s := newStack(t, stackOptions{})
			fillSealed(s)
			db, err := pgx.Connect(t.Context(), s.url)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close(context.Background())
			sqlExec(t, db, `SET session_replication_role = replica`)
			tc.edit(t, db)
			expectVerify(t, s, "", tc.want)
		})
	}
}

var sqlTampers = []sqlTamper{
	{name: "flipped byte in data", want: "hash does not match the event's content",
		edit: func(t *testing.T, db *pgx.Conn) {
			seq, rec := rowOf(t, db, "staff-R1", 0)
			i := bytes.Index(rec, []byte(`"Rep One"`))
			rec[i+7] ^= 0x01
			sqlExec(t, db, `UPDATE dangol_events SET record = $2 WHERE seq = $1`, seq, rec)
		}},
	{name: "event deleted", want: "version gap in the stream, expected version 2",
		edit: func(t *testing.T, db *pgx.Conn) {
			sqlExec(t, db, `DELETE FROM dangol_events WHERE stream = 'customer-C2' AND version = 2`)
		}},
	{name: "two events swapped", want: "merkle root does not match the log",
		edit: func(t *testing.T, db *pgx.Conn) {
			a, _ := rowOf(t, db, "customer-C3", 0)
			sqlExec(t, db, `UPDATE dangol_events SET seq = -1 WHERE seq = $1`, a)
			sqlExec(t, db, `UPDATE dangol_events SET seq = $1 WHERE seq = $1 - 1`, a)
			sqlExec(t, db, `UPDATE dangol_events SET seq = $1 - 1 WHERE seq = -1`, a)
		}},
	{name: "whole stream dropped", want: "events before it are missing",
		edit: func(t *testing.T, db *pgx.Conn) {
			sqlExec(t, db, `DELETE FROM dangol_events WHERE stream = 'customer-C2'`)
			sqlExec(t, db, `DELETE FROM dangol_streams WHERE stream = 'customer-C2'`)
		}},
	{name: "tail cut through the latest seal", want: "the anchor seal",
		edit: func(t *testing.T, db *pgx.Conn) { cutTailSQL(t, db, 6) }},
	{name: "seal forged with another key", want: "seal 2: checkpoint signature",
		edit: func(t *testing.T, db *pgx.Conn) {
			seq, rec := rowOf(t, db, events.LedgerStream, 2)
			e := forged(t, rec, resignWith(otherKey()))
			sqlExec(t, db, `UPDATE dangol_events SET record = $2 WHERE seq = $1`, seq, e.Record())
			sqlExec(t, db, `UPDATE dangol_streams SET hash = $1 WHERE stream = 'ledger'`, e.Hash[:])
		}},
	{name: "tail after the latest seal cut: not detectable", want: "",
		edit: func(t *testing.T, db *pgx.Conn) { cutTailSQL(t, db, 2) }},
}

func sqlExec(t *testing.T, db *pgx.Conn, sql string, args ...any) {
	t.Helper()
	if _, err := db.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// rowOf returns the seq and record of stream@version.
func rowOf(t *testing.T, db *pgx.Conn, stream string, version uint64) (int64, []byte) {
	var seq int64
	var rec []byte
	err := db.QueryRow(context.Background(), `SELECT seq, record FROM dangol_events WHERE stream = $1 AND version = $2`, stream, int64(version)).Scan(&seq, &rec)
	if err != nil {
		t.Fatalf("%s@%d: %v", stream, version, err)
	}
	return seq, rec
}

// cutTailSQL removes the log's last n events, the streams' heads and the
// log's head moved back to what is left.
func cutTailSQL(t *testing.T, db *pgx.Conn, n int) {
	sqlExec(t, db, `DELETE FROM dangol_events WHERE seq > (SELECT max(seq) FROM dangol_events) - $1`, n)
	sqlExec(t, db, `DELETE FROM dangol_streams WHERE stream NOT IN (SELECT stream FROM dangol_events)`)
	sqlExec(t, db, `UPDATE dangol_streams s SET version = e.version, hash = substring(e.record FROM length(e.record) - 31)
		FROM (SELECT DISTINCT ON (stream) stream, version, record FROM dangol_events ORDER BY stream, version DESC) e
		WHERE e.stream = s.stream`)
	sqlExec(t, db, `UPDATE dangol_log_head SET seq = (SELECT max(seq) FROM dangol_events)`)
}

// TestAuditSealAgeNeverNegative: with the server's clock set back behind
// the latest seal's time (a clock corrected), the seal's age is 0 s in
// the verification as in the seal status, never negative.
func TestAuditSealAgeNeverNegative(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.sealNow()
	clock.Set(eventstest.Epoch.Add(-time.Minute))
	if age := s.must("U1", "GET", "/v1/audit/verify", nil, 200)["seals"].(map[string]any)["ageSeconds"]; age != 0.0 {
		t.Errorf("verify: the latest seal's age %v, want 0", age)
	}
	if age := s.must("U1", "GET", "/v1/audit/seals/latest", nil, 200)["ageSeconds"]; age != 0.0 {
		t.Errorf("seals/latest: the latest seal's age %v, want 0", age)
	}
}
