package postgres_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// TestSealedCustomerRows: with a Cipher, customer rows are stored sealed
// under each customer's data key (no personal field in clear in the
// table), the answers are still Memory's, destroying a key makes the
// stored row unreadable, and the erasure event rewrites it in clear with
// the fields erased.
func TestSealedCustomerRows(t *testing.T) {
	ctx := context.Background()
	s := logStore(t, 150)
	cipher, sealer := testCipher(t)
	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{Cipher: cipher})
	run(t, st, s)
	waitHead(t, st, s)

	m := memory(t, s)
	x := logIDs(t, s)
	sameAnswers(t, render(t, m, x, seedEnd), render(t, st, x, seedEnd))

	const id = "C0000005"
	view, err := m.Customer(ctx, id, seedEnd)
	if err != nil || view.Name == "" {
		t.Fatalf("memory view of %s: %+v, %v", id, view, err)
	}
	var clear, sealedN int
	if err := conn(t, url).QueryRow(ctx, `SELECT count(*) FILTER (WHERE state IS NOT NULL), count(*) FILTER (WHERE sealed IS NOT NULL)
		FROM dangol_rm.rm_customers`).Scan(&clear, &sealedN); err != nil {
		t.Fatal(err)
	}
	if clear != 0 || sealedN == 0 {
		t.Fatalf("%d rows in clear, %d sealed; want none in clear", clear, sealedN)
	}
	var blob []byte
	if err := conn(t, url).QueryRow(ctx, `SELECT sealed FROM dangol_rm.rm_customers WHERE id = $1`, id).Scan(&blob); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte(view.Name)) {
		t.Fatal("the sealed row holds the customer's name")
	}

	// Destroy the key: the stored row can no longer be read by anyone.
	if err := sealer.Erase(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Customer(ctx, id, seedEnd); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("a row sealed under a destroyed key: %v, want Unavailable", err)
	}
	if _, err := sealer.OpenBlob(ctx, id, "rm_customers", blob); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("opening the stored row after erasure: %v", err)
	}
	// The erasure event rewrites the row in clear, personal fields erased.
	appendData(t, s, events.CustomerStream(id), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	waitHead(t, st, s)
	got, err := st.Customer(ctx, id, seedEnd)
	if err != nil || got.Name != projections.Erased {
		t.Fatalf("after the erasure event: name %q, %v", got.Name, err)
	}
}
