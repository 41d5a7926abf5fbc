// Package api serves dangol's HTTP and WebSocket contract (shared/API.md):
// authentication and roles, the handlers, the live hub, and the mapping of
// events.Error codes to HTTP statuses.
package api

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/dangol/dangol/events"
)

// tokenPrefix marks dangol bearer tokens, so a leaked one is recognisable by
// secret scanners.
const tokenPrefix = "dgl_"

// Token is a newly issued bearer token. Only Hash is ever stored (event
// TokenIssued); Secret is shown once, to whoever asked for it.
type Token struct {
	ID     string // ULID; names the token in TokenIssued and TokenRevoked
	Secret string // the whole bearer string: dgl_<id>_<random>
	Hash   string // hex SHA-256 of Secret
}

// NewToken returns a fresh token with 256 bits of randomness.
func NewToken() Token {
	var r [32]byte
	if _, err := rand.Read(r[:]); err != nil {
		panic("api: crypto/rand failed: " + err.Error())
	}
	id := events.NewID().String()
	secret := tokenPrefix + id + "_" + base64.RawURLEncoding.EncodeToString(r[:])
	return Token{ID: id, Secret: secret, Hash: HashToken(secret)}
}

// HashToken returns the hex SHA-256 of a bearer string, as stored in TokenIssued.
func HashToken(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// ParseToken returns the token id embedded in a bearer string, or false if
// the string is not shaped like a dangol token.
func ParseToken(secret string) (id string, ok bool) {
	rest, ok := strings.CutPrefix(secret, tokenPrefix)
	if !ok || len(rest) != 26+1+43 || rest[26] != '_' {
		return "", false
	}
	return rest[:26], true
}

// TokenMatches compares a presented bearer string with a stored hash in
// constant time.
func TokenMatches(secret, storedHash string) bool {
	return subtle.ConstantTimeCompare([]byte(HashToken(secret)), []byte(storedHash)) == 1
}
