package phone

import "strings"

// Split cuts text into pieces that fit, in order, at line breaks where it
// can, else at spaces, else between characters.
func Split(text string, fits func(string) bool) []string {
	if fits(text) {
		return []string{text}
	}
	var out []string
	cur := ""
	flush := func() {
		if s := strings.TrimSpace(cur); s != "" {
			out = append(out, s)
		}
		cur = ""
	}
	add := func(piece, sep string) bool {
		if cur == "" {
			if fits(piece) {
				cur = piece
				return true
			}
			return false
		}
		if fits(cur + sep + piece) {
			cur += sep + piece
			return true
		}
		flush()
		if fits(piece) {
			cur = piece
			return true
		}
		return false
	}
	for _, line := range strings.Split(text, "\n") {
		if add(line, "\n") {
			continue
		}
		for i, word := range strings.Split(line, " ") {
			sep := " "
			if i == 0 {
				sep = "\n"
			}
			if add(word, sep) {
				continue
			}
			for _, r := range word { // a word longer than a message
				if !add(string(r), "") {
					flush()
				}
			}
		}
	}
	flush()
	return out
}
