package locales

import (
	"strings"
	"testing"
)

func TestSMSSegments(t *testing.T) {
	a := func(n int) string { return strings.Repeat("a", n) }
	á := func(n int) string { return strings.Repeat("á", n) }
	tests := []struct {
		name     string
		in       string
		segments int
		ucs2     bool
	}{
		{"empty", "", 0, false},
		{"one char", "a", 1, false},
		{"160 GSM chars fit one part", a(160), 1, false},
		{"161 GSM chars need two parts", a(161), 2, false},
		{"306 GSM chars fill two parts of 153", a(306), 2, false},
		{"307 GSM chars need three parts", a(307), 3, false},
		{"459 GSM chars fill three parts", a(459), 3, false},
		{"460 GSM chars need four parts", a(460), 4, false},
		{"GSM accents and symbols stay GSM-7", "éèùìòÇØøÅåÄÖÑÜ§¿¡àäöñüÉÆæßΔΦΓΛΩΠΨΣΘΞ£¥¤@$_\r\n", 1, false},
		{"Kreyòl uses GSM letters", "Mwen dakò, mèsi", 1, false},
		{"euro costs two septets: 158+2 fits", a(158) + "€", 1, false},
		{"euro costs two septets: 159+2 does not", a(159) + "€", 2, false},
		{"every extension char costs two", a(150) + "^{}\\[~]|\f", 2, false}, // 150 + 9*2 = 168
		{"extension chars at 160 exactly", a(142) + "^{}\\[~]|\f", 1, false}, // 142 + 18 = 160
		{"escape pair is not split across parts", a(152) + "€" + a(152), 3, false},
		{"escape pair fits the part end exactly", a(151) + "€" + a(153), 2, false},
		{"one á switches to UCS-2", a(69) + "á", 1, true},
		{"70 UCS-2 units fit one part", á(70), 1, true},
		{"71 UCS-2 units need two parts", á(71), 2, true},
		{"a GSM text of 71 chars becomes two parts with one á", a(70) + "á", 2, true},
		{"134 UCS-2 units fill two parts of 67", á(134), 2, true},
		{"135 UCS-2 units need three parts", á(135), 3, true},
		{"lower-case ç is not GSM", "ça", 1, true},
		{"ê is not GSM", "Português", 1, true},
		{"emoji is a surrogate pair: 35 fit", strings.Repeat("😀", 35), 1, true},
		{"emoji is a surrogate pair: 36 do not", strings.Repeat("😀", 36), 2, true},
		{"69 units plus an emoji is 71", á(69) + "😀", 2, true},
		{"surrogate pair is not split across parts", á(66) + "😀" + á(66), 3, true},
		{"euro inside UCS-2 is one unit", á(69) + "€", 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, gotUCS2 := SMSSegments(tt.in)
			if got != tt.segments || gotUCS2 != tt.ucs2 {
				t.Errorf("SMSSegments(%d runes) = %d, %v; want %d, %v", len([]rune(tt.in)), got, gotUCS2, tt.segments, tt.ucs2)
			}
		})
	}
}
