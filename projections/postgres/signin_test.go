package postgres_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// TestSignInMigrationKeepsAccess upgrades tables written before migration
// 0003 (sign-in): a member's row then had no "active" in its JSON and a
// token's no "kind". Read as they are, every member would be inactive and
// every bearer token not a token, and no program could authenticate; the
// columns' defaults say what those rows are.
func TestSignInMigrationKeepsAccess(t *testing.T) {
	url := pgtest.Database(t)
	ctx := context.Background()
	c := conn(t, url)
	const schema = "dangol_rm"
	for _, sql := range []string{"CREATE SCHEMA " + schema, "SET search_path TO " + schema} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	for v, name := range []string{"0001_read_models", "0002_sealed_customers"} {
		b, err := os.ReadFile("migrations/" + name + ".sql")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Exec(ctx, string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v == 0 {
			if _, err := c.Exec(ctx, `CREATE TABLE rm_schema_migrations (
				version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := c.Exec(ctx, "INSERT INTO rm_schema_migrations (version, name) VALUES ($1, $2)", v+1, name+".sql"); err != nil {
			t.Fatal(err)
		}
	}
	// Rows as the writer of the previous release stored them.
	hash := fmt.Sprintf("%064x", 1)
	for _, sql := range []string{
		`INSERT INTO rm_staff (id, state) VALUES ('R01', '{"id":"R01","name":"Lee","role":"rep","registeredAt":"2030-03-04T09:00:00Z","version":1}')`,
		`INSERT INTO rm_tokens (id, state) VALUES ('TK1', '{"id":"TK1","staffId":"R01","issuedAt":"2030-03-04T10:00:00Z","revoked":false,"hash":"` + hash + `"}')`,
	} {
		if _, err := c.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	st := openStore(t, url, postgres.Options{})
	if n := migrationsApplied(t, url); n != postgres.MigrationCount() {
		t.Fatalf("%d migrations applied, want %d", n, postgres.MigrationCount())
	}
	m, err := st.StaffMember(ctx, "R01")
	if err != nil {
		t.Fatal(err)
	}
	if !m.Active || m.Role != "rep" || m.PasswordHash != "" || m.FailedSignIns != nil {
		t.Errorf("member after the upgrade: %+v, want active, as before", m)
	}
	tk, err := st.Token(ctx, "TK1")
	if err != nil {
		t.Fatal(err)
	}
	if tk.Kind != projections.KindToken || tk.Hash != hash || tk.StaffID != "R01" {
		t.Errorf("token after the upgrade: %+v, want a bearer token with its hash", tk)
	}
	list, err := st.StaffList(ctx)
	if err != nil || len(list) != 1 || !list[0].Active {
		t.Errorf("StaffList after the upgrade: %+v, %v", list, err)
	}
	p, err := st.SignInPolicy(ctx)
	if err != nil || p.SecondFactorRoles == nil || len(p.SecondFactorRoles) != 0 {
		t.Errorf("SignInPolicy after the upgrade: %+v, %v; want no role", p, err)
	}
}
