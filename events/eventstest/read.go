package eventstest

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
)

func versions(es []events.Envelope) []uint64 {
	v := make([]uint64, len(es))
	for i, e := range es {
		v[i] = e.Version
	}
	return v
}

// testReadStream proves that one stream reads forward and backward from any
// version with any limit, never mixing in a stream whose name shares a
// prefix, and that a missing stream is NotFound.
func testReadStream(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	// Streams whose names extend "customer-S" interleave with it in the log,
	// to catch prefix scans and position-ordered reads. customer-S is long
	// enough to cross the page or chunk boundaries a backend may have.
	for i, n := range []int{1, 3, 6, 15, 25} {
		mustAppend(t, s, "customer-S", events.Any, evs(n)...)
		mustAppend(t, s, "customer-S1", events.Any, evs(i+1)...)
		mustAppend(t, s, "customer-S-x", events.Any, evs(1)...)
	}
	const n = 50 // events in customer-S
	byID := map[[16]byte]events.Envelope{}
	for _, e := range readAll(t, s) {
		byID[e.ID] = e
	}
	check := func(from uint64, dir events.Direction, limit int, want []uint64) {
		t.Helper()
		what := fmt.Sprintf("ReadStream(customer-S, from %d, %s, limit %d)", from, dirName(dir), limit)
		if from == events.LastVersion {
			what = fmt.Sprintf("ReadStream(customer-S, from LastVersion, %s, limit %d)", dirName(dir), limit)
		}
		got, err := s.ReadStream(ctx, "customer-S", from, dir, limit)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		if fmt.Sprint(versions(got)) != fmt.Sprint(want) {
			t.Errorf("%s read versions %v, want %v", what, versions(got), want)
		}
		for _, e := range got {
			if e.Stream != "customer-S" {
				t.Errorf("%s returned %s of another stream", what, describe(e))
			} else if d := diffEnvelope(e, byID[e.ID]); d != "" {
				t.Errorf("%s: %s differs from ReadAll's: %s", what, describe(e), d)
			}
		}
	}
	for _, limit := range []int{1, 3, 16, 17, 100} {
		for _, from := range []uint64{0, 1, 7, 15, 16, 17, 31, 32, 33, 48, 49} {
			var fwd, back []uint64
			for v := from; v < n && len(fwd) < limit; v++ {
				fwd = append(fwd, v)
			}
			for v := int(from); v >= 0 && len(back) < limit; v-- {
				back = append(back, uint64(v))
			}
			check(from, events.Forward, limit, fwd)
			check(from, events.Backward, limit, back)
		}
		var last []uint64
		for v := n - 1; v >= 0 && len(last) < limit; v-- {
			last = append(last, uint64(v))
		}
		check(events.LastVersion, events.Backward, limit, last)
		for _, past := range []uint64{n, n + 1, 1000} {
			check(past, events.Forward, limit, []uint64{})
		}
	}
	for _, name := range []string{"customer-missing", "customer", "customer-S2"} {
		for _, dir := range []events.Direction{events.Forward, events.Backward} {
			_, err := s.ReadStream(ctx, name, 0, dir, 10)
			wantCode(t, err, events.NotFound, fmt.Sprintf("ReadStream(%s, %s) of a missing stream", name, dirName(dir)))
		}
	}
}

func dirName(d events.Direction) string {
	if d == events.Backward {
		return "backward"
	}
	return "forward"
}

// testReadAll proves that the whole log reads in the order the events were
// appended, from any position and with any limit, every event exactly once.
func testReadAll(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	var ids [][16]byte // in append order: sequential appends must be in this log order
	var results []events.AppendResult
	for i := range 25 {
		batch := evs(1 + i%3)
		results = append(results, mustAppend(t, s, fmt.Sprintf("customer-L%d", i%4), events.Any, batch...))
		for _, e := range batch {
			ids = append(ids, e.ID)
		}
	}
	all := readAll(t, s)
	if len(all) != len(ids) {
		t.Fatalf("ReadAll read %d events, %d were appended", len(all), len(ids))
	}
	for i, e := range all {
		if e.ID != ids[i] {
			t.Fatalf("ReadAll's event %d is %s; appended %d-th was %s", i, describe(e), i, ids[i])
		}
		if !events.Start.Less(e.Position) {
			t.Fatalf("event %d has position %s, not after Start", i, e.Position)
		}
	}
	byPos := map[events.Position]events.Envelope{}
	for _, e := range all {
		byPos[e.Position] = e
	}
	for i, r := range results {
		e, ok := byPos[r.Position]
		if !ok || e.ID.String() != r.EventIDs[len(r.EventIDs)-1] || e.Version != r.Version || e.Stream != r.Stream {
			t.Fatalf("append %d answered %s@%d at %s; the log has %s there", i, r.Stream, r.Version, r.Position, describe(e))
		}
	}
	if h := head(t, s); h != all[len(all)-1].Position {
		t.Fatalf("head %s, last event at %s", h, all[len(all)-1].Position)
	}

	for _, limit := range []int{1, 7, len(all), len(all) + 1} {
		var paged []events.Envelope
		from := events.Start
		for pages := 0; ; pages++ {
			if pages > len(all)+1 {
				t.Fatalf("paging with limit %d does not end", limit)
			}
			page, err := s.ReadAll(ctx, from, limit)
			if err != nil {
				t.Fatalf("ReadAll(%s, %d): %v", from, limit, err)
			}
			if len(page) > limit {
				t.Fatalf("ReadAll(%s, %d) returned %d events", from, limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			from = page[len(page)-1].Position
		}
		checkSameLog(t, fmt.Sprintf("paging with limit %d", limit), paged, all)
	}

	mid, err := s.ReadAll(ctx, all[9].Position, 5)
	if err != nil {
		t.Fatal(err)
	}
	checkSameLog(t, "ReadAll from a middle position with limit 5", mid, all[10:15])
	rest, err := s.ReadAll(ctx, all[9].Position, 1000)
	if err != nil {
		t.Fatal(err)
	}
	checkSameLog(t, "ReadAll from a middle position", rest, all[10:])
	for what, from := range map[string]events.Position{"the last position": all[len(all)-1].Position, "head": head(t, s)} {
		if got, err := s.ReadAll(ctx, from, 10); err != nil || len(got) != 0 {
			t.Errorf("ReadAll from %s: %d events, %v; want none and no error", what, len(got), err)
		}
	}
}
