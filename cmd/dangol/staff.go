package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

func runStaff(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "Usage: dangol staff add --id ID --name NAME --role ROLE [--branches B1,B2] [--data DIR]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			return nil
		}
		return errors.New("staff: the only subcommand is add")
	}
	fs := newFlags("staff add", "Registers a staff member (or reuses an existing one) in the embedded store\n"+
		"and issues a bearer token, printed as the last line of stdout. A member\n"+
		"without a password also gets a one-time setup code, printed on stderr, to\n"+
		"set one at the web console's /setup (valid 72 hours). Only the SHA-256 of\n"+
		"the token and of the code is stored. Run it while the server is stopped;\n"+
		"with a running server, an admin uses the console's staff screen (or POST\n"+
		"/v1/staff, /v1/staff/{id}/tokens and /v1/staff/{id}/setup-codes).", stderr)
	var sf storeFlags
	sf.register(fs)
	id := fs.String("id", "", "staff id, e.g. R017 (required)")
	name := fs.String("name", "", "display name (required for a new staff member)")
	role := fs.String("role", "", "rep, private_banker, supervisor, centre_head, auditor or admin (required for a new staff member)")
	branches := fs.String("branches", "", "comma-separated branch ids the member works for")
	ttl := fs.Duration("token-ttl", 90*24*time.Hour, "how long the token is valid, e.g. 720h (every token expires)")
	if err := parse(fs, args[1:], getenv); err != nil {
		return err
	}
	if *id == "" {
		return errors.New("staff add: --id is required")
	}
	// A token that never expires cannot be told from a leaked one that
	// should have: every token has a lifetime, and nothing is appended for
	// a bad one.
	if *ttl <= 0 {
		return fmt.Errorf("staff add: --token-ttl must be positive (got %s), e.g. 720h for 30 days", *ttl)
	}
	s, err := openEventStore(ctx, sf, false)
	if err != nil {
		return err
	}
	defer s.Close()

	stream := events.StaffStream(*id)
	actor := events.System("cli")
	corr := events.NewID().String()
	existing, err := s.ReadStream(ctx, stream, 0, events.Forward, 1)
	switch {
	case events.ErrorCode(err) == events.NotFound:
		var branchIDs []string
		if *branches != "" {
			branchIDs = strings.Split(*branches, ",")
		}
		reg, err := events.NewEvent(&events.StaffRegistered{StaffID: *id, Name: *name, Role: *role, BranchIDs: branchIDs},
			events.Meta{Actor: actor, CorrelationID: corr})
		if err != nil {
			return fmt.Errorf("staff add: %w", err)
		}
		if _, err := s.Append(ctx, stream, events.NoStream, reg); err != nil {
			return fmt.Errorf("staff add: %w", err)
		}
		fmt.Fprintf(stderr, "registered staff %s as %s\n", *id, *role)
	case err != nil:
		return fmt.Errorf("staff add: %w", err)
	default:
		fmt.Fprintf(stderr, "staff %s already registered (since %s); issuing a new token\n", *id, existing[0].RecordedAt.Format(time.DateOnly))
	}

	// A member without a password gets a setup code with the token, to
	// set one in the web console (a new code replaces a pending one).
	var evs []events.Event
	var setupCode string
	hasPassword, deactivated, err := signInState(ctx, s, stream)
	if err != nil {
		return fmt.Errorf("staff add: %w", err)
	}
	// As the API refuses (409): a deactivated member's token or code would
	// never work, so nothing is appended for one.
	if deactivated {
		return fmt.Errorf("staff add: staff %s is deactivated; no token or setup code is issued", *id)
	}
	if !hasPassword {
		setupCode = api.NewSetupCode()
		ev, err := events.NewEvent(&events.PasswordSetupIssued{SetupID: events.NewID().String(), CodeHash: api.HashSetupCode(setupCode),
			ExpiresAt: now().Add(api.SetupCodeTTL).UTC().Truncate(time.Second)}, events.Meta{Actor: actor, CorrelationID: corr})
		if err != nil {
			return fmt.Errorf("staff add: %w", err)
		}
		evs = append(evs, ev)
	}
	tok := api.NewToken()
	issued := &events.TokenIssued{TokenID: tok.ID, TokenHash: tok.Hash, ExpiresAt: now().Add(*ttl).UTC().Truncate(time.Second)}
	ev, err := events.NewEvent(issued, events.Meta{Actor: actor, CorrelationID: corr})
	if err != nil {
		return fmt.Errorf("staff add: %w", err)
	}
	if _, err := s.Append(ctx, stream, events.StreamExists, append(evs, ev)...); err != nil {
		return fmt.Errorf("staff add: %w", err)
	}
	if setupCode != "" {
		fmt.Fprintf(stderr, "setup code for %s: %s (valid %d h; sign in at /setup)\n", *id, setupCode, int(api.SetupCodeTTL.Hours()))
	}
	fmt.Fprintln(stdout, tok.Secret)
	return nil
}

// signInState reports whether the staff stream holds a PasswordSet and a
// StaffDeactivated.
func signInState(ctx context.Context, s events.Store, stream string) (password, deactivated bool, err error) {
	for from := uint64(0); ; {
		evs, err := s.ReadStream(ctx, stream, from, events.Forward, 500)
		if err != nil {
			return false, false, err
		}
		for _, e := range evs {
			switch e.Type {
			case "PasswordSet":
				password = true
			case "StaffDeactivated":
				deactivated = true
			}
			from = e.Version + 1
		}
		if len(evs) < 500 {
			return password, deactivated, nil
		}
	}
}
