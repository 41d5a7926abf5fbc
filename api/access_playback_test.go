package api_test

import (
	"slices"
	"testing"
	"time"
)

// TestAccessRecordPlaybackOutsideBook: a rep playing the recording of a
// call of a customer outside their book is a lookup in the record (the
// monthly check's outside_book), as their page would be; in their book,
// and for a supervisor, a recording_play.
func TestAccessRecordPlaybackOutsideBook(t *testing.T) {
	s, _ := accessStack(t, stackOptions{})
	theirs := s.upload("R2", []byte("RIFF-R2-call-audio"))
	s.must("R2", "POST", "/v1/calls", newCall("K2", "C2", theirs, 18), 201)
	mine := s.upload("R1", []byte("RIFF-R1-call-audio"))
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", mine, 18), 201)
	s.awaitApplied()
	for _, d := range []string{theirs, mine} {
		if a := s.req("R1", "GET", "/v1/recordings/"+d, nil); a.status != 200 {
			t.Fatalf("R1 plays %s: %d %s", d, a.status, a.raw)
		}
	}
	if a := s.req("S1", "GET", "/v1/recordings/"+theirs, nil); a.status != 200 {
		t.Fatalf("S1 plays: %d %s", a.status, a.raw)
	}
	want := []string{ // newest first
		"S1 supervisor recording_play C2 recording " + theirs,
		"R1 rep recording_play C1 recording " + mine,
		"R1 rep lookup C2 recording " + theirs,
	}
	s.expectEntries("2026-11", want...)
	c := s.must("U1", "GET", "/v1/audit/access/check?month=2026-11", nil, 200)
	i := slices.IndexFunc(c["staff"].([]any), func(m any) bool { return m.(map[string]any)["staffId"] == "R1" })
	if i < 0 {
		t.Fatalf("R1 is not in the check: %v", c)
	}
	if m := c["staff"].([]any)[i].(map[string]any); m["outsideBook"] != float64(1) || !slices.Contains(asStringSlice(m["flags"]), "outside_book") {
		t.Errorf("R1's check: %v, want 1 customer outside the book, flagged", m)
	}
}

// TestAccessRecordOnePlaybackPerPage: the console's call page fetches its
// recording from the start twice (the audio element's first range, the
// waveform's whole file): one playback in the record. A minute later the
// same member's fetch from the start is a new playback, and a seek (a
// range further on) never is one.
func TestAccessRecordOnePlaybackPerPage(t *testing.T) {
	s, clock := accessStack(t, stackOptions{})
	audio := []byte("RIFF-R1-call-audio-for-a-page")
	d := s.upload("R1", audio)
	s.must("R1", "POST", "/v1/calls", newCall("K1", "C1", d, len(audio)), 201)
	s.awaitApplied()
	play := func(hdr ...string) {
		t.Helper()
		if a := s.req("S1", "GET", "/v1/recordings/"+d, nil, hdr...); a.status != 200 && a.status != 206 {
			t.Fatalf("S1 plays: %d %s", a.status, a.raw)
		}
	}
	play("Range", "bytes=0-")
	play()
	play("Range", "bytes=10-")
	start := clock.Now() // the last second of November
	clock.Set(start.Add(time.Minute - time.Second))
	play()
	entry := "S1 supervisor recording_play C1 recording " + d
	s.expectEntries("2026-11", entry)
	clock.Set(start.Add(time.Minute))
	play("Range", "bytes=0-")
	s.expectEntries("2026-12", entry)
}
