package events_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// The catalog tests (catalog_test.go) hold an example and every broken rule
// of each sign-in type; these cover what Validate rewrites and the Go
// values the console will build.

func TestSignInAddressesCanonical(t *testing.T) {
	for in, want := range map[string]string{
		" 203.0.113.7 ":           "203.0.113.7",
		"::ffff:203.0.113.7":      "203.0.113.7", // IPv4-mapped: one client, one spelling
		"::FFFF:cb00:7107":        "203.0.113.7",
		"2001:DB8:0:0:0:0:0:1":    "2001:db8::1",
		"2001:0db8::0001":         "2001:db8::1",
		"":                        "",
		"fd00::1":                 "fd00::1",
		"0000:0000::0000:0000:01": "::1",
	} {
		d := &events.SignedIn{SessionID: "S1", SessionHash: strings.Repeat("a", 64), ExpiresAt: time.Unix(2e9, 0), Address: in}
		f := &events.SignInFailed{Reason: "bad_password", Address: in}
		if err := d.Validate(); err != nil || d.Address != want {
			t.Errorf("SignedIn address %q: %q, %v; want %q", in, d.Address, err, want)
		}
		if err := f.Validate(); err != nil || f.Address != want {
			t.Errorf("SignInFailed address %q: %q, %v; want %q", in, f.Address, err, want)
		}
	}
}

// TestSignInExpiryMicroseconds: an expiry with nanoseconds is kept to the
// microsecond, in UTC, so the PostgreSQL read store holds what Memory holds.
func TestSignInExpiryMicroseconds(t *testing.T) {
	kst := time.FixedZone("KST", 9*3600)
	at := time.Date(2030, 3, 4, 18, 0, 0, 123456789, kst)
	want := time.Date(2030, 3, 4, 9, 0, 0, 123456000, time.UTC)
	s := &events.PasswordSetupIssued{SetupID: "SET1", CodeHash: strings.Repeat("b", 64), ExpiresAt: at}
	d := &events.SignedIn{SessionID: "S1", SessionHash: strings.Repeat("a", 64), ExpiresAt: at}
	for _, v := range []struct {
		d   events.Data
		got *time.Time
	}{{s, &s.ExpiresAt}, {d, &d.ExpiresAt}} {
		if err := v.d.Validate(); err != nil {
			t.Fatalf("%T: %v", v.d, err)
		}
		if !v.got.Equal(want) || v.got.Location() != time.UTC {
			t.Errorf("%T expiresAt = %v, want %v", v.d, *v.got, want)
		}
	}
}

func TestSecondFactorPolicyRolesNeverNull(t *testing.T) {
	for _, raw := range []string{`{}`, `{"roles":null}`, `{"roles":[]}`} {
		d := mustParse(t, "SecondFactorPolicySet", []byte(raw))
		if got := string(mustEncode(t, d)); got != `{"roles":[]}` {
			t.Errorf("%s encodes as %s, want {\"roles\":[]}", raw, got)
		}
	}
	d := &events.SecondFactorPolicySet{}
	if err := d.Validate(); err != nil || d.Roles == nil {
		t.Errorf("Validate of no roles: %v, roles %#v", err, d.Roles)
	}
	d = &events.SecondFactorPolicySet{Roles: []string{" admin ", "rep"}}
	if err := d.Validate(); err != nil || !slices.Equal(d.Roles, []string{"admin", "rep"}) {
		t.Errorf("Validate trims roles: %q, %v", d.Roles, err)
	}
}

// TestSignInDataHoldsNoSecret checks every field of each sign-in event
// (by its JSON name, from the type, so that an omitempty field counts too)
// against the fields docs/events.md's "Signing in" reviewed: no password,
// code, session secret or TOTP secret field exists to be filled.
func TestSignInDataHoldsNoSecret(t *testing.T) {
	for _, d := range []events.Data{
		&events.StaffDeactivated{}, &events.PasswordSetupIssued{}, &events.PasswordSet{}, &events.SecondFactorEnrolled{},
		&events.SecondFactorReset{}, &events.SignedIn{}, &events.SignInFailed{}, &events.SignedOut{},
		&events.SecondFactorPolicySet{},
	} {
		typ := reflect.TypeOf(d).Elem()
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			switch name {
			case "setupId", "codeHash", "expiresAt", "passwordHash", "secretSealed", "sessionId", "sessionHash",
				"secondFactor", "address", "reason", "roles":
			default:
				t.Errorf("%s has field %s (json %q): a new field of a sign-in event needs a review of docs/events.md's \"Signing in\"",
					d.EventType(), f.Name, name)
			}
		}
	}
}

func TestSignInValidateBadGoValues(t *testing.T) {
	hash := strings.Repeat("c", 64)
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		d     events.Data
		field string
	}{
		{&events.PasswordSetupIssued{SetupID: "SET1", CodeHash: hash}, "expiresAt"},
		{&events.PasswordSetupIssued{CodeHash: hash, ExpiresAt: expires}, "setupId"},
		{&events.PasswordSet{PasswordHash: "password1"}, "passwordHash"},
		{&events.PasswordSet{PasswordHash: phc + "\x7f"}, "passwordHash"},
		{&events.PasswordSet{PasswordHash: phc, SetupID: "a b"}, "setupId"},
		{&events.SecondFactorEnrolled{SecretSealed: " "}, "secretSealed"},
		{&events.SignedIn{SessionID: "S1", SessionHash: hash}, "expiresAt"},
		{&events.SignedIn{SessionID: "S1", SessionHash: hash, ExpiresAt: expires, Address: "[::1]"}, "address"},
		{&events.SignedOut{SessionID: "S1"}, "reason"},
		{&events.SignInFailed{Reason: "inactive", Address: "1.2.3"}, "address"},
		{&events.SecondFactorPolicySet{Roles: []string{"rep", "rep"}}, "roles[1]"},
		{&events.StaffDeactivated{Reason: strings.Repeat("r", 501)}, "reason"},
	} {
		assertInvalid(t, tc.d.Validate(), tc.field)
	}
	for _, d := range []events.Data{
		&events.PasswordSet{PasswordHash: phc}, &events.StaffDeactivated{}, &events.SecondFactorReset{},
		&events.SignedOut{SessionID: "S1", Reason: "password_changed"},
		&events.SignInFailed{Reason: "locked"},
	} {
		if err := d.Validate(); err != nil {
			t.Errorf("%T: %v", d, err)
		}
	}
}

func TestSignInSettingsStream(t *testing.T) {
	if events.SignInSettingsStream != "settings-signin" || events.CategorySettings != "settings" {
		t.Fatalf("settings stream %q, category %q", events.SignInSettingsStream, events.CategorySettings)
	}
	if !events.ValidStream(events.SignInSettingsStream) {
		t.Error("settings-signin is not a valid stream name")
	}
	if c, id := events.StreamID(events.SignInSettingsStream); c != events.CategorySettings || id != "signin" {
		t.Errorf("StreamID = %q, %q", c, id)
	}
}
