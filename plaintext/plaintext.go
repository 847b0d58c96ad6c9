// Package plaintext cleans what staff write before it is kept or sent to a
// phone: a reply, a note, a notification's own text. What a phone cannot show
// (a NUL, other control characters, broken UTF-8, the replacement character
// a broken one became) never reaches it.
package plaintext

import (
	"strings"
	"unicode"
)

// Clean returns s as valid UTF-8 with line breaks as "\n", a tab as a space,
// no other control or format character (C0, C1, zero-width and direction
// marks) and no U+FFFD, trimmed of spaces at both ends.
func Clean(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\n':
			b.WriteRune(r)
		case r == '\r':
			b.WriteByte('\n')
		case r == '\t':
			b.WriteByte(' ')
		case r == unicode.ReplacementChar, unicode.IsControl(r), unicode.Is(unicode.Cf, r) && !joiner(r):
		default:
			b.WriteRune(r)
		}
	}
	return strings.TrimSpace(b.String())
}

// joiner keeps the zero-width joiner, which emoji sequences (a family, a
// skin tone on a person) are made with.
func joiner(r rune) bool { return r == '\u200d' }
