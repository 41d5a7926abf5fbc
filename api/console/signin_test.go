package console

import (
	"fmt"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

var t0 = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

func mins(ms ...int) []time.Time {
	var out []time.Time
	for _, m := range ms {
		out = append(out, t0.Add(time.Duration(m)*time.Minute))
	}
	return out
}

// TestStaffLockedUntil: five failures within 15 minutes lock until 15
// minutes after the fifth; failures inside a lock neither count nor
// extend it; slower failures never lock.
func TestStaffLockedUntil(t *testing.T) {
	for _, c := range []struct {
		what     string
		failures []time.Time
		at       int // minutes after t0
		want     int // minutes after t0 the lock ends; -1 none
	}{
		{"four", mins(0, 1, 2, 3), 4, -1},
		{"five in a minute", mins(0, 0, 0, 0, 1), 2, 16},
		{"five in 15 minutes", mins(0, 5, 10, 12, 15), 20, 30},
		{"five in 16 minutes", mins(0, 5, 10, 12, 16), 17, -1},
		{"the lock ended", mins(0, 1, 2, 3, 4), 19, -1},
		{"attempts while locked do not extend it", mins(0, 1, 2, 3, 4, 5, 10, 18), 18, 19},
		{"after a lock, five more lock again", mins(0, 1, 2, 3, 4, 20, 21, 22, 23, 24), 25, 39},
		{"after a lock, one more does not", mins(0, 1, 2, 3, 4, 19), 19, -1},
	} {
		got := lockedUntil(c.failures, t0.Add(time.Duration(c.at)*time.Minute))
		want := time.Time{}
		if c.want >= 0 {
			want = t0.Add(time.Duration(c.want) * time.Minute)
		}
		if !got.Equal(want) {
			t.Errorf("%s: locked until %v, want %v", c.what, got, want)
		}
	}
}

// TestStaffAddrThrottle: 20 failures in a sliding 15 minutes block an
// address (an IPv6 /64 as one); others are unaffected; the table stays
// bounded.
func TestStaffAddrThrottle(t *testing.T) {
	th := newAddrThrottle()
	a := netip.MustParseAddr("192.0.2.1")
	for i := range 19 {
		th.fail(a, t0.Add(time.Duration(i)*time.Second))
	}
	if th.blocked(a, t0.Add(time.Minute)) {
		t.Fatal("blocked after 19 failures")
	}
	th.fail(a, t0.Add(time.Minute))
	if !th.blocked(a, t0.Add(time.Minute)) || th.blocked(netip.MustParseAddr("192.0.2.2"), t0.Add(time.Minute)) {
		t.Fatal("20 failures do not block the address, or block another")
	}
	if !th.blocked(a, t0.Add(15*time.Minute-time.Second)) || th.blocked(a, t0.Add(15*time.Minute)) {
		t.Error("the block does not lift as the first failure leaves the window")
	}
	v6 := netip.MustParseAddr("2001:db8:1:2::1")
	for i := range 20 {
		th.fail(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2, 15: byte(i + 1)}), t0)
	}
	if !th.blocked(v6, t0) || th.blocked(netip.MustParseAddr("2001:db8:1:3::1"), t0) {
		t.Error("an IPv6 /64 is not one address")
	}
	if th.blocked(netip.Addr{}, t0) {
		t.Error("an unknown address is blocked")
	}
	// Attempts being judged count: 20 at once block the 21st until they end.
	b := netip.MustParseAddr("192.0.2.9")
	var ends []func()
	for range 20 {
		end, ok := th.begin(b, t0)
		if !ok {
			t.Fatal("an attempt refused below the limit")
		}
		ends = append(ends, end)
	}
	if _, ok := th.begin(b, t0); ok {
		t.Error("the 21st attempt at once was let through")
	}
	for _, end := range ends {
		end()
	}
	if _, ok := th.begin(b, t0); !ok || len(th.judging) != 1 {
		t.Errorf("ended attempts still count (%d addresses judging)", len(th.judging))
	}
	for i := range maxEntries + 10 {
		th.fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(th.failures); n > maxEntries {
		t.Errorf("the table holds %d addresses, bound %d", n, maxEntries)
	}
}

// TestStaffUnknownIDs: an id no member has locks after five failures
// within 15 minutes, for 15 minutes from the fifth, as a member's does;
// the table is bounded.
func TestStaffUnknownIDs(t *testing.T) {
	u := newUnknownIDs()
	for i := range 5 {
		if u.fail("R9", t0.Add(time.Duration(i)*time.Minute)) {
			t.Fatalf("locked at failure %d", i+1)
		}
	}
	fifth := t0.Add(4 * time.Minute)
	if !u.fail("R9", fifth) || !u.fail("R9", fifth.Add(lockFor-time.Second)) || u.fail("R8", fifth) {
		t.Error("five failures do not lock the id for 15 minutes, or lock another")
	}
	if u.fail("R9", fifth.Add(lockFor)) {
		t.Error("the lock outlasts 15 minutes from the fifth failure")
	}
	for i := range maxEntries + 10 {
		u.fail(fmt.Sprintf("G%d", i), t0.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(u.failures); n > maxEntries {
		t.Errorf("the table holds %d ids, bound %d", n, maxEntries)
	}
}

// TestStaffClientAddr: the peer's address, X-Forwarded-For only from a
// trusted proxy (the rightmost address that is not one).
func TestStaffClientAddr(t *testing.T) {
	c := &Console{}
	r := httptest.NewRequest("POST", "/login", nil)
	r.RemoteAddr = "10.0.0.5:4431"
	r.Header.Set("X-Forwarded-For", "203.0.113.7, 198.51.100.2")
	if got := c.clientAddr(r).String(); got != "10.0.0.5" {
		t.Errorf("untrusted: %s", got)
	}
	c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("198.51.100.2/32")}
	if got := c.clientAddr(r).String(); got != "203.0.113.7" {
		t.Errorf("behind two trusted proxies: %s", got)
	}
	r.Header.Set("X-Forwarded-For", "garbage, 198.51.100.2")
	if got := c.clientAddr(r).String(); got != "198.51.100.2" {
		t.Errorf("a garbled chain: %s", got)
	}
	r.RemoteAddr = "[::ffff:192.0.2.9]:1"
	if got := c.clientAddr(r).String(); got != "192.0.2.9" {
		t.Errorf("a v4-mapped peer: %s", got)
	}
}

// TestStaffLocalPath: only paths of this console.
func TestStaffLocalPath(t *testing.T) {
	for in, want := range map[string]string{
		"/": "/", "/customers/C1?x=1#t": "/customers/C1?x=1#t", "//evil.example": "", "/\\evil.example": "", "/a\\b": "",
		"https://evil.example": "", "evil": "", "": "", "/\x00": "", "/ok\n": "", "///x": "",
	} {
		if got := localPath(in); got != want {
			t.Errorf("localPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStaffTOTPOnce: a code is accepted one step either side, once; no
// code of an earlier step after it.
func TestStaffTOTPOnce(t *testing.T) {
	u := newUsedCodes()
	secret := base32Secret([]byte("12345678901234567890"))
	code := func(at time.Time) string {
		c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if !u.check("R1", secret, code(t0.Add(-30*time.Second)), t0) {
		t.Fatal("the previous step's code is refused")
	}
	if u.check("R1", secret, code(t0.Add(-30*time.Second)), t0) {
		t.Error("a code served twice")
	}
	if !u.check("R2", secret, code(t0), t0) {
		t.Error("another member's use blocks a code")
	}
	if !u.check("R1", secret, code(t0.Add(30*time.Second)), t0) || u.check("R1", secret, code(t0), t0) {
		t.Error("the next step's code, then this step's (earlier) one")
	}
	if u.check("R3", secret, code(t0.Add(time.Minute)), t0) || u.check("R3", secret, "12 34", t0) || u.check("R3", secret, "", t0) {
		t.Error("a code two steps away or malformed is accepted")
	}
	if !u.check("R4", secret, " "+code(t0)[:3]+" "+code(t0)[3:], t0) {
		t.Error("a code typed with spaces is refused")
	}
}

// TestStaffEnrolTicket: a ticket opens only as made, before it expires.
func TestStaffEnrolTicket(t *testing.T) {
	c := &Console{keys: deriveKeys(make([]byte, 32))}
	tk := enrolTicket{Staff: "R1", Secret: c.seal([]byte("k"), "enrolment:R1"), Bind: "b", Purpose: purposeSignIn, Expires: t0.Add(enrolTTL).Unix()}
	v := c.encodeTicket(tk)
	if got, ok := c.decodeTicket(v, t0); !ok || got != tk {
		t.Fatalf("a ticket does not open: %v %v", got, ok)
	}
	if _, ok := c.decodeTicket(v, t0.Add(enrolTTL)); ok {
		t.Error("an expired ticket opens")
	}
	other := &Console{keys: deriveKeys(append(make([]byte, 31), 1))}
	if _, ok := other.decodeTicket(v, t0); ok {
		t.Error("another console's ticket opens")
	}
	tk.Staff = "R2"
	forged := c.encodeTicket(tk)
	if _, ok := c.decodeTicket(forged[:len(forged)-43]+v[len(v)-43:], t0); ok {
		t.Error("a ticket with another's MAC opens")
	}
	if _, err := c.unseal(tk.Secret, "enrolment:R2"); err == nil {
		t.Error("a sealed key opens for another member")
	}
}
