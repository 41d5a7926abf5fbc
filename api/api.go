package api

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seal"
	"github.com/dangol/dangol/projections"
)

// Store is what the API needs of the event store.
type Store interface {
	Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error)
	ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error)
	ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error)
	Subscribe(ctx context.Context, from events.Position) (events.Subscription, error)
	Head(ctx context.Context) (events.Position, error)
}

// Progress tells how far the read side has applied the log.
type Progress interface {
	Position() events.Position
	WaitFor(ctx context.Context, pos events.Position) error
	// CaughtUp is closed once the read side applied the log as it was at start.
	CaughtUp() <-chan struct{}
}

// Sealer encrypts and opens customers' personal fields (events/pii).
type Sealer interface {
	SealFor(ctx context.Context, customerID string) func(events.Personal) error
	OpenEnvelope(ctx context.Context, e *events.Envelope) (events.Data, error)
	Erase(ctx context.Context, customerID string) error
	BlobSealer // call recordings are sealed under their customer's key
}

// Config is everything a Server needs.
type Config struct {
	Store    Store
	Queries  projections.Queries // the read side: projections.Memory or projections/postgres
	Progress Progress
	Sealer   Sealer
	Search   Searcher // finds customers by name or phone (pii.BlindIndex); nil: search matches ids only
	Blobs    *Blobs
	Logger   *slog.Logger
	Metrics  *Metrics
	Live     *LiveMetrics
	Now      func() time.Time // the clock; time.Now if nil

	// The ledger's seals (events/seal): the stored Merkle tree the proofs
	// come from, the sealing key (its public half at /v1/audit/key), and
	// the sealer's state. Nil: the routes of seals and proofs answer 503.
	Tree       seal.Prover
	SealKey    *seal.Key
	SealStatus func() seal.Status

	// AccessFlush is how long a read of personal data waits at most before
	// its batch is appended to the access record (default 1 s; negative:
	// only full batches, FlushAccess and the end of Run append, which
	// tests want). TrustedProxies are the reverse proxies whose
	// X-Forwarded-For names the client an access entry records (ClientAddr).
	AccessFlush    time.Duration
	TrustedProxies []netip.Prefix

	// DisputeWindow is how long after a review its rep may dispute it
	// (default events.DisputeWindow, 14 days; serve --dispute-window).
	DisputeWindow time.Duration

	// BuiltInPlan is the QA sampling plan the server's sampler applies
	// before any was published (version 0; serve fills it from its
	// --sample-* flags): GET /v1/qa/sampling-plan's current plan until then.
	BuiltInPlan projections.SamplingPlan

	MaxBodyBytes      int64 // JSON bodies (default 64 KiB)
	MaxRecordingBytes int64 // audio uploads (default 256 MiB)

	// LivePing is how often a live client is pinged (default 20s); one that
	// answers no ping for three intervals has vanished without closing and
	// is dropped, so its goroutines and its place in WaitLive do not wait
	// for the operating system's TCP timeout.
	LivePing time.Duration
	// LiveMaxLag is how far behind a live client may fall (default 5s): a
	// write blocked that long, or a lag probe (a ping behind what it was
	// sent) not answered within it, closes the client with 4008.
	LiveMaxLag time.Duration
	LiveClock  LiveClock // the clock LiveMaxLag is judged by (livelag.go); nil: the machine's

	// Uploads no call references yet (staged, see Blobs) are deleted
	// StagingTTL after upload (default 24 h, judged with Now); an uploader
	// may have StagingMaxUploads of them (default 16) and all together at
	// most StagingMaxBytes (default 8 GiB); past a cap an upload is 429.
	StagingTTL        time.Duration
	StagingMaxUploads int
	StagingMaxBytes   int64
}

// Server serves the HTTP API and the live WebSocket feed.
type Server struct {
	Config
	auth Authenticator
	// sessions authenticates the console's session cookies on the live
	// feed (UseSessions); nil: bearer tokens only.
	sessions SessionAuthenticator
	hub      *hub
	access   *accessRecorder // access.go
	plays    playbacks       // access.go: recordPlay's window
	live     *LiveMetrics
	mux      *http.ServeMux

	liveWG sync.WaitGroup
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return events.SystemClock()
}

var zeroTime time.Time

func parseTimeOrDate(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}
