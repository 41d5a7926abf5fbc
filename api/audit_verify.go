package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seal"
)

// VerifyResult is the answer of GET /v1/audit/verify.
type VerifyResult struct {
	OK       bool            `json:"ok"`
	Checked  uint64          `json:"checked"`
	Head     events.Position `json:"head"`
	FirstBad *BadEvent       `json:"firstBad"`
	Seals    VerifiedSeals   `json:"seals"`
}

// BadEvent is the first event the verification found wrong, and why.
type BadEvent struct {
	Position events.Position `json:"position"`
	Stream   string          `json:"stream"`
	Version  uint64          `json:"version"`
	ID       string          `json:"id"`
	Reason   string          `json:"reason"`
}

// VerifiedSeals is what GET /v1/audit/verify says of the seals.
type VerifiedSeals struct {
	Checked         int        `json:"checked"`         // seals whose root (and signatures, with the server's key) verified
	Latest          *seal.Seal `json:"latest"`          // the newest seal in the ledger stream; nil before the first
	AgeSeconds      *int64     `json:"ageSeconds"`      // whole seconds since it was recorded, by the server's clock
	VerifiedThrough int64      `json:"verifiedThrough"` // the largest tree size proved: the log up to it is complete and unaltered
}

// verifyPage is how many events the verifier reads at a time.
const verifyPage = 4096

// getAuditVerify checks the whole log with seal.LogVerifier, as far as
// the head when the request came: every hash and chain, the log's order,
// and every seal against the tree of the events before it, with the
// server's sealing key. The seals' tree sizes are read first from the
// ledger stream; the anchor is the seal_hash given, or else the latest
// seal this server's sealer made, so that a tail cut through it shows.
func (s *Server) getAuditVerify(w http.ResponseWriter, r *http.Request, p Principal) error {
	var anchor *seal.Anchor
	if h := r.URL.Query().Get("seal_hash"); h != "" {
		var hash events.Hash
		if err := hash.UnmarshalText([]byte(h)); err != nil || h != hash.String() {
			return events.InvalidField("seal_hash", "must be 64 lowercase hex digits")
		}
		anchor = &seal.Anchor{SealHash: hash}
	}
	if anchor == nil && s.SealStatus != nil {
		// Read before the head: the log up to the head must hold it.
		if l := s.SealStatus().Latest; l != nil {
			anchor = &seal.Anchor{SealHash: l.Hash}
		}
	}
	ctx := r.Context()
	head, err := s.Store.Head(ctx)
	if err != nil {
		return err
	}
	sizes, latest, err := s.sealsUpTo(ctx, head)
	if err != nil {
		return err
	}
	v, err := seal.NewLogVerifier(seal.VerifyOptions{Key: s.SealKey, SealSizes: sizes, Anchor: anchor})
	if err != nil {
		return err
	}
	if err := s.scanTo(ctx, head, v.Add); err != nil && !isFailure(err) {
		return err
	}
	rep, err := v.Finish()
	res := VerifyResult{OK: err == nil, Checked: uint64(rep.Events), Head: rep.Head,
		Seals: VerifiedSeals{Checked: rep.Seals, Latest: latest, AgeSeconds: s.sealAge(latest), VerifiedThrough: rep.VerifiedThrough}}
	var f *seal.Failure
	if errors.As(err, &f) {
		res.FirstBad = &BadEvent{Position: f.Position, Stream: f.Stream, Version: f.Version, ID: f.ID, Reason: f.Reason}
	}
	s.auditLog(r, p, "verify", "checked", res.Checked, "ok", res.OK, "seals", rep.Seals)
	writeJSON(w, http.StatusOK, res)
	return nil
}

// isFailure reports whether err is a finding about the log (a
// seal.Failure), which the answer reports, not a failure to read it.
func isFailure(err error) bool {
	var f *seal.Failure
	return errors.As(err, &f)
}

// sealsUpTo reads the ledger stream: the tree size of every seal at or
// before head, and the last of them. A seal that does not parse is left
// to the log's check, which names it.
func (s *Server) sealsUpTo(ctx context.Context, head events.Position) ([]int64, *seal.Seal, error) {
	var sizes []int64
	var latest *seal.Seal
	for from := uint64(0); ; {
		evs, err := s.Store.ReadStream(ctx, events.LedgerStream, from, events.Forward, verifyPage)
		if events.ErrorCode(err) == events.NotFound {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		for i := range evs {
			if head.Less(evs[i].Position) {
				return sizes, latest, nil
			}
			if sl, err := seal.SealOf(&evs[i]); err == nil {
				sizes, latest = append(sizes, sl.TreeSize), &sl
			}
		}
		if len(evs) < verifyPage {
			return sizes, latest, nil
		}
		from = evs[len(evs)-1].Version + 1
	}
}

// scanTo calls add for every event of the log up to head, in order,
// until it returns an error.
func (s *Server) scanTo(ctx context.Context, head events.Position, add func(*events.Envelope) error) error {
	for from := events.Start; ; {
		evs, err := s.Store.ReadAll(ctx, from, verifyPage)
		if err != nil {
			return err
		}
		for i := range evs {
			if head.Less(evs[i].Position) {
				return nil
			}
			if err := add(&evs[i]); err != nil {
				return err
			}
		}
		if len(evs) < verifyPage {
			return nil
		}
		from = evs[len(evs)-1].Position
	}
}
