package main

import (
	"fmt"
	"io"
	"net/url"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/ops/pgtest"
)

// searchIDs returns the ids GET /v1/search/customers answers q with, to a
// supervisor (a rep finds only their own book by name).
func (s *stack) searchIDs(q string, hdr ...string) []string {
	s.t.Helper()
	ids := []string{}
	for _, it := range s.json("S1", "GET", "/v1/search/customers?q="+url.QueryEscape(q), nil, 200, hdr...)["items"].([]any) {
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	return ids
}

// TestServeSearch: dangol serve builds the search index from its master
// key, on either read store, so a customer is found by name and phone, and
// still after a restart (replayed in memory, kept in the tables).
func TestServeSearch(t *testing.T) {
	s := bootStack(t)
	s.json("R1", "POST", "/v1/customers", customer("C1"), 201)
	s.json("R1", "POST", "/v1/customers", customer("C2"), 201)
	for _, q := range []string{"김민준 C1", "010 1234 5678", "5678"} {
		if got, want := s.searchIDs(q), map[string][]string{"김민준 C1": {"C1", "C2"}, "010 1234 5678": {"C1", "C2"}, "5678": {"C1", "C2"}}[q]; !slices.Equal(got, want) {
			t.Errorf("search %q = %v, want %v", q, got, want)
		}
	}
	if got := s.searchIDs("c2"); !slices.Equal(got, []string{"C2"}) { // the part "c2" of the name
		t.Errorf("search c2 = %v", got)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	s = startStack(t, s.dir, s.url, s.tok)
	if got := s.searchIDs("김민준 C2"); !slices.Equal(got, []string{"C2", "C1"}) {
		t.Errorf("search after a restart = %v, want C2 (name and both parts) then C1 (a part)", got)
	}
}

// TestServeSearchPostgres: every server of a deployment finds what another
// wrote, and dangol rebuild writes the index as serve does.
func TestServeSearchPostgres(t *testing.T) {
	if pgBackend {
		t.Skip("runs in the default pass")
	}
	dir := t.TempDir()
	a := bootStackAt(t, dir, pgtest.Database(t))
	b := startSecondStack(t, dir, a.url, a.tok)
	pos := fmt.Sprint(a.json("R1", "POST", "/v1/customers", customer("C1"), 201)["position"])
	if got := b.searchIDs("김민준", "Dangol-Min-Position", pos); !slices.Equal(got, []string{"C1"}) {
		t.Errorf("search on server B = %v", got)
	}
	for _, s := range []*stack{b, a} {
		if err := s.stop(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := pgx.Connect(t.Context(), a.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(t.Context())
	if _, err := db.Exec(t.Context(), "DELETE FROM dangol_rm.rm_search"); err != nil {
		t.Fatal(err)
	}
	if err := run(t.Context(), []string{"rebuild", "--data", dir}, storeEnv(a.url), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRow(t.Context(), "SELECT count(*) FROM dangol_rm.rm_search WHERE customer_id = 'C1'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 5 { // the whole name, its parts 김민준 and c1, the phone, its last four
		t.Errorf("the rebuilt index holds %d terms of C1, want 5", n)
	}
}
