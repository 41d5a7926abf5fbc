package postgres

import "github.com/jackc/pgx/v5"

// SetTracer makes Open trace the connections of the store's pool: tests
// count an append's round trips with it.
func SetTracer(o *Options, t pgx.QueryTracer) { o.tracer = t }
