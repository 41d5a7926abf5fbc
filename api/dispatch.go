package api

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"

	"github.com/dangol/dangol/events"
)

// DispatchTo runs the API route for method and path as p, in process, as
// Dispatch does, but its answer goes straight to w as the handler writes
// it: status, header, body (flushed as the handler flushes) and trailers.
// An answer too long to hold, the export (GET /v1/audit/export), thus
// reaches the console's client in constant memory. It returns the error
// the handler answered, if any; w then got the API's JSON error, so a
// caller that would rather show a page of its own gives a w that keeps
// an error answer to itself. ctx should be the console request's.
func (s *Server) DispatchTo(ctx context.Context, w http.ResponseWriter, p Principal, method, path string, header http.Header) error {
	r, rec, err := dispatchRequest(ctx, p, method, path, header, nil)
	if err != nil {
		return err
	}
	s.mux.ServeHTTP(w, r)
	return rec.err
}

// dispatchRequest is the in-process request of Dispatch and DispatchTo:
// authenticated as p (dispatched), with a record of its own for the error
// the handler answers.
func dispatchRequest(ctx context.Context, p Principal, method, path string, header http.Header, body []byte) (*http.Request, *requestRecord, error) {
	u, err := url.Parse(path)
	if err != nil {
		return nil, nil, events.Errorf(events.Invalid, "bad path")
	}
	rec := &requestRecord{}
	ctx = context.WithValue(context.WithValue(ctx, principalKey{}, p), recordKey{}, rec)
	r, err := http.NewRequestWithContext(ctx, method, u.String(), io.NopCloser(bytes.NewReader(body)))
	if err != nil {
		return nil, nil, events.Errorf(events.Invalid, "bad request: %v", err)
	}
	r.ContentLength = int64(len(body))
	r.RequestURI = u.RequestURI()
	for k, v := range header {
		r.Header[k] = v
	}
	return r, rec, nil
}
