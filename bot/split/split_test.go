package split_test

import (
	"reflect"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/bot/split"
)

func runes(limit int) func(string) bool {
	return func(s string) bool { return utf8.RuneCountInString(s) <= limit }
}

func units(limit int) func(string) bool {
	return func(s string) bool { return len(utf16.Encode([]rune(s))) <= limit }
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		fits func(string) bool
		want []string
	}{
		{"fits", "hola mundo", runes(10), []string{"hola mundo"}},
		{"empty", "", runes(10), []string{""}},
		{"at a line break", "aaaa bbbb\ncccc dd", runes(12), []string{"aaaa bbbb", "cccc dd"}},
		{"lines one by one", "line one\nline two", runes(10), []string{"line one", "line two"}},
		{"at a space", "aaaa bbbb cccc", runes(12), []string{"aaaa bbbb", "cccc"}},
		{"words packed", "aa bb cc dd ee", runes(10), []string{"aa bb cc", "dd ee"}},
		{"a break just after the part", "aaaa bbbb cccc", runes(9), []string{"aaaa bbbb", "cccc"}},
		{"a line break late beats a space", "aa bb cc\ndd ee", runes(10), []string{"aa bb cc", "dd ee"}},
		{"a line break too early, a space", "a\nbbbb cccc dd", runes(12), []string{"a\nbbbb cccc", "dd"}},
		{"a word longer than a part", "abcdefghij", runes(4), []string{"abcd", "efgh", "ij"}},
		{"a long word", "abcdefghijklmnop", runes(10), []string{"abcdefghij", "klmnop"}},
		{"a break too early is not used", "a bcdefghij", runes(4), []string{"a bc", "defg", "hij"}},
		{"accents are one character", "ñañañaña", runes(3), []string{"ñañ", "aña", "ña"}},
		{"emoji count two units", "🙂🙂🙂", units(4), []string{"🙂🙂", "🙂"}},
		{"an emoji never splits", "a🙂🙂", units(2), []string{"a", "🙂", "🙂"}},
		{"a break at the very end", "abcd ", runes(4), []string{"abcd"}},
		{"what never fits still goes", "abc", func(string) bool { return false }, []string{"a", "b", "c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := split.Text(tt.in, tt.fits); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Text(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzText: every part fits (when a character can), parts are never empty
// (unless the text is), and the text comes back from the parts and the
// breaks between them.
func FuzzText(f *testing.F) {
	f.Add("aaaa bbbb\ncccc dd", 5)
	f.Add("🙂 ñandú 🙂🙂\n\n  x", 3)
	f.Add("", 1)
	f.Fuzz(func(t *testing.T, s string, limit int) {
		if !utf8.ValidString(s) || limit < 2 || limit > 200 {
			t.Skip()
		}
		parts := split.Text(s, units(limit))
		for i, p := range parts {
			if !units(limit)(p) {
				t.Fatalf("part %d %q does not fit %d units", i, p, limit)
			}
			if p == "" && s != "" {
				t.Fatalf("part %d is empty", i)
			}
		}
		if !rebuilds(s, parts) {
			t.Fatalf("the parts %q and the breaks between them do not give %q back", parts, s)
		}
	})
}

// rebuilds reports whether s is the parts joined each with nothing, a line
// break or a space (and perhaps the one break cut at after the last). It
// remembers what it tried (at which byte of s, for which part), so a text of
// many breaks, where each could be kept or cut, takes linear time, not
// exponential (a fuzz input of 2,700 spaces hung the old version).
func rebuilds(s string, parts []string) bool {
	seen := map[[2]int]bool{}
	var from func(at, k int) bool
	from = func(at, k int) bool {
		key := [2]int{at, k}
		if done, ok := seen[key]; ok {
			return done
		}
		rest := s[at:]
		var ok bool
		switch {
		case k == len(parts):
			ok = rest == "" || rest == "\n" || rest == " "
		case !strings.HasPrefix(rest, parts[k]):
			ok = false
		default:
			after := at + len(parts[k])
			tail := s[after:]
			ok = (from(after, k+1) && (k+1 < len(parts) || tail == "")) ||
				(tail != "" && (tail[0] == '\n' || tail[0] == ' ') && from(after+1, k+1))
		}
		seen[key] = ok
		return ok
	}
	if len(parts) == 0 {
		return s == "" || s == "\n" || s == " "
	}
	return from(0, 0)
}
