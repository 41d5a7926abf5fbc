// Package pii protects the personal data inside customer events by
// crypto-shredding.
//
// Every personal field of a customer's events (the fields an events.Personal
// visits: name, birth date, phone, email, address, free-text notes and
// summaries) is encrypted with AES-256-GCM under a data key of that customer
// before the event is encoded, so the log, its hash chain and every backup of
// it only ever hold ciphertext. Data keys are wrapped by a master key and kept
// in a key store apart from the log: Keys over a Vault, whose backends are
// subpackages named after the database they wrap (events/pii/boltkeys, a
// keys.db file next to the embedded store; events/pii/pgkeys, tables in the
// PostgreSQL store's database), so this package imports neither. Destroying
// a customer's data key, which is what PersonalDataErased records, makes
// those fields unreadable for good while every event, hash and non-personal
// field stays as it was: readers see the marker Erased instead.
//
// The three parts, in the order a caller meets them:
//
//   - LoadMasterKey reads the master key from the environment or a file, or
//     creates the file (mode 0600) on first start.
//   - boltkeys.Open or pgkeys.Open opens the key store with that master key
//     (through OpenKeys); it refuses a master key other than the one it was
//     created with.
//   - A Sealer built on the key store seals new events (SealFor, passed as
//     events.Meta.Seal), opens stored ones (OpenEnvelope) and erases a
//     customer (Erase).
//
// docs/personal-data.md describes the scheme, its limits and how to operate it.
package pii
