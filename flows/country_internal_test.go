package flows

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// parsedRegion is GuessCountry by the parser alone.
func parsedRegion(addr string) string {
	num, err := phonenumbers.Parse(addr, "")
	if err != nil {
		return ""
	}
	return phonenumbers.GetRegionCodeForNumber(num)
}

// TestSoleRegionAgreesWithTheParser: for every calling code of one region,
// numbers of every length the shortcut takes (random digits, all zeros,
// all nines, leading zeros) get the parser's answer; the codes shared by
// several regions (+1, +7, +44…) and other addresses are left to it.
func TestSoleRegionAgreesWithTheParser(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 7))
	checked := 0
	for code := 1; code <= 999; code++ {
		regions := phonenumbers.GetRegionCodesForCountryCode(code)
		if len(regions) == 0 {
			continue
		}
		cc := strconv.Itoa(code)
		for n := 6; n <= 15; n++ {
			rest := n - len(cc)
			if rest < 0 {
				continue
			}
			samples := []string{strings.Repeat("0", rest), strings.Repeat("9", rest)}
			for range 30 {
				var b strings.Builder
				for range rest {
					b.WriteByte(byte('0' + rng.IntN(10)))
				}
				samples = append(samples, b.String())
			}
			for _, s := range samples {
				addr := "+" + cc + s
				got, ok := soleRegion(addr)
				if ok != (len(regions) == 1) {
					t.Fatalf("%s: shortcut taken %v for %d regions", addr, ok, len(regions))
				}
				if !ok {
					continue
				}
				if want := parsedRegion(addr); got != want {
					t.Errorf("%s: shortcut %q, parser %q", addr, got, want)
				}
				checked++
			}
		}
	}
	if checked < 50000 {
		t.Fatalf("only %d numbers checked", checked)
	}
	for _, addr := range []string{"+", "+5", "+52155", "+5215512345678901", "+52 155 1234", "+52-1551234567", "+0123456789", "+1555123456", "+4420712345"} {
		if r, ok := soleRegion(addr); ok {
			t.Errorf("%q: shortcut answered %q; the parser decides it", addr, r)
		}
	}
	for _, tc := range []struct{ addr, want string }{
		{"+5215512345678", "MX"}, {"+50255551234", "GT"}, {"+50934561234", "HT"}, {"+50371234567", "SV"},
		{"+12125551234", "US"}, {"+15145551234", "CA"}, {"+447400123456", "GB"},
	} {
		if got := GuessCountry(Sender{Address: tc.addr}); got != tc.want {
			t.Errorf("GuessCountry(%s) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}
