package postgres_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// testCipher returns a row cipher over a fresh key store, and its sealer
// (to destroy keys with).
func testCipher(t testing.TB) (postgres.RowCipher, *pii.Sealer) {
	t.Helper()
	raw := make([]byte, 32)
	rand.Read(raw)
	master, _, err := pii.LoadMasterKey(base64.StdEncoding.EncodeToString(raw), filepath.Join(t.TempDir(), "master.key"), false)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := boltkeys.Open(filepath.Join(t.TempDir(), "keys.db"), master)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	sealer := pii.NewSealer(keys)
	return pii.RowSealer{Sealer: sealer, Purpose: "rm_customers"}, sealer
}

// unmigrateBriefs turns the tables back into what migration 0004 left,
// rows as a writer before 0005 wrote them (the state and sealed columns
// are the same), so that the next Open applies 0005 to them.
func unmigrateBriefs(t testing.TB, db *pgx.Conn) {
	t.Helper()
	for _, sql := range []string{
		"DROP TRIGGER rm_customers_clear_brief ON dangol_rm.rm_customers",
		"DROP FUNCTION dangol_rm.rm_customers_clear_brief()",
		"ALTER TABLE dangol_rm.rm_customers DROP COLUMN brief, DROP COLUMN brief_sealed, DROP COLUMN brief_xact",
		"DELETE FROM dangol_rm.rm_schema_migrations WHERE version = 5",
	} {
		if _, err := db.Exec(context.Background(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}

// briefCounts returns how many customer rows there are, how many hold a
// brief in clear and how many a sealed one.
func briefCounts(t testing.TB, db *pgx.Conn) (rows, clear, sealed int) {
	t.Helper()
	if err := db.QueryRow(context.Background(), `SELECT count(*), count(brief), count(brief_sealed) FROM dangol_rm.rm_customers`).
		Scan(&rows, &clear, &sealed); err != nil {
		t.Fatal(err)
	}
	return rows, clear, sealed
}

// TestBriefsOfRowsFromBefore upgrades sealed tables written before
// migration 0005: until a writer runs, the worklist and the lists are
// answered from the whole rows, as Memory answers them; a writer fills
// every brief, sealed, once it holds the tables' checkpoint (no new event
// needed, the checkpoint left where it was); the answers stay Memory's,
// and an erasure reaches the worklist's name too.
func TestBriefsOfRowsFromBefore(t *testing.T) {
	ctx := context.Background()
	s := logStore(t, 150)
	cipher, sealer := testCipher(t)
	url := pgtest.Database(t)
	db := conn(t, url)
	opt := postgres.Options{Cipher: cipher}
	st := openStore(t, url, opt)
	stop := run(t, st, s)
	waitHead(t, st, s)
	stop()
	st.Close()
	unmigrateBriefs(t, db)
	before := checkpointRow(t, url)

	reader := openStore(t, url, opt) // applies 0005; runs no writer
	if n := migrationsApplied(t, url); n != postgres.MigrationCount() {
		t.Fatalf("%d migrations applied, want %d", n, postgres.MigrationCount())
	}
	rows, clear, sealed := briefCounts(t, db)
	if rows < 150 || clear+sealed != 0 {
		t.Fatalf("after the migration: %d rows, %d briefs in clear, %d sealed; want none yet", rows, clear, sealed)
	}
	m := memory(t, s)
	x := logIDs(t, s)
	want := render(t, m, x, seedEnd)
	sameAnswers(t, want, render(t, reader, x, seedEnd))

	st = openStore(t, url, opt)
	run(t, st, s)
	eventually(t, "the writer to fill the briefs", func() bool { _, _, n := briefCounts(t, db); return n == rows })
	if _, clear, _ := briefCounts(t, db); clear != 0 {
		t.Errorf("%d briefs in clear with a cipher", clear)
	}
	if after := checkpointRow(t, url); after != before {
		t.Errorf("filling the briefs moved the checkpoint from %v to %v", before, after)
	}
	sameAnswers(t, want, render(t, reader, x, seedEnd))
	sameAnswers(t, want, render(t, st, x, seedEnd))

	// The brief holds no name in clear, and dies with the key.
	id := bookCustomer(t, m)
	v, err := m.Customer(ctx, id, seedEnd)
	if err != nil || v.Advisor == nil {
		t.Fatalf("memory view of %s: %+v, %v; want one with an advisor", id, v, err)
	}
	var blob []byte
	if err := db.QueryRow(ctx, "SELECT brief_sealed FROM dangol_rm.rm_customers WHERE id = $1", id).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if len(blob) == 0 || bytes.Contains(blob, []byte(v.Name)) {
		t.Fatalf("sealed brief of %s: %d bytes, holding the name: %v", id, len(blob), bytes.Contains(blob, []byte(v.Name)))
	}
	if err := sealer.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Worklist(ctx, v.Advisor.ID, seedEnd, projections.WorklistOptions{}); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("a worklist with a brief sealed under a destroyed key: %v, want Unavailable", err)
	}
	appendData(t, s, events.CustomerStream(id), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	waitHead(t, st, s)
	items, err := st.Worklist(ctx, v.Advisor.ID, seedEnd, projections.WorklistOptions{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, it := range items {
		if it.CustomerID == id {
			found = true
			if it.Name != projections.Erased {
				t.Errorf("worklist name of the erased customer: %q, want %q", it.Name, projections.Erased)
			}
		}
	}
	if !found {
		t.Errorf("the erased customer left the worklist of %s", v.Advisor.ID)
	}
	m = memory(t, s)
	sameAnswers(t, render(t, m, x, seedEnd), render(t, st, x, seedEnd))
}

// bookCustomer returns a customer of rep R000's book.
func bookCustomer(t testing.TB, m *projections.Memory) string {
	t.Helper()
	l, _ := m.Customers.List(projections.CustomerFilter{Advisor: "R000", Limit: 1}, seedEnd)
	if len(l) == 0 {
		t.Fatal("R000 has no customer")
	}
	return l[0].ID
}

// oldUpsert is the statement a writer before migration 0005 wrote
// customer rows with: it sets the state and not the brief.
const oldUpsert = `INSERT INTO dangol_rm.rm_customers (id, advisor_id, tier, profit, stale_at, state, sealed)
	VALUES ($1, $2, $3, NULL, $4, $5, NULL)
	ON CONFLICT (id) DO UPDATE SET advisor_id = EXCLUDED.advisor_id, tier = EXCLUDED.tier,
		profit = EXCLUDED.profit, stale_at = EXCLUDED.stale_at, state = EXCLUDED.state, sealed = EXCLUDED.sealed`

// TestOlderWriterClearsBrief: a writer of a release before migration 0005
// (in a deployment upgraded one process at a time) that rewrites a row
// leaves its brief as it was, which the worklist would then show; the
// table's trigger clears that brief, so the worklist shows what the row
// now holds, and this release's next writer writes the brief again.
func TestOlderWriterClearsBrief(t *testing.T) {
	ctx := context.Background()
	s := logStore(t, 60)
	url := pgtest.Database(t)
	db := conn(t, url)
	st := openStore(t, url, postgres.Options{})
	stop := run(t, st, s)
	waitHead(t, st, s)
	stop()

	id := bookCustomer(t, memory(t, s))
	appendData(t, s, events.CustomerStream(id), &events.ProfileChanged{Changes: map[string]string{"name": "Renamed By Old"}, Source: "branch"})
	m := memory(t, s)
	r, ok := m.Customers.Record(id)
	if !ok || r.AdvisorID() == "" {
		t.Fatalf("%s: no record with an advisor (%v)", id, ok)
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(ctx, oldUpsert, id, r.AdvisorID(), r.Tier(), r.StaleAt().Unix(), js); err != nil {
		t.Fatal(err)
	}
	var briefGone bool
	if err := db.QueryRow(ctx, "SELECT brief IS NULL AND brief_sealed IS NULL FROM dangol_rm.rm_customers WHERE id = $1", id).Scan(&briefGone); err != nil {
		t.Fatal(err)
	}
	if !briefGone {
		t.Error("the older writer's update left the brief")
	}
	name := func(q projections.Queries) string {
		items, err := q.Worklist(ctx, r.AdvisorID(), seedEnd, projections.WorklistOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			if it.CustomerID == id {
				return it.Name
			}
		}
		t.Fatalf("%s is not in the worklist of %s", id, r.AdvisorID())
		return ""
	}
	if got := name(st); got != "Renamed By Old" {
		t.Errorf("worklist name after the older writer's update: %q, want the row's %q", got, "Renamed By Old")
	}

	st = openStore(t, url, postgres.Options{})
	run(t, st, s)
	waitHead(t, st, s)
	eventually(t, "the brief to be written again", func() bool { rows, clear, _ := briefCounts(t, db); return clear == rows })
	x := logIDs(t, s)
	sameAnswers(t, render(t, m, x, seedEnd), render(t, st, x, seedEnd))
	if got := name(st); got != "Renamed By Old" {
		t.Errorf("worklist name after this release's writer: %q", got)
	}
}
