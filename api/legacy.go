package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// The release before sealed recordings stored each upload in clear at
// <dir>/<ab>/<sha256> (ab: the digest's first two hex digits), written
// through <dir>/tmp/upload-*. This release never serves those files; the
// migration below seals each one for every customer whose call names it and
// deletes it, so the earlier calls keep their audio and their customers'
// erasure shreds it.

var legacyDirRe = regexp.MustCompile(`^[0-9a-f]{2}$`)

// legacyTempPrefix names the earlier release's temporary uploads. The
// staging sweep judges temporary files by the time in their name, which
// these lack, so only the migration deletes them.
const legacyTempPrefix = "upload-"

func (b *Blobs) legacyPath(digest string) string {
	return filepath.Join(b.dir, digest[:2], digest)
}

// LegacyDigests returns the digests of the recordings the earlier release
// left in clear, sorted. Files under a digest directory that are not named
// by a digest of it are not the earlier release's and are not listed.
func (b *Blobs) LegacyDigests() ([]string, error) {
	dirs, err := os.ReadDir(b.dir)
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", err)
	}
	var digests []string
	for _, d := range dirs {
		if !d.IsDir() || !legacyDirRe.MatchString(d.Name()) {
			continue
		}
		files, err := os.ReadDir(filepath.Join(b.dir, d.Name()))
		if err != nil {
			return nil, fmt.Errorf("recordings: %w", err)
		}
		for _, f := range files {
			if f.Type().IsRegular() && digestRe.MatchString(f.Name()) && strings.HasPrefix(f.Name(), d.Name()) {
				digests = append(digests, f.Name())
			}
		}
	}
	slices.Sort(digests)
	return digests, nil
}

// LegacyResult is what MigrateLegacy did with one clear recording.
type LegacyResult struct {
	Sealed int // sealed copies written
	Kept   int // sealed copies already there (a run cut short before the delete)
	Erased int // copies not made: the customer's key was destroyed
}

// ErrLegacyCorrupt is wrapped by MigrateLegacy for a clear recording whose
// content does not hash to its name: it is left in place for an operator.
var ErrLegacyCorrupt = errors.New("the recording does not hash to its name")

// MigrateLegacy seals the earlier release's clear recording of digest for
// each of customers, the customers of the calls that name it, as Seal does
// for an upload, and then deletes the clear file: with no customers (an
// orphan), or when every customer was erased, it is only deleted. A
// customer whose key was destroyed gets no copy. The content is checked
// against digest first. It is idempotent and safe to cut short: until the
// clear file is deleted a rerun redoes it, skipping the copies that exist
// (each is written whole or not at all). A missing file (another process
// migrated it) does nothing. Errors: Invalid (digest, a customer id that
// is not an id), ErrLegacyCorrupt (wrapped), the sealer's and the disk's;
// on error the clear file stays.
func (b *Blobs) MigrateLegacy(ctx context.Context, s BlobSealer, digest string, customers []string, now time.Time) (LegacyResult, error) {
	var res LegacyResult
	if err := checkDigest(digest); err != nil {
		return res, err
	}
	for _, c := range customers {
		if !events.ValidID(c) { // a path component below
			return res, events.InvalidField("customerId", "not an id")
		}
	}
	path := b.legacyPath(digest)
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("recordings: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return res, fmt.Errorf("recordings: %w", err)
	}
	if hex.EncodeToString(h.Sum(nil)) != digest {
		return res, fmt.Errorf("recordings: legacy file %s: %w", digest, ErrLegacyCorrupt)
	}
	for _, c := range customers {
		if _, err := os.Stat(b.sealedPath(digest, c)); err == nil {
			res.Kept++
			continue
		}
		if s == nil {
			return res, events.Errorf(events.Internal, "recordings: no sealer to migrate the earlier release's recordings")
		}
		switch err := b.sealFrom(ctx, s, f, digest, c, now); {
		case errors.Is(err, pii.ErrErased):
			res.Erased++
		case err != nil:
			return res, err
		default:
			res.Sealed++
		}
	}
	// Every copy is durable (fsynced and renamed, its directory synced):
	// only now may the clear file go.
	f.Close()
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("recordings: %w", err)
	}
	syncDir(filepath.Dir(path))
	_ = os.Remove(filepath.Dir(path)) // only if empty
	return res, nil
}

// SweepLegacyTemps deletes the earlier release's temporary uploads
// (tmp/upload-*) last modified more than ttl before now: partial audio in
// clear abandoned by a crash. Younger ones may belong to an upload of an
// earlier-release server still running on the same directory. It returns
// how many files it deleted.
func (b *Blobs) SweepLegacyTemps(now time.Time, ttl time.Duration) (int, error) {
	tmps, err := os.ReadDir(filepath.Join(b.dir, "tmp"))
	if err != nil {
		return 0, fmt.Errorf("recordings: %w", err)
	}
	removed := 0
	for _, e := range tmps {
		if !strings.HasPrefix(e.Name(), legacyTempPrefix) {
			continue
		}
		fi, err := e.Info()
		if err != nil || !fi.ModTime().Before(now.Add(-ttl)) {
			continue
		}
		if os.Remove(filepath.Join(b.dir, "tmp", e.Name())) == nil {
			removed++
		}
	}
	return removed, nil
}

// LegacyLog is the part of the log the migration reads.
type LegacyLog interface {
	ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error)
}

// LegacyMigration counts what MigrateLegacyRecordings did. It holds no
// personal data, so it may be logged.
type LegacyMigration struct {
	Files   int // clear recordings of the earlier release found
	Sealed  int // sealed copies written
	Kept    int // sealed copies found already written by a run cut short
	Erased  int // copies not made: the customer was erased
	Orphans int // clear recordings no call names, deleted
	Deleted int // clear recordings deleted (orphans included)
	Corrupt int // clear recordings that do not hash to their name, left in place
	Failed  int // clear recordings left in place by another error; the next run retries them
	Temps   int // abandoned temporary uploads of the earlier release deleted
}

// legacyPage is how many events the migration reads from the log at once.
const legacyPage = 4096

// MigrateLegacyRecordings migrates every clear recording the earlier
// release left under b (see MigrateLegacy): it reads the log from its
// start for the customers of the calls naming each one (CallRecorded) and
// the customers erased (PersonalDataErased, whose key a crash may have
// left alive: they get no copy either). With no such recording it does not
// read the log. The earlier release's abandoned temporary uploads go too
// (SweepLegacyTemps with DefaultStagingTTL). A recording that fails stays
// in clear and is counted; the others go on, and the returned error names
// the first failure. Reading the log failing stops it.
func MigrateLegacyRecordings(ctx context.Context, log LegacyLog, s BlobSealer, b *Blobs, now time.Time) (LegacyMigration, error) {
	var m LegacyMigration
	temps, err := b.SweepLegacyTemps(now, DefaultStagingTTL)
	m.Temps = temps
	if err != nil {
		return m, err
	}
	digests, err := b.LegacyDigests()
	if err != nil || len(digests) == 0 {
		return m, err
	}
	m.Files = len(digests)
	refs, erased, err := legacyReferences(ctx, log, digests)
	if err != nil {
		return m, err
	}
	var first error
	for _, d := range digests {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		var customers []string
		for _, c := range refs[d] {
			if erased[c] {
				m.Erased++
			} else {
				customers = append(customers, c)
			}
		}
		res, err := b.MigrateLegacy(ctx, s, d, customers, now)
		m.Sealed, m.Kept, m.Erased = m.Sealed+res.Sealed, m.Kept+res.Kept, m.Erased+res.Erased
		switch {
		case errors.Is(err, ErrLegacyCorrupt):
			m.Corrupt++
		case err != nil:
			m.Failed++
		case len(refs[d]) == 0:
			m.Orphans++
			m.Deleted++
		default:
			m.Deleted++
		}
		if err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return m, fmt.Errorf("%d recordings of the earlier release stay in clear; the first: %w", m.Corrupt+m.Failed, first)
	}
	return m, nil
}

// legacyReferences reads the whole log and returns, for each of digests,
// the customers of the calls naming it (sorted, once each), and the
// customers erased.
func legacyReferences(ctx context.Context, log LegacyLog, digests []string) (map[string][]string, map[string]bool, error) {
	refs := make(map[string][]string, len(digests))
	for _, d := range digests {
		refs[d] = nil
	}
	erased := map[string]bool{}
	callRecorded := (*events.CallRecorded)(nil).EventType()
	for from := events.Start; ; {
		page, err := log.ReadAll(ctx, from, legacyPage)
		if err != nil {
			return nil, nil, fmt.Errorf("recordings: reading the log for the calls of the earlier release's recordings: %w", err)
		}
		for i := range page {
			e := &page[i]
			switch e.Type {
			case callRecorded:
				d, err := events.Decode(e)
				if err != nil {
					return nil, nil, err
				}
				c := d.(*events.CallRecorded)
				if cs, ok := refs[c.Recording.SHA256]; ok && !slices.Contains(cs, c.CustomerID) {
					refs[c.Recording.SHA256] = append(cs, c.CustomerID)
				}
			case pii.ErasureEvent:
				if category, id := events.StreamID(e.Stream); category == events.CategoryCustomer && id != "" {
					erased[id] = true
				}
			}
		}
		if len(page) == 0 {
			break
		}
		from = page[len(page)-1].Position
	}
	for _, cs := range refs {
		slices.Sort(cs)
	}
	return refs, erased, nil
}
