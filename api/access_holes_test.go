package api_test

import "testing"

// Reads of customers' personal data the access record missed, or did not
// mark as outside the reader's book (issue 12's review).

// TestAccessRecordLiveFeed: a subscription to a customer's live topic
// pushes that customer's events with their personal fields opened (and,
// from a position, their whole history, as a timeline does): it is in the
// record, a lookup for a rep outside their book, so that a rep cannot
// read another book's customer unseen through the feed. The whole log
// (an auditor's) pushes every customer's data opened: an export in clear.
func TestAccessRecordLiveFeed(t *testing.T) {
	s, _ := accessStack(t, stackOptions{})
	from := float64(0)
	other := s.subscribe("R1", []string{"customer:C2"}, &from)
	s.waitUntil("C2's history replayed to R1", func() bool { return len(other.received()) > 0 })
	other.finish(t)
	own := s.subscribe("R1", []string{"customer:C1", "customer:C1", "advisor:R1"}, &from)
	s.waitUntil("C1's history replayed to R1", func() bool { return len(own.received()) > 0 })
	own.finish(t)
	sup := s.subscribe("S1", []string{"customer:C3", "advisor:R2"}, &from)
	s.waitUntil("C3's history replayed to S1", func() bool { return len(sup.received()) > 0 })
	sup.finish(t)
	whole := s.subscribe("U1", []string{"log"}, &from) // every customer's data, opened
	s.waitUntil("the log replayed to U1", func() bool { return len(whole.received()) > 0 })
	whole.finish(t)

	want := []string{ // newest first
		"U1 auditor export_clear  live feed of the whole log, personal fields opened, after position 0",
		"S1 supervisor worklist  live feed of advisor R2's book",
		"S1 supervisor api_read C3 live feed",
		"R1 rep worklist  live feed of advisor R1's book",
		"R1 rep api_read C1 live feed",
		"R1 rep lookup C2 live feed",
	}
	s.expectEntries("2026-11", want...)
}
