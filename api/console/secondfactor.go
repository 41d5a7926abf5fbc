package console

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	"github.com/pquerna/otp/totp"
)

// The second factor is TOTP (RFC 6238) as authenticator apps use it: a
// 20-byte secret, 6 digits, 30-second steps, HMAC-SHA-1. A code is
// accepted one step either side of the console's clock, and only once: a
// member's code, once accepted, and every code of an earlier step, is
// refused after (kept in memory: a restart forgets, so a code could serve
// again within its 90 seconds after one; each server of a deployment
// keeps its own).
//
// The secret is stored sealed (AES-256-GCM under the console's seal key,
// a random nonce, the staff id as additional data, so a sealed secret
// copied to another member's stream does not open).
const (
	totpPeriod = 30
	totpDigits = otp.DigitsSix
	totpIssuer = "dangol"
)

var errSealed = errors.New("console: a sealed second-factor secret does not open")

// seal seals secret with AES-256-GCM under the seal key: std base64 of
// nonce ‖ ciphertext, bound to the additional data ad.
func (c *Console) seal(secret []byte, ad string) string {
	g := c.gcm()
	nonce := randomBytes(g.NonceSize())
	return base64.StdEncoding.EncodeToString(g.Seal(nonce, nonce, secret, []byte(ad)))
}

// unseal opens what seal sealed with ad.
func (c *Console) unseal(sealed, ad string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(sealed)
	g := c.gcm()
	if err != nil || len(b) < g.NonceSize()+g.Overhead() {
		return nil, errSealed
	}
	out, err := g.Open(nil, b[:g.NonceSize()], b[g.NonceSize():], []byte(ad))
	if err != nil {
		return nil, errSealed
	}
	return out, nil
}

func (c *Console) gcm() cipher.AEAD {
	block, err := aes.NewCipher(c.keys.seal)
	if err != nil {
		panic(err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// sealSecret seals a member's TOTP secret as SecondFactorEnrolled stores it.
func (c *Console) sealSecret(secret []byte, staffID string) string { return c.seal(secret, staffID) }

// openSecret opens SecondFactorEnrolled's secret of staffID, as the
// base32 text the TOTP functions take.
func (c *Console) openSecret(sealed, staffID string) (string, error) {
	b, err := c.unseal(sealed, staffID)
	if err != nil {
		return "", fmt.Errorf("second factor of %s: %w", staffID, err)
	}
	return base32Secret(b), nil
}

// base32Secret is a secret as authenticator apps take it (RFC 4648 base32,
// no padding).
func base32Secret(b []byte) string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
}

// totpKey is the authenticator's key of secret for staffID: what the QR
// code and the text on the enrolment page carry.
func totpKey(secret []byte, staffID string) (*otp.Key, error) {
	return totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: staffID, Period: totpPeriod,
		Digits: totpDigits, Algorithm: otp.AlgorithmSHA1, Secret: secret})
}

// qrDataURI is the key's QR code as a PNG data: URI (the CSP allows data:
// images; nothing is fetched).
func qrDataURI(k *otp.Key) (string, error) {
	img, err := k.Image(220, 220)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// usedCodes is the TOTP replay guard: per member, the latest step whose
// code was accepted. Safe for concurrent use.
type usedCodes struct {
	mu   sync.Mutex
	last map[string]uint64
}

func newUsedCodes() *usedCodes { return &usedCodes{last: map[string]uint64{}} }

// check reports whether code is staffID's code of secret (base32) at now,
// one step either side, of a step later than any accepted before; an
// accepted code's step is recorded.
func (u *usedCodes) check(staffID, secret, code string, now time.Time) bool {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != totpDigits.Length() || strings.Trim(code, "0123456789") != "" {
		return false
	}
	step := uint64(now.Unix()) / totpPeriod
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, s := range []uint64{step - 1, step, step + 1} {
		if s <= u.last[staffID] {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, s, hotp.ValidateOpts{Digits: totpDigits, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			u.last[staffID] = s
			return true
		}
	}
	return false
}

// The enrolment is two pages: one shows a new secret, the next confirms it
// with a code from the app. Between them the pending secret travels in the
// form, in an enrolment ticket the console MACs (under its CSRF key, with
// its own label) and that binds:
//   - the staff id, and the member's password verifier as it was when the
//     password was proven (a digest of it): a ticket dies with a new
//     password;
//   - the secret, sealed with the staff id (the page shows it anyway; the
//     seal keeps it out of proxies' and browsers' form caches in clear);
//   - the browser: its sign-in CSRF cookie before sign-in, its session id
//     on the account page, so a ticket is of no use in another browser;
//   - an expiry, enrolTTL after the password was proven;
//   - where to go after (a local path).
//
// A ticket is issued only after the password is checked, to a member with
// no second factor; it can enrol once (the confirmation also needs the
// code, which the replay guard then refuses a second time).
const enrolTTL = 10 * time.Minute

// Purposes of an enrolment ticket.
const (
	purposeSignIn  = "signin"  // before sign-in (a role that requires it, or setup): enrolling signs in
	purposeAccount = "account" // from the account page of a session
)

// enrolTicket is the enrolment state between the two pages.
type enrolTicket struct {
	Staff   string `json:"s"`
	Secret  string `json:"k"` // sealed with "enrolment:"+Staff
	Pw      string `json:"p"` // a digest of the password verifier
	Bind    string `json:"b"` // the browser's CSRF cookie or session id
	Purpose string `json:"u"`
	Next    string `json:"n,omitempty"`
	Expires int64  `json:"e"` // unix seconds
}

// encodeTicket returns t as the form carries it: payload.mac.
func (c *Console) encodeTicket(t enrolTicket) string {
	b, _ := json.Marshal(t)
	p := base64.RawURLEncoding.EncodeToString(b)
	return p + "." + c.mac(c.keys.csrf, "enrolment", p)
}

// decodeTicket returns the ticket v if this console made it and it has not
// expired at now.
func (c *Console) decodeTicket(v string, now time.Time) (enrolTicket, bool) {
	p, m, ok := strings.Cut(v, ".")
	if !ok || !hmac.Equal([]byte(m), []byte(c.mac(c.keys.csrf, "enrolment", p))) {
		return enrolTicket{}, false
	}
	b, err := base64.RawURLEncoding.DecodeString(p)
	var t enrolTicket
	if err != nil || json.Unmarshal(b, &t) != nil || now.Unix() >= t.Expires {
		return enrolTicket{}, false
	}
	return t, true
}

// passwordDigest is what a ticket holds of a member's password verifier.
func (c *Console) passwordDigest(phc string) string { return c.mac(c.keys.csrf, "password", phc) }

// equalString compares two secrets' digests in constant time.
func equalString(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
