package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/projections"
)

// Staff members, their tokens and sessions, and the sign-in policy. A
// member's row holds its fold state as JSON (what the API serves) and, in
// columns (migration 0003), what that JSON leaves out: the verifier, the
// pending setup code, the sealed second factor and the failed sign-ins.
// active and kind are read from their columns, whose defaults are right
// for every row written before the sign-in events existed.

// staffCols are the columns scanStaff reads, in its order.
const staffCols = "state, active, password_hash, setup_id, setup_hash, setup_expires_at, second_factor_sealed, failed_sign_ins"

// token is the stored form of a token or session: TokenInfo hides the
// hash from the API's JSON, authentication needs it.
type token struct {
	projections.TokenInfo
	Hash string `json:"hash"`
}

// staff queues the dirty members, tokens and sessions, and the policy.
// Members go one statement each (in the same batch): the failed sign-ins
// are an array per row, which unnest cannot carry.
func (w *writer) staff(b *pgx.Batch) error {
	for _, id := range sortedKeys(w.dirty.staff) {
		m, ok := w.mem.Staff.Member(id)
		if !ok {
			continue
		}
		js, err := json.Marshal(m)
		if err != nil {
			return err
		}
		var setupExpires *time.Time
		if !m.SetupExpiresAt.IsZero() {
			setupExpires = &m.SetupExpiresAt
		}
		b.Queue(`INSERT INTO rm_staff (id, `+staffCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
			ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, active = EXCLUDED.active,
				password_hash = EXCLUDED.password_hash, setup_id = EXCLUDED.setup_id, setup_hash = EXCLUDED.setup_hash,
				setup_expires_at = EXCLUDED.setup_expires_at, second_factor_sealed = EXCLUDED.second_factor_sealed,
				failed_sign_ins = EXCLUDED.failed_sign_ins`,
			id, js, m.Active, m.PasswordHash, m.SetupID, m.SetupHash, setupExpires, m.SecondFactorSealed, m.FailedSignIns)
	}
	var ids, kinds []string
	var states [][]byte
	for _, id := range sortedKeys(w.dirty.tokens) {
		t, ok := w.mem.Staff.Token(id)
		if !ok {
			continue
		}
		js, err := json.Marshal(token{TokenInfo: t, Hash: t.Hash})
		if err != nil {
			return err
		}
		ids, kinds, states = append(ids, id), append(kinds, t.Kind), append(states, js)
	}
	if len(ids) > 0 {
		b.Queue(`INSERT INTO rm_tokens (id, kind, state) SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[])
			ON CONFLICT (id) DO UPDATE SET kind = EXCLUDED.kind, state = EXCLUDED.state`, ids, kinds, states)
	}
	if w.dirty.policy {
		b.Queue(`INSERT INTO rm_signin_policy (second_factor_roles) VALUES ($1)
			ON CONFLICT (id) DO UPDATE SET second_factor_roles = EXCLUDED.second_factor_roles`,
			w.mem.Staff.Policy().SecondFactorRoles)
	}
	return nil
}

// staffRows loads members with the columns their JSON leaves out.
func (s *Store) staffRows(ctx context.Context, what, sql string, args ...any) ([]projections.StaffMember, error) {
	var out []projections.StaffMember
	err := s.retry(ctx, func() error {
		rs, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rs, scanStaff)
		return err
	})
	if err != nil {
		return nil, unavailable("read models: "+what, err)
	}
	return out, nil
}

func scanStaff(r pgx.CollectableRow) (projections.StaffMember, error) {
	var m projections.StaffMember
	var js []byte
	var active bool
	var setupExpires *time.Time
	var failed []time.Time
	var hash, setupID, setupHash, sealed string
	if err := r.Scan(&js, &active, &hash, &setupID, &setupHash, &setupExpires, &sealed, &failed); err != nil {
		return m, err
	}
	if err := json.Unmarshal(js, &m); err != nil {
		return m, fmt.Errorf("decode staff member: %w", err)
	}
	m.Active, m.PasswordHash, m.SetupID, m.SetupHash, m.SecondFactorSealed = active, hash, setupID, setupHash, sealed
	if setupExpires != nil {
		m.SetupExpiresAt = setupExpires.UTC()
	}
	for i := range failed {
		failed[i] = failed[i].UTC()
	}
	if len(failed) > 0 {
		m.FailedSignIns = failed
	}
	return m, nil
}

// StaffMember returns a staff member; NotFound if unknown.
func (s *Store) StaffMember(ctx context.Context, id string) (projections.StaffMember, error) {
	ms, err := s.staffRows(ctx, "staff member", "SELECT "+staffCols+" FROM rm_staff WHERE id = $1", id)
	if err != nil {
		return projections.StaffMember{}, err
	}
	if len(ms) == 0 {
		return projections.StaffMember{}, notFound("staff member")
	}
	return ms[0], nil
}

// StaffList returns every registered staff member, by id.
func (s *Store) StaffList(ctx context.Context) ([]projections.StaffMember, error) {
	ms, err := s.staffRows(ctx, "staff", "SELECT "+staffCols+" FROM rm_staff ORDER BY id")
	if ms == nil && err == nil {
		ms = []projections.StaffMember{}
	}
	return ms, err
}

// Token returns an issued token's or a session's record, hash included;
// NotFound if unknown.
func (s *Store) Token(ctx context.Context, id string) (projections.TokenInfo, error) {
	var t token
	found := false
	err := s.retry(ctx, func() error {
		var js []byte
		var kind string
		err := s.pool.QueryRow(ctx, "SELECT state, kind FROM rm_tokens WHERE id = $1", id).Scan(&js, &kind)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		t = token{}
		if err := json.Unmarshal(js, &t); err != nil {
			return fmt.Errorf("decode token: %w", err)
		}
		t.Kind, found = kind, true
		return nil
	})
	if err != nil {
		return projections.TokenInfo{}, unavailable("read models: token", err)
	}
	if !found {
		return projections.TokenInfo{}, notFound("token")
	}
	t.TokenInfo.Hash = t.Hash
	return t.TokenInfo, nil
}

// SignInPolicy returns the sign-in policy; no role requires a second
// factor before the first SecondFactorPolicySet.
func (s *Store) SignInPolicy(ctx context.Context) (projections.SignInPolicy, error) {
	var roles []string
	err := s.retry(ctx, func() error {
		err := s.pool.QueryRow(ctx, "SELECT second_factor_roles FROM rm_signin_policy").Scan(&roles)
		if errors.Is(err, pgx.ErrNoRows) {
			roles = nil
			return nil
		}
		return err
	})
	if err != nil {
		return projections.SignInPolicy{}, unavailable("read models: sign-in policy", err)
	}
	if roles == nil {
		roles = []string{}
	}
	return projections.SignInPolicy{SecondFactorRoles: roles}, nil
}
