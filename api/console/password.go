package console

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/dangol/dangol/events"
)

// PasswordCost is the argon2id cost of a password hash (RFC 9106).
type PasswordCost struct {
	Time      uint32 // passes
	MemoryKiB uint32
	Threads   uint8
}

// DefaultPasswordCost is OWASP's first recommended argon2id setting (19 MiB,
// 2 passes, 1 lane): some tens of milliseconds on a server core, a few
// sign-ins a second per core, which the sign-in throttle keeps far above.
var DefaultPasswordCost = PasswordCost{Time: 2, MemoryKiB: 19 * 1024, Threads: 1}

// Password rules: long rather than complex (NIST SP 800-63B).
const (
	minPassword = 12
	maxPassword = 128
)

// checkPassword refuses a password too short or too long; errors are
// Invalid naming the field, translated like the API's.
func checkPassword(field, pw string) error {
	n := utf8.RuneCountInString(pw)
	switch {
	case !utf8.ValidString(pw):
		return events.InvalidField(field, "must be valid UTF-8")
	case n < minPassword:
		return events.InvalidField(field, "must be at least %d characters", minPassword)
	case n > maxPassword:
		return events.InvalidField(field, "must be at most %d characters", maxPassword)
	}
	return nil
}

// hashPassword returns the PHC string of pw's argon2id hash under a fresh
// 16-byte salt: "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>".
func hashPassword(pw string, cost PasswordCost) string {
	salt := randomBytes(16)
	sum := argon2.IDKey([]byte(pw), salt, cost.Time, cost.MemoryKiB, cost.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, cost.MemoryKiB, cost.Time, cost.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// verifyPassword reports whether pw matches the PHC string phc, at the cost
// phc records. A malformed phc never matches.
func verifyPassword(pw, phc string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false
	}
	var cost PasswordCost
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &cost.MemoryKiB, &cost.Time, &cost.Threads); err != nil ||
		cost.Time == 0 || cost.Threads == 0 || cost.MemoryKiB > 1<<21 || cost.Time > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) != 32 || len(salt) < 8 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, cost.Time, cost.MemoryKiB, cost.Threads, 32)
	return subtle.ConstantTimeCompare(got, want) == 1
}
