package projections

import (
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
	"unsafe"
)

// TestTimelineRecRoundTrip: an entry kept as the fold keeps it comes back
// as it went in, every field, a time in another zone and empty strings
// included; and the kept form stays the small one timeline_rec.go
// describes.
func TestTimelineRecRoundTrip(t *testing.T) {
	kst := time.FixedZone("", 9*3600)
	in := []TimelineEntry{
		{Kind: "contact", At: time.Date(2026, 8, 3, 10, 4, 5, 6, time.UTC), Channel: "branch", Purpose: "complaint",
			Summary: "card fee refund asked", StaffID: "R07", CallID: "01J00000000000000000000000", DurationSec: 312, Position: 41},
		{Kind: "pitch", At: time.Date(2026, 8, 4, 9, 0, 0, 0, kst), Channel: "phone", Product: "fund-kospi200",
			Outcome: "declined", StaffID: "PB03", Position: 42},
		{Kind: "profile", At: time.Date(2026, 8, 5, 0, 0, 0, 0, time.UTC), Position: 43},
		{Kind: "a kind no release wrote", At: time.Unix(0, 0).UTC(), Channel: "채널", Position: 1 << 40},
	}
	if got := entries(recs(in)); !reflect.DeepEqual(got, in) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, in)
	}
	if recs(nil) != nil || recs([]TimelineEntry{}) != nil {
		t.Fatal("a customer without a timeline must hold no slice")
	}
	if e := entries(nil); e == nil || len(e) != 0 {
		t.Fatalf("entries(nil) = %#v, want empty and not nil (the view shows [])", e)
	}
	if n := unsafe.Sizeof(timelineRec{}); n > 96 {
		t.Fatalf("a kept timeline entry is %d bytes, want at most 96", n)
	}
}

// TestNameTableConcurrent: callers adding the same new names at once get
// one number per name, and each number names its string.
func TestNameTableConcurrent(t *testing.T) {
	tab := newNameTable("contact")
	var wg sync.WaitGroup
	got := make([][][6]nameID, 8)
	for g := range got {
		wg.Go(func() {
			for i := range 200 {
				got[g] = append(got[g], tab.idsOf([6]string{"contact", fmt.Sprintf("staff-%d", i), "", fmt.Sprintf("p-%d", i%7)}))
			}
		})
	}
	wg.Wait()
	for g := range got {
		for i, ids := range got[g] {
			want := []string{"contact", fmt.Sprintf("staff-%d", i), "", fmt.Sprintf("p-%d", i%7)}
			for k, id := range ids[:4] {
				if got0 := got[0][i][k]; id != got0 {
					t.Fatalf("caller %d got %d for %q, caller 0 got %d", g, id, want[k], got0)
				}
				tab.mu.RLock()
				name := tab.names[id]
				tab.mu.RUnlock()
				if name != want[k] {
					t.Fatalf("number %d names %q, want %q", id, name, want[k])
				}
			}
		}
	}
	if n := len(tab.names); n != 1+1+200+7 {
		t.Fatalf("%d names in the table, want 209 (\"\", contact, 200 staff, 7 products)", n)
	}
}
