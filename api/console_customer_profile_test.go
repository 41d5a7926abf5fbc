package api_test

import (
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestConsoleCustomerProfileClash: a profile form that meets a colleague's
// change of the same field says so next to that field (the user's value
// kept, the profile showing the colleague's), and only there: a field the
// colleague changed and the user left alone takes the colleague's value
// without a word, a field only the user changed is not marked. Submitted
// again, the user's value is saved, as they chose with the clash in view.
func TestConsoleCustomerProfileClash(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	page := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "customer page")
	_, profile := custForm(t, page, "profile")

	// A colleague changes the phone and the email in the meantime.
	s.must("R2", "POST", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"phone": "010-3333-4444", "email": "new@example.com"},
		"source": "branch"}, 201)

	// The user, on the form opened before, changes the phone and the address.
	form := url.Values{"phone": {"010-2222-3333"}, "address": {"부산광역시 해운대구 1"}, "source": {"phone_inbound"}}
	for _, f := range []string{"name", "birthDate", "email"} {
		form.Set(f, profile.Get("_was_"+f))
	}
	n := len(s.customerLog("C1"))
	a := u.mustStatus(u.submit(page, "profile", form, "Accept-Language", "en"), http.StatusConflict, "stale profile form")
	if len(s.customerLog("C1")) != n {
		t.Fatal("a stale profile form appended")
	}
	_, _, body := formBody(t, a, "profile")
	marked := map[string]bool{}
	for _, m := range regexp.MustCompile(`<span class="msg" id="profile-([a-zA-Z]+)-msg">([^<]*)</span>`).FindAllStringSubmatch(body, -1) {
		marked[m[1]] = true
		if !strings.Contains(m[2], "Someone else changed this too") {
			t.Errorf("the message next to %s: %q", m[1], m[2])
		}
	}
	if !reflect.DeepEqual(marked, map[string]bool{"phone": true}) {
		t.Fatalf("fields marked after the conflict: %v, want the phone alone (changed by both)", marked)
	}
	if !strings.Contains(body, `id="profile-phone" name="phone" type="text" value="010-2222-3333" aria-invalid="true" aria-describedby="profile-phone-msg"`) {
		t.Fatalf("the user's phone is not kept, marked and described by the message:\n%s", body)
	}

	_, hidden := custForm(t, a, "profile")
	again := url.Values{"phone": {"010-2222-3333"}, "address": {"부산광역시 해운대구 1"}, "source": {"phone_inbound"}}
	for _, f := range []string{"name", "birthDate", "email"} {
		again.Set(f, hidden.Get("_was_"+f))
	}
	u.mustRedirect(u.submit(a, "profile", again, "Accept-Language", "en"), "/customers/C1#timeline", "profile again")
	log := s.customerLog("C1")
	if len(log) != n+1 {
		t.Fatalf("appended %d events, want 1", len(log)-n)
	}
	want := map[string]any{"phone": "010-2222-3333", "address": "부산광역시 해운대구 1"}
	if ch := s.openedData(&log[n])["changes"]; !reflect.DeepEqual(ch, want) {
		t.Fatalf("the profile change is %v, want %v (the colleague's email stays)", ch, want)
	}
}
