package console

import "testing"

// TestFormatAmount: an amount in the smallest unit of its currency reads
// in that currency's units: won and yen have none smaller, a dollar has
// cents, a dinar of Bahrain has fils (1/1000).
func TestFormatAmount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		cur  string
		want string
	}{
		{1_234_567, "KRW", "₩1,234,567"},
		{-12_345, "KRW", "-₩12,345"},
		{1_234_567, "", "₩1,234,567"},
		{1_234, "JPY", "JPY 1,234"},
		{12_345, "USD", "USD 123.45"},
		{123_456_789, "EUR", "EUR 1,234,567.89"},
		{5, "USD", "USD 0.05"},
		{-5, "USD", "-USD 0.05"},
		{0, "USD", "USD 0.00"},
		{1_234_567, "BHD", "BHD 1,234.567"},
		{12_345, "CLF", "CLF 1.2345"},
		{3, "XAU", "XAU 3"},
	} {
		if got := formatAmount(tc.n, tc.cur); got != tc.want {
			t.Errorf("formatAmount(%d, %q) = %q, want %q", tc.n, tc.cur, got, tc.want)
		}
	}
}
