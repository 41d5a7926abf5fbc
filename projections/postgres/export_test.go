package postgres

// SetBeforeSwap sets the hook Rebuild calls before each swap attempt.
func SetBeforeSwap(f func(attempt int)) { beforeSwap = f }

// MigrationCount is the number of embedded migrations.
func MigrationCount() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}
