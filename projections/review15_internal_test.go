package projections

import (
	"bytes"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestReviewSnapshotOtherBuild: a snapshot written by another build of the
// server is refused, though its folds have the same types: a release may
// change what a fold makes of past events without changing a type, and a
// restore would then hold state no replay of this build makes.
func TestReviewSnapshotOtherBuild(t *testing.T) {
	this := snapshotBuild
	defer func() { snapshotBuild = this }()
	info := InfoAt(&events.Envelope{Position: events.At(1)}, events.Position{})
	var buf bytes.Buffer
	snapshotBuild = func() string { return "vcs 0123456789abcdef" }
	if err := WriteSnapshot(&buf, info, NewMemory().Projections()); err != nil {
		t.Fatal(err)
	}
	snapshotBuild = this
	_, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), NewMemory().Projections())
	if err == nil || !strings.Contains(err.Error(), "another build") {
		t.Fatalf("err %v, want the build named", err)
	}
	buf.Reset()
	if err := WriteSnapshot(&buf, info, NewMemory().Projections()); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSnapshot(bytes.NewReader(buf.Bytes()), NewMemory().Projections()); err != nil {
		t.Fatalf("written and read by this build: %v", err)
	}
	if b := this(); b == "" || b != this() {
		t.Fatalf("this build is %q, then %q: want one name", b, this())
	}
}
