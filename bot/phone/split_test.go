package phone

import (
	"strings"
	"testing"
)

func TestSplitText(t *testing.T) {
	fits := func(s string) bool { return len(s) <= 10 }
	tests := []struct {
		in   string
		want []string
	}{
		{"short", []string{"short"}},
		{"line one\nline two", []string{"line one", "line two"}},
		{"aa bb cc dd ee", []string{"aa bb cc", "dd ee"}},
		{"abcdefghijklmnop", []string{"abcdefghij", "klmnop"}},
	}
	for _, tt := range tests {
		if got := Split(tt.in, fits); strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Split(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}
