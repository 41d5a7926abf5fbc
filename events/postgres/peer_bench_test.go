package postgres_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/bench"
	"github.com/dangol/dangol/ops/pgtest"
)

// BenchmarkBesideMessageDB measures a single writer's durable appends of
// ~500-byte events on this store and on Message DB's write_message, in
// databases of the same cluster, one append to each in turn (which goes
// first alternates), so the shared machine's drift falls on both alike at
// the grain of one commit. It reports each one's appends per second of its
// own append time and dangol's as a share of Message DB's. It runs where
// DANGOL_MESSAGEDB_DIR names the database/ directory of a checkout of
// github.com/message-db/message-db (the project ships none of its code).
func BenchmarkBesideMessageDB(b *testing.B) {
	dir := os.Getenv("DANGOL_MESSAGEDB_DIR")
	if dir == "" {
		b.Skip("not run: DANGOL_MESSAGEDB_DIR does not name a checkout of github.com/message-db/message-db's database/ directory")
	}
	s := open(b, pgtest.Database(b))
	m, err := bench.OpenMessageDB(b.Context(), pgtest.Database(b), dir, 4)
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	stores := []events.Store{s, m}
	data := []byte(`{"channel":"phone_outbound","purpose":"advice","durationSec":312,"staffId":"R017","summary":"` + strings.Repeat("x", 400) + `"}`)
	next := []events.ExpectedVersion{events.NoStream, events.NoStream}
	var spent [2]time.Duration
	b.ResetTimer()
	for i := range b.N {
		for j := range stores {
			k := (i + j) % 2
			ev := events.Event{ID: events.NewID(), Type: "ContactLogged", Schema: 1, Actor: events.Actor{ID: "bench", Role: "rep"}, Data: data}
			t0 := time.Now()
			r, err := stores[k].Append(b.Context(), "customer-B1", next[k], ev)
			spent[k] += time.Since(t0)
			if err != nil {
				b.Fatal(err)
			}
			next[k] = events.Exact(r.Version)
		}
	}
	b.StopTimer()
	ours, theirs := float64(b.N)/spent[0].Seconds(), float64(b.N)/spent[1].Seconds()
	b.ReportMetric(ours, "dangol-appends/s")
	b.ReportMetric(theirs, "messagedb-appends/s")
	b.ReportMetric(100*ours/theirs, "dangol-%-of-messagedb")
}
