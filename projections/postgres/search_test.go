package postgres_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// searchMemory folds the whole log of s into a Memory with the suite's
// search index: the reference answers of FindCustomers.
func searchMemory(t testing.TB, s events.Store) *projections.Memory {
	t.Helper()
	m := projections.NewMemory(projections.WithSearchIndex(projectionstest.SearchIndex()))
	for from := (events.Position{}); ; {
		evs, err := s.ReadAll(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return m
		}
		for i := range evs {
			d, err := events.Decode(&evs[i])
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range m.Projections() {
				p.Apply(projections.Event{Envelope: &evs[i], Data: d})
			}
		}
		from = evs[len(evs)-1].Position
	}
}

// searchAnswers renders FindCustomers' answers to a query for the name
// and the phone of every customer of ids, as JSON lines.
func searchAnswers(t testing.TB, q projections.Queries, m *projections.Memory, ids []string) []string {
	t.Helper()
	var out []string
	for _, id := range ids {
		v, err := m.Customer(context.Background(), id, seedEnd)
		if err != nil {
			t.Fatal(err)
		}
		for _, typed := range []string{v.Name, v.Phone, lastFour(v.Phone), strings.Fields(v.Name + " x")[0]} {
			got, err := q.FindCustomers(context.Background(), projectionstest.SearchQuery(typed), 5, seedEnd)
			if err != nil {
				t.Fatalf("FindCustomers: %v", err)
			}
			out = append(out, fmt.Sprintf("%s %q: %+v", id, typed, got))
		}
	}
	return out
}

func lastFour(phone string) string {
	d := pii.PhoneDigits(phone)
	return d[max(0, len(d)-4):]
}

// searchRowCount returns how many rows rm_search holds, for customer id or
// (id "") in all.
func searchRowCount(t testing.TB, db *pgx.Conn, id string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(context.Background(),
		"SELECT count(*) FROM dangol_rm.rm_search WHERE $1 = '' OR customer_id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSearchIndexFollowsTheSetting: tables written without a search index
// (a release before search, a process without one) get their index at the
// next start with one, without waiting for an event; the answers are
// Memory's; the table holds no name or phone; an erasure deletes the
// customer's rows; a start without an index deletes every row, so no term
// outlives the setting; a rebuild writes the index too.
func TestSearchIndexFollowsTheSetting(t *testing.T) {
	ctx := context.Background()
	s := logStore(t, 150)
	appendData(t, s, events.CustomerStream("K1"), &events.CustomerRegistered{CustomerID: "K1", Name: "Kim Minjun",
		Phone: "+82 10-5550-1234", BranchID: "B01", Source: events.Source{System: "core"}})
	appendData(t, s, events.CustomerStream("K2"), &events.CustomerRegistered{CustomerID: "K2", Name: "김민준",
		Phone: "010-7777-1234", BranchID: "B01", Source: events.Source{System: "core"}})
	url := pgtest.Database(t)
	db := conn(t, url)
	idx := projectionstest.SearchIndex()

	bare := openStore(t, url, postgres.Options{})
	stop := run(t, bare, s)
	waitHead(t, bare, s)
	stop()
	if n := searchRowCount(t, db, ""); n != 0 {
		t.Fatalf("a writer without a search index wrote %d rows", n)
	}

	// Restart with the index: the log has no new event, yet the index is
	// written, at the tables' checkpoint.
	before := checkpointRow(t, url)
	st := openStore(t, url, postgres.Options{SearchIndex: idx})
	stop = run(t, st, s)
	eventually(t, "the index of tables written without one", func() bool { return searchRowCount(t, db, "K1") > 0 })
	if after := checkpointRow(t, url); after != before {
		t.Errorf("writing the index moved the checkpoint from %v to %v", before, after)
	}
	m := searchMemory(t, s)
	ids := []string{"K1", "K2", "C0000001", "C0000002", "C0000017", "C0000100"}
	want := searchAnswers(t, m, m, ids)
	sameAnswers(t, want, searchAnswers(t, st, m, ids))
	if got, _ := st.FindCustomers(ctx, projectionstest.SearchQuery("kim minjun"), 0, seedEnd); len(got) == 0 || got[0].ID != "K1" {
		t.Errorf("FindCustomers(kim minjun) = %+v, want K1 first", got)
	}
	if got, _ := st.FindCustomers(ctx, projectionstest.SearchQuery("1234"), 0, seedEnd); len(got) < 2 {
		t.Errorf("FindCustomers(1234) = %+v, want K1 and K2", got)
	}
	rows, err := db.Query(ctx, "SELECT term FROM dangol_rm.rm_search WHERE customer_id IN ('K1', 'K2')")
	if err != nil {
		t.Fatal(err)
	}
	var terms []string
	for rows.Next() {
		var term string
		if err := rows.Scan(&term); err != nil {
			t.Fatal(err)
		}
		terms = append(terms, term)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(terms) != 5+3 { // K1: 3 of the name, 2 of the phone; K2: 1 of the name, 2 of the phone
		t.Errorf("K1 and K2 have %d terms, want 8: %v", len(terms), terms)
	}
	for _, term := range terms {
		for _, clear := range []string{"kim", "Kim", "minjun", "김", "1234", "5550", "7777"} {
			if strings.Contains(term, clear) {
				t.Errorf("term %q holds %q in clear", term, clear)
			}
		}
	}

	// Erasure deletes the customer's rows; a name change replaces them.
	appendData(t, s, events.CustomerStream("K1"), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	appendData(t, s, events.CustomerStream("K2"), &events.ProfileChanged{Changes: map[string]string{"name": "Kim Minjun"}, Source: "branch"})
	waitHead(t, st, s)
	if n := searchRowCount(t, db, "K1"); n != 0 {
		t.Errorf("the erased customer still has %d rows in rm_search", n)
	}
	if got, _ := st.FindCustomers(ctx, projectionstest.SearchQuery("kim minjun"), 0, seedEnd); len(got) == 0 || got[0].ID != "K2" {
		t.Errorf("FindCustomers(kim minjun) after K1's erasure and K2's new name = %+v, want K2 first", got)
	}
	if got, _ := st.FindCustomers(ctx, projectionstest.SearchQuery("010-5550-1234"), 0, seedEnd); len(got) != 0 {
		t.Errorf("the erased customer's phone finds %+v", got)
	}
	m = searchMemory(t, s)
	sameAnswers(t, searchAnswers(t, m, m, ids), searchAnswers(t, st, m, ids))
	stop()

	// A start without the index deletes every row.
	bare = openStore(t, url, postgres.Options{})
	stop = run(t, bare, s)
	eventually(t, "the rows of an index no process keeps to go", func() bool { return searchRowCount(t, db, "") == 0 })
	if got, _ := bare.FindCustomers(ctx, projectionstest.SearchQuery("kim minjun"), 0, seedEnd); len(got) != 0 {
		t.Errorf("a store without an index found %+v", got)
	}
	stop()

	// A rebuild writes the index it is given.
	if _, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{SearchIndex: idx}); err != nil {
		t.Fatal(err)
	}
	st = openStore(t, url, postgres.Options{SearchIndex: idx})
	sameAnswers(t, searchAnswers(t, m, m, ids), searchAnswers(t, st, m, ids))
}

// TestFindCustomersMatchesMemory: on a bank where names and numbers
// collide a lot (5 surnames, 8 given names, 30 last-four digits), every
// query's answer at several limits is Memory's: the commonest term set
// apart changes nothing.
func TestFindCustomersMatchesMemory(t *testing.T) {
	s := logStore(t, 0)
	surnames := []string{"Kim", "Lee", "Park", "Kim", "Kim"}
	given := []string{"Minjun", "Jiwoo", "Seoyeon", "Minjun Jae", "Hana", "Jiwoo Kim", "Yuna", "Minjun"}
	for i := range 300 {
		id := fmt.Sprintf("S%04d", (i*7919)%10000) // ids not in registration order
		name := surnames[i%len(surnames)] + " " + given[(i/5)%len(given)]
		phone := fmt.Sprintf("010-%04d-%04d", i, 1000+i%30)
		appendData(t, s, events.CustomerStream(id), &events.CustomerRegistered{CustomerID: id, Name: name, Phone: phone,
			BranchID: "B01", Source: events.Source{System: "core"}})
	}
	st := openStore(t, pgtest.Database(t), postgres.Options{SearchIndex: projectionstest.SearchIndex(), MaxBatch: 50})
	run(t, st, s)
	waitHead(t, st, s)
	m := searchMemory(t, s)
	var queries []string
	for _, sn := range []string{"Kim", "Lee", "Park"} {
		for _, g := range given {
			queries = append(queries, sn+" "+g, g+" "+sn)
		}
	}
	queries = append(queries, "kim", "minjun", "jae minjun kim", "kim kim", "1000", "1007", "010-0042-1012", "Nobody Here")
	for _, q := range queries {
		for _, limit := range []int{1, 3, 20, 100} {
			want, err := m.FindCustomers(t.Context(), projectionstest.SearchQuery(q), limit, seedEnd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.FindCustomers(t.Context(), projectionstest.SearchQuery(q), limit, seedEnd)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
				t.Errorf("FindCustomers(%q, %d):\n got %s\nwant %s", q, limit, g, w)
			}
		}
	}
}

// BenchmarkFindCustomers: the lookup of a term 20,000 of 100,000 customers
// share (the surname Kim), of a three-term name and of a whole phone
// number, on tables filled by SQL (a writer would take minutes to fill
// them): ranking and limit run in SQL, so only 20 customer rows are loaded.
func BenchmarkFindCustomers(b *testing.B) {
	ctx := context.Background()
	url := pgtest.Database(b)
	st := openStore(b, url, postgres.Options{SearchIndex: projectionstest.SearchIndex()})
	db := conn(b, url)
	for _, sql := range []string{
		`INSERT INTO dangol_rm.rm_customers (id, advisor_id, tier, stale_at, state)
			SELECT 'C' || lpad(i::text, 7, '0'), '', '', 0,
				jsonb_build_object('id', 'C' || lpad(i::text, 7, '0'), 'branchId', 'B01', 'name', 'Customer ' || i, 'registeredAt', 0, 'version', 0)
			FROM generate_series(1, 100000) i`,
		`INSERT INTO dangol_rm.rm_search (customer_id, term)
			SELECT 'C' || lpad(i::text, 7, '0'), t FROM generate_series(1, 100000) i,
				LATERAL (VALUES ('name:' || (i % 5)), ('name:given' || (i % 200)), ('name:whole' || (i % 1000)),
					('phone:' || i), ('phone4:' || (i % 10000))) v(t)`,
		`ANALYZE dangol_rm.rm_search`, `ANALYZE dangol_rm.rm_customers`,
	} {
		if _, err := db.Exec(ctx, sql); err != nil {
			b.Fatal(err)
		}
	}
	for name, terms := range map[string][]string{
		"surname":   {"name:0"},
		"full name": {"name:whole7", "name:0", "name:given7"},
		"phone":     {"phone:4242"},
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				got, err := st.FindCustomers(ctx, terms, 20, seedEnd)
				if err != nil || len(got) == 0 {
					b.Fatalf("FindCustomers: %d, %v", len(got), err)
				}
			}
		})
	}
}
