package api

import "net/http"

// recordRead notes, in the access record, that p read customerID's
// personal data by action (customer_view, timeline_view, search_hit,
// lookup, list, worklist, recording_play, export_clear, ...); detail says
// more where the action needs it (an export's reason and range). It never
// blocks on the store: entries are batched and appended in the background.
func (s *Server) recordRead(r *http.Request, p Principal, action, customerID, detail string) {
	// Filled in by the access-record work (issue 12, part 5).
}
