package console

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// TestTimelineAsTheAPIAnswers reads customers' timelines (the first page
// and the next) as the page does and as the API's JSON route answers them,
// and wants the same entries, on a seeded bank whose personal fields are
// sealed; and the same errors for a malformed cursor and a customer who
// does not exist.
func TestTimelineAsTheAPIAnswers(t *testing.T) {
	if os.Getenv("DANGOL_BENCH_CUSTOMERS") == "" {
		t.Setenv("DANGOL_BENCH_CUSTOMERS", "2000")
	}
	k := newBenchBank(t, true)
	srv := api.New(api.Config{Store: k.store, Queries: k.mem, Progress: k.runner, Sealer: k.sealer, Now: k.now})
	c := New(Config{API: srv, Store: k.store, Queries: k.mem, Progress: k.runner, Now: k.now, Secret: make([]byte, 32)})
	// One customer with more than two pages, their summaries sealed.
	long := k.book[0].CustomerID
	for i := range 2*timelineLimit + 3 {
		d := &events.ContactLogged{Channel: "phone_outbound", Purpose: events.ContactPurposes[0], Summary: "통화 " + strconv.Itoa(i),
			OccurredAt: k.now().Add(-time.Duration(i) * time.Hour), StaffID: k.rep}
		if err := k.sealer.SealFor(k.ctx, long)(d); err != nil {
			t.Fatal(err)
		}
		ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: k.rep, Role: "rep"}, CorrelationID: events.NewID().String()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.store.Append(k.ctx, events.CustomerStream(long), events.StreamExists, ev); err != nil {
			t.Fatal(err)
		}
	}
	s := &Session{ID: events.NewID().String(), StaffID: k.rep, Role: "rep"}
	pages, next := 0, 0
	for _, w := range k.book {
		before := ""
		for range 4 {
			names := c.staffNames("ko")
			got, err := c.timelineFrom(k.ctx, s, w.CustomerID, before, "ko", names)
			if err != nil {
				t.Fatal(err)
			}
			want, err := timelineViaAPI(c, s, w.CustomerID, before, "ko", names)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s before %q:\n got %+v\nwant %+v", w.CustomerID, before, got, want)
			}
			pages++
			if before != "" {
				next++
			}
			if before = got.Next; before == "" {
				break
			}
		}
	}
	if pages < len(k.book) || next == 0 {
		t.Fatalf("%d pages (%d next pages) of %d customers", pages, next, len(k.book))
	}
	for _, tc := range []struct{ id, before string }{{k.book[0].CustomerID, "x"}, {events.NewID().String(), ""}} {
		_, got := c.timelineFrom(k.ctx, s, tc.id, tc.before, "ko", c.staffNames("ko"))
		_, want := timelineViaAPI(c, s, tc.id, tc.before, "ko", c.staffNames("ko"))
		if got == nil || want == nil || events.ErrorCode(got) != events.ErrorCode(want) ||
			c.cat.errorText("ko", got) != c.cat.errorText("ko", want) {
			t.Errorf("before %q of %s: %v, the API %v", tc.before, tc.id, got, want)
		}
	}
}

// timelineViaAPI is how the console read a timeline before it read it
// directly: through the API's route, decoding its JSON.
func timelineViaAPI(c *Console, s *Session, id, before, lang string, names *staffNames) (timeline, error) {
	path := "/v1/customers/" + url.PathEscape(id) + "/timeline?limit=" + strconv.Itoa(timelineLimit)
	if before != "" {
		path += "&before=" + url.QueryEscape(before)
	}
	ctx := context.Background()
	d := c.API.Dispatch(ctx, s.Principal(), http.MethodGet, path, nil, nil)
	if d.Status != http.StatusOK {
		return timeline{}, dispatchError(d)
	}
	var resp struct {
		Items []struct {
			Version    uint64          `json:"version"`
			Position   events.Position `json:"position"`
			Type       string          `json:"type"`
			RecordedAt time.Time       `json:"recordedAt"`
			OccurredAt time.Time       `json:"occurredAt"`
			Actor      events.Actor    `json:"actor"`
			Data       json.RawMessage `json:"data"`
		} `json:"items"`
		Next string `json:"next"`
	}
	if err := json.Unmarshal(d.Body, &resp); err != nil {
		return timeline{}, err
	}
	t := timeline{ID: id}
	t.Next, _ = strings.CutPrefix(resp.Next, "before=")
	for _, it := range resp.Items {
		e := entry{Version: it.Version, Position: it.Position.Seq(), Type: it.Type, Label: c.typeLabel(lang, it.Type),
			At: it.RecordedAt, Actor: names.actor(ctx, it.Actor)}
		if !it.OccurredAt.IsZero() {
			e.At = it.OccurredAt
			if it.RecordedAt.Sub(it.OccurredAt) > enteredLate {
				e.Entered = it.RecordedAt
			}
		}
		if data := events.New(it.Type); data != nil && json.Unmarshal(it.Data, data) == nil {
			e.Data = data
		}
		c.describe(ctx, &e, lang, names)
		t.Entries = append(t.Entries, e)
	}
	return t, nil
}
