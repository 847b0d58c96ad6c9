// Package split cuts a long text into the messages a channel takes: the one
// splitter of Telegram (4,096 UTF-16 units a message) and of SMS and WhatsApp
// (three SMS parts, 1,600 characters). The channel says what fits; split
// says where to cut. It imports nothing of Enlace, so adapters share it
// without importing each other.
package split

import (
	"strings"
	"unicode/utf8"
)

// Text cuts s into parts that each fit, in order. A part ends at a line
// break where one lies in its second half, else at a space there, else
// between two characters (never inside one). The breaks cut at are dropped;
// nothing else is, so joining the parts with their breaks gives s back.
//
// fits must be monotone: when a text fits, so does every prefix of it (true
// of a length limit and of an SMS segment count). A character that does not
// fit even alone goes as a part of its own rather than being lost.
func Text(s string, fits func(string) bool) []string {
	var parts []string
	for s != "" && !fits(s) {
		cut := longestFit(s, fits)
		end, next := cut, cut
		// A break right after the longest part that fits is the best one.
		window := s[:cut]
		if cut < len(s) {
			window = s[:cut+1]
		}
		half := utf8.RuneCountInString(s[:cut]) / 2
		if i := strings.LastIndexByte(window, '\n'); i > 0 && utf8.RuneCountInString(s[:i]) >= half {
			end, next = i, i+1
		} else if i := strings.LastIndexByte(window, ' '); i > 0 && utf8.RuneCountInString(s[:i]) >= half {
			end, next = i, i+1
		}
		parts = append(parts, s[:end])
		s = s[next:]
	}
	if s == "" && len(parts) > 0 {
		return parts // the text ended with the break cut at
	}
	return append(parts, s)
}

// longestFit is the byte length of the longest prefix of s that fits and ends
// between two characters; at least one character, so that Text always moves
// on. s itself does not fit.
func longestFit(s string, fits func(string) bool) int {
	ends := make([]int, 0, len(s)) // ends[k]: byte length of the first k+1 characters
	for i := range s {
		if i > 0 {
			ends = append(ends, i)
		}
	}
	// ends holds the prefixes shorter than s; find the last one that fits.
	lo, hi := 0, len(ends) // ends[:lo] fit, ends[hi:] do not
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if fits(s[:ends[mid]]) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		_, size := utf8.DecodeRuneInString(s)
		return size
	}
	return ends[lo-1]
}
