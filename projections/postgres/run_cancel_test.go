package postgres_test

import (
	"context"
	"testing"

	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
)

// TestRunCancelledAtOnce: Run returns nil when its context is cancelled,
// also before it has read the log's head (it returned "read models: head:
// context canceled", which failed a conformance case in CI whose store was
// stopped at once).
func TestRunCancelledAtOnce(t *testing.T) {
	st := openStore(t, pgtest.Database(t), postgres.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := st.Run(ctx, postgres.Log{Source: logStore(t, 3), Decode: decode}); err != nil {
		t.Errorf("Run with a cancelled context: %v", err)
	}
}
