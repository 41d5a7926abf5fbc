package projections_test

import (
	"testing"

	"github.com/dangol/dangol/projections"
)

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{
		"010-1234-5678":       "01012345678",
		"010 1234 5678":       "01012345678",
		"(010) 1234-5678":     "01012345678",
		"+82 10-1234-5678":    "01012345678",
		"+82 (0)10 1234 5678": "01012345678",
		"+821012345678":       "01012345678",
		"0082-10-1234-5678":   "01012345678",
		"82-10-1234-5678":     "01012345678",
		"02-123-4567":         "021234567",
		"+82 2 123 4567":      "021234567",
		"+1 555 0100":         "15550100",
		"":                    "",
		"none":                "",
	} {
		if got := projections.NormalizePhone(in); got != want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", in, got, want)
		}
	}
}
