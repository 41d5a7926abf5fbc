package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// storedSnapshot waits for a stored snapshot other than not and returns
// its chunks, joined, with its header.
func storedSnapshot(t *testing.T, c *pgx.Conn, not string) ([]byte, projections.SealedHeader) {
	t.Helper()
	var data []byte
	var h projections.SealedHeader
	eventually(t, "a stored snapshot", func() bool {
		data = nil
		rows, err := c.Query(context.Background(), "SELECT data FROM rm_snapshot_chunks ORDER BY seq")
		if err != nil {
			return false
		}
		for rows.Next() {
			var b []byte
			if rows.Scan(&b) == nil {
				data = append(data, b...)
			}
		}
		rows.Close()
		h, err = projections.ReadSealedHeader(bytes.NewReader(data))
		return err == nil && h.Key != not
	})
	return data, h
}

// TestStoredSnapshotSealed: rm_snapshot_chunks hold no customer's name or
// phone in clear; the next writer's snapshot has a key of its own and the
// replaced one's key is destroyed, so a copy of the replaced rows (an old
// row version, WAL, a backup) no longer opens; a rebuild, which drops the
// live schema, destroys the key of the snapshot it held.
func TestStoredSnapshotSealed(t *testing.T) {
	s := logStore(t, 40)
	url := pgtest.Database(t)
	keys := projectionstest.SnapshotKeys(t)
	stop := run(t, openStore(t, url, postgres.Options{SnapshotEvery: 10, SnapshotKeys: keys}), s)
	c := connect(t, url)
	first, h1 := storedSnapshot(t, c, "")
	stop()
	found := 0
	for _, e := range readAll(t, s) {
		d, err := events.Decode(&e)
		r, ok := d.(*events.CustomerRegistered)
		if err != nil || !ok || r.Name == "" || r.Phone == "" {
			continue
		}
		found++
		for _, v := range []string{r.Name, r.Phone} {
			if bytes.Contains(first, []byte(v)) {
				t.Fatalf("rm_snapshot_chunks hold %q in clear", v)
			}
		}
	}
	if found == 0 {
		t.Fatal("no customer with a name and a phone: the test proves nothing")
	}

	appendData(t, s, events.CustomerStream("C0000011"), &events.ProfileVerified{Channel: "branch"})
	stop = run(t, openStore(t, url, postgres.Options{SnapshotEvery: 1, SnapshotKeys: keys}), s)
	_, h2 := storedSnapshot(t, c, h1.Key)
	stop()
	if _, err := keys.DataKey(context.Background(), h1.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the replaced snapshot's key %s: %v, want it destroyed", h1.Key, err)
	}
	if _, err := keys.DataKey(context.Background(), h2.Key, false); err != nil {
		t.Fatalf("the stored snapshot's key: %v", err)
	}
	_, err := projections.OpenSnapshot(context.Background(), bytes.NewReader(first), int64(len(first)), s,
		projections.SnapshotRoots(projections.NewMemory().Projections(), nil), keys)
	if !errors.Is(err, pii.ErrErased) {
		t.Fatalf("a copy of the replaced rows opened: %v", err)
	}

	// A rebuild drops the live schema, its snapshot rows with it: their
	// key is destroyed in the swap.
	if _, err := postgres.Rebuild(context.Background(), url, postgres.Log{Source: s, Decode: decode}, postgres.Options{SnapshotKeys: keys}); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.DataKey(context.Background(), h2.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the dropped schema's snapshot key %s: %v, want it destroyed", h2.Key, err)
	}
}

func readAll(t *testing.T, s events.Store) []events.Envelope {
	t.Helper()
	var all []events.Envelope
	for from := (events.Position{}); ; {
		got, err := s.ReadAll(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
		from = got[len(got)-1].Position
	}
}
