// Package events is the ledger's language and contract: the envelope every
// event travels in, the v1 event catalog with its validation, the canonical
// binary encoding and per-stream SHA-256 hash chain, the Store interface that
// every backend implements, and the typed Error with its codes.
//
// Backends live in subpackages named after what they wrap (events/bolt,
// events/postgres, events/kurrentdb); events/eventstest is the conformance
// suite each of them must pass.
package events
