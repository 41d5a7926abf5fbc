package console

import (
	"strconv"
	"strings"
)

// Amounts are recorded in the smallest unit of their currency (docs/events.md):
// won and yen have none smaller, a dollar has cents, a Bahraini dinar has
// 1,000 fils. The console shows them in the currency's own units.

// minorDigits are the ISO 4217 minor-unit digits that differ from the
// usual 2; -1 for the codes with no minor unit (the metals, the SDR and the
// bond-market units), whose amounts are shown as they are.
var minorDigits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
	"XAG": -1, "XAU": -1, "XBA": -1, "XBB": -1, "XBC": -1, "XBD": -1, "XDR": -1, "XPD": -1,
	"XPT": -1, "XSU": -1, "XUA": -1,
}

// formatAmount shows n, an amount of currency cur in its smallest unit:
// won as formatWon (₩1,234,567), others with their code and their minor
// unit ("USD 1,234.56"), negative with a leading minus as won is.
func formatAmount(n int64, cur string) string {
	if cur == "" || cur == "KRW" {
		return formatWon(n)
	}
	sign := ""
	if n < 0 {
		sign = "-"
	}
	digits := strconv.FormatUint(absAmount(n), 10)
	d, ok := minorDigits[cur]
	if !ok {
		d = 2
	}
	if d <= 0 {
		return sign + cur + " " + groupDigits(digits)
	}
	if len(digits) <= d {
		digits = strings.Repeat("0", d-len(digits)+1) + digits
	}
	whole, frac := digits[:len(digits)-d], digits[len(digits)-d:]
	return sign + cur + " " + groupDigits(whole) + "." + frac
}

// absAmount is |n| as an unsigned number (math.MinInt64 included).
func absAmount(n int64) uint64 {
	if n < 0 {
		return uint64(-n)
	}
	return uint64(n)
}
