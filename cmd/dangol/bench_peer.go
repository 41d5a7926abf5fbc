package main

import (
	"context"
	"fmt"
	"io"
	"net/url"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/bench"
)

// benchPeer is another event store that `dangol bench store --peer` runs
// beside dangol's: the same load right after each of dangol's, in the same
// run, on the same PostgreSQL cluster.
type benchPeer struct {
	name string
	s    events.Store
}

// openBenchPeer installs the peer named name ("" for none) into a new
// database on the cluster of s, which must be the PostgreSQL store.
func openBenchPeer(ctx context.Context, name string, s events.Store) (*benchPeer, error) {
	if name == "" {
		return nil, nil
	}
	if name != "messagedb" {
		return nil, fmt.Errorf("--peer %q: the peer is messagedb", name)
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
	m, err := bench.OpenMessageDB(ctx, u.String(), 64)
	if err != nil {
		return nil, err
	}
	return &benchPeer{name: "Message DB 1.3.0 (write_message)", s: m}, nil
}

// run puts the load dangol's run ours measured on the peer and prints the
// peer's line and dangol's rate as a share of it. A nil peer does nothing.
func (p *benchPeer) run(ctx context.Context, stdout io.Writer, ours bench.AppendReport) error {
	if p == nil {
		return nil
	}
	cfg := ours.AppendConfig
	cfg.Prefix += "peer"
	r, err := bench.Appends(ctx, p.s, cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name, err)
	}
	fmt.Fprintf(stdout, "  peer %s: %s\n", p.name, r)
	fmt.Fprintf(stdout, "  dangol at %.0f%% of the peer's rate (same writers, same run)\n", 100*ours.EventsPerSec/r.EventsPerSec)
	return nil
}

// close closes the peer's connections. A nil peer does nothing.
func (p *benchPeer) close() {
	if p != nil {
		p.s.Close()
	}
}
