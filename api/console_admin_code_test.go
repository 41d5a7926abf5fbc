package api_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/dangol/dangol/events/eventstest"
)

// TestConsoleStaffCodeDeactivated: a setup-code form of a page read before
// the member was deactivated is refused (409) without saying the code was
// already shown, which only a resubmitted form is told; nothing is
// appended.
func TestConsoleStaffCodeDeactivated(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	admin := newWebUser(s)
	admin.setPassword("A001", signinPassword)
	a := admin.mustStatus(admin.get("/admin/staff"), 200, "the staff screen")
	i := strings.Index(a.body, `action="/admin/staff/R2/setup-code"`)
	if i < 0 {
		t.Fatal("no setup-code form for R2")
	}
	key := regexp.MustCompile(`name="_key" value="([^"]+)"`).FindStringSubmatch(a.body[i:])[1]
	s.must("A001", "POST", "/v1/staff/R2/deactivation", nil, 201)
	v := s.staffVersion("R2")
	a = admin.mustStatus(admin.post("/admin/staff/R2/setup-code", url.Values{"_key": {key}}), 409, "a code for a member deactivated meanwhile")
	if strings.Contains(a.body, "already shown once") {
		t.Errorf("the refusal says the code was already shown: %s", a.body)
	}
	if got := s.staffSince("R2", v); len(got) != 0 {
		t.Errorf("the refused form appended %v", eventTypes(got))
	}
}
