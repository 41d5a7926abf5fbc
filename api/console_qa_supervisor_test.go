package api_test

import (
	"bytes"
	"strconv"
	"testing"
)

// TestConsoleQARecording: the console's recording route streams the call's
// recording as the API does, whole and by Range, to whoever may open the
// call page; to another rep, for a digest that is not the call's, or for a
// call that does not exist, it is not found.
func TestConsoleQARecording(t *testing.T) {
	s, digest := qaFixture(t)
	audio := testWAV(20)
	src := "/recordings/" + digest + "?call=K1"
	for _, who := range []string{"S1", "R1", "H1", "U1"} {
		u := newWebUser(s)
		u.login(who, testPassword, "")
		whole := u.get(src)
		if whole.status != 200 || whole.body != string(audio) {
			t.Errorf("%s: the whole recording: %d, %d bytes of %d", who, whole.status, len(whole.body), len(audio))
		}
		part := u.do("GET", src, nil, "Range", "bytes=8-11")
		if part.status != 206 || part.body != "WAVE" || part.header.Get("Content-Range") != "bytes 8-11/"+strconv.Itoa(len(audio)) {
			t.Errorf("%s: a range: %d %q %q", who, part.status, part.body, part.header.Get("Content-Range"))
		}
	}
	u := newWebUser(s)
	u.login("R2", testPassword, "")
	for _, path := range []string{src, "/recordings/" + digest + "?call=K9", "/recordings/" + digest, "/recordings/" + sha256hex([]byte("x")) + "?call=K1", "/qa/calls/K1"} {
		if a := u.get(path); a.status != 404 || bytes.Contains([]byte(a.body), audio[:64]) {
			t.Errorf("R2: %s answered %d", path, a.status)
		}
	}
}
