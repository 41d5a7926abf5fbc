package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/bench"
)

// benchPeer is another event store that `dangol bench store --peer` runs
// beside dangol's, in the same run on the same PostgreSQL cluster: after
// each of dangol's loads, the peer's, dangol's again and the peer's again,
// so that the shared machine's drift falls on both alike.
type benchPeer struct {
	name string
	s    events.Store
	ours events.Store
}

// openBenchPeer installs the peer named name ("" for none), its SQL read
// from dir, into a new database on the cluster of s, which must be the
// PostgreSQL store.
func openBenchPeer(ctx context.Context, name, dir string, s events.Store) (*benchPeer, error) {
	if name == "" {
		return nil, nil
	}
	if name != "messagedb" {
		return nil, fmt.Errorf("--peer %q: the peer is messagedb", name)
	}
	if dir == "" {
		return nil, fmt.Errorf("--peer %s needs --peer-dir: the database/ directory of a checkout of github.com/message-db/message-db (this project ships none of its code)", name)
	}
	pg, ok := s.(*postgres.Store)
	if !ok {
		return nil, fmt.Errorf("--peer %s needs --store postgres", name)
	}
	u, err := url.Parse(pg.Pool().Config().ConnString())
	if err != nil {
		return nil, fmt.Errorf("--peer: %w", err)
	}
	db := "dangol_bench_peer_" + name
	if _, err := pg.Pool().Exec(ctx, "CREATE DATABASE "+pgx.Identifier{db}.Sanitize()); err != nil {
		return nil, fmt.Errorf("--peer: create database %s: %w", db, err)
	}
	u.Path = "/" + db
	m, err := bench.OpenMessageDB(ctx, u.String(), dir, 64)
	if err != nil {
		return nil, err
	}
	return &benchPeer{name: "Message DB 1.3.0 (write_message)", s: m, ours: s}, nil
}

// run puts the load of dangol's run ours on the peer, then on dangol and
// the peer again, prints each and dangol's rate as a share of the peer's in
// each pair of runs and over both (their geometric mean). It returns the events dangol's second run
// appended. A nil peer does nothing.
func (p *benchPeer) run(ctx context.Context, stdout io.Writer, ours bench.AppendReport) (int, error) {
	if p == nil {
		return 0, nil
	}
	mine, theirs := []bench.AppendReport{ours}, []bench.AppendReport(nil)
	for round, s := range []events.Store{p.s, p.ours, p.s} {
		cfg := ours.AppendConfig
		cfg.Prefix += fmt.Sprintf("peer%d", round)
		r, err := bench.Appends(ctx, s, cfg)
		if err != nil {
			return 0, fmt.Errorf("bench against %s: %w", p.name, err)
		}
		if s == p.ours {
			mine = append(mine, r)
			fmt.Fprintf(stdout, "  dangol again: %s\n", r)
		} else {
			theirs = append(theirs, r)
			fmt.Fprintf(stdout, "  peer %s: %s\n", p.name, r)
		}
	}
	first, second := mine[0].EventsPerSec/theirs[0].EventsPerSec, mine[1].EventsPerSec/theirs[1].EventsPerSec
	fmt.Fprintf(stdout, "  dangol at %.0f%% of the peer's rate (geometric mean of the pairs: %.0f%% in the first, %.0f%% in the second; same writers, one run)\n",
		100*math.Sqrt(first*second), 100*first, 100*second)
	return mine[1].Events, nil
}

// close closes the peer's connections. A nil peer does nothing.
func (p *benchPeer) close() {
	if p != nil {
		p.s.Close()
	}
}
