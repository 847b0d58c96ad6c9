package flows

import (
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/enlace-rfl/enlace/textmatch"
)

// monthNames are the months as people write them, by language, folded as
// textmatch.Normalize folds (no accents): January first. A typed word is a
// month when it is one of these or the start of one, three letters at least
// ("sept", "oct", "dic"); within a language it must name one month only
// ("jui" is juin or juillet: none).
var monthNames = map[string][][]string{
	"es": {{"enero"}, {"febrero"}, {"marzo"}, {"abril"}, {"mayo"}, {"junio"}, {"julio"}, {"agosto"}, {"septiembre", "setiembre"}, {"octubre"}, {"noviembre"}, {"diciembre"}},
	"en": {{"january"}, {"february"}, {"march"}, {"april"}, {"may"}, {"june"}, {"july"}, {"august"}, {"september"}, {"october"}, {"november"}, {"december"}},
	"fr": {{"janvier"}, {"fevrier"}, {"mars"}, {"avril"}, {"mai"}, {"juin"}, {"juillet"}, {"aout"}, {"septembre"}, {"octobre"}, {"novembre"}, {"decembre"}},
	"pt": {{"janeiro"}, {"fevereiro"}, {"marco"}, {"abril"}, {"maio"}, {"junho"}, {"julho"}, {"agosto"}, {"setembro"}, {"outubro"}, {"novembro"}, {"dezembro"}},
	"ht": {{"janvye"}, {"fevriye"}, {"mas"}, {"avril"}, {"me"}, {"jen"}, {"jiye"}, {"out"}, {"septanm"}, {"oktob"}, {"novanm"}, {"desanm"}},
}

// monthWord is the month (1–12) a typed word names: in the person's language
// first, else, for a word of four letters or more, in any of the others when
// they all agree; 0 for none. Short words are the person's language only:
// "out" is August in Kreyòl and October in Portuguese, and "me" and "mas"
// (Kreyòl May and March) are Spanish words too.
func monthWord(w, lang string) int {
	if m := monthIn(w, monthNames[lang]); m > 0 {
		return m
	}
	if len(w) < 4 {
		return 0
	}
	found := 0
	for l, months := range monthNames {
		if l == lang {
			continue
		}
		switch m := monthIn(w, months); {
		case m == 0:
		case found == 0:
			found = m
		case found != m:
			return 0
		}
	}
	return found
}

// monthIn is the one month of months that w is, or starts, or 0.
func monthIn(w string, months [][]string) int {
	found := 0
	for i, names := range months {
		for _, name := range names {
			if w == name || len(w) >= 3 && strings.HasPrefix(name, w) {
				if found != 0 && found != i+1 {
					return 0
				}
				found = i + 1
			}
		}
	}
	return found
}

// parseMonth reads a month and year as people write them: with numbers
// ("3/2026", "03-2026", "3 2026", "2026-03"), with the month's name in any
// of the five languages ("marzo 2026", "sept. 2026", "en octobre 2025"), or
// a year alone ("2025"). A day in front is left out ("15 de marzo de 2026").
// It refuses a month in the future, and a month named with no year.
func parseMonth(typed, lang string, now time.Time) (string, bool) {
	var nums []int
	month, named := 0, false
	for _, part := range typedParts(typed) {
		if n, err := strconv.Atoi(part); err == nil {
			nums = append(nums, n)
		} else if m := monthWord(part, lang); m > 0 && !named {
			month, named = m, true
		}
	}
	year := 0
	switch {
	case named && len(nums) == 1:
		year = nums[0]
	case named && len(nums) == 2: // a day and a year
		year = nums[1]
		if nums[0] > 31 {
			year = nums[0]
		}
	case named:
		return "", false
	case len(nums) == 1:
		year = nums[0]
	case len(nums) == 2:
		month, year = nums[0], nums[1]
		if month > 12 {
			month, year = year, month
		}
		if month < 1 || month > 12 {
			return "", false
		}
	default:
		return "", false
	}
	if len(nums) == 2 || named {
		if year < 100 {
			year += 2000
		}
	}
	if year < now.Year()-80 || year > now.Year() || (year == now.Year() && month > int(now.Month())) {
		return "", false
	}
	if month == 0 {
		return strconv.Itoa(year), true
	}
	return strconv.Itoa(year) + "-" + twoDigits(month), true
}

// typedParts are the words and numbers of a typed text, normalized, a word
// split where letters meet digits: "Sept.2026, unos 17" → "sept", "2026",
// "unos", "17".
func typedParts(typed string) []string {
	var out []string
	for _, w := range strings.Fields(textmatch.Normalize(typed)) {
		out = append(out, splitDigits(w)...)
	}
	return out
}

// splitDigits splits a word where letters meet digits: "sept2026" → "sept",
// "2026".
func splitDigits(w string) []string {
	var out []string
	start, prev := 0, rune(0)
	for i, r := range w {
		if i > start && unicode.IsDigit(r) != unicode.IsDigit(prev) {
			out = append(out, w[start:i])
			start = i
		}
		prev = r
	}
	return append(out, w[start:])
}
