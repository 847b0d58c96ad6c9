package locales

import "unicode/utf16"

// SMS limits, in septets (GSM-7) or UTF-16 code units (UCS-2). A message that
// needs more than one part loses room in each part to the concatenation header.
const (
	gsmSingle  = 160
	gsmPart    = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// gsmBasic is the GSM 03.38 / 3GPP TS 23.038 default alphabet: one septet each.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension holds the extension table's characters: an escape plus the
// character, two septets each.
const gsmExtension = "\f^{}\\[~]|€"

var gsmCost = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// SMSSegments counts the SMS parts s is sent in, and whether it needs UCS-2.
//
// Text made only of the GSM-7 default alphabet is sent in septets: up to 160 in
// one part, else 153 per part, with extension characters (^ { } \ [ ] ~ | € and
// form feed) costing two septets that are never split across parts. Any other
// character (á, ç, ê, emoji...) switches the whole text to UCS-2: up to 70
// UTF-16 code units in one part, else 67 per part, a surrogate pair (emoji)
// counting two units and never split. The empty string needs 0 parts.
func SMSSegments(s string) (segments int, ucs2 bool) {
	if s == "" {
		return 0, false
	}
	costs := make([]int, 0, len(s))
	total := 0
	for _, r := range s {
		c, ok := gsmCost[r]
		if !ok {
			ucs2 = true
			break
		}
		costs = append(costs, c)
		total += c
	}
	single, part := gsmSingle, gsmPart
	if ucs2 {
		single, part = ucs2Single, ucs2Part
		costs, total = costs[:0], 0
		for _, r := range s {
			c := utf16.RuneLen(r) // 2 for a surrogate pair; invalid UTF-8 reads as U+FFFD, 1
			costs = append(costs, c)
			total += c
		}
	}
	if total <= single {
		return 1, ucs2
	}
	segments, used := 1, 0
	for _, c := range costs {
		if used+c > part {
			segments++
			used = 0
		}
		used += c
	}
	return segments, ucs2
}
