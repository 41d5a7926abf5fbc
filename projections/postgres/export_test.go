package postgres

// SetBeforeSwap sets the hook Rebuild calls before each swap attempt.
func SetBeforeSwap(f func(attempt int)) { beforeSwap = f }
