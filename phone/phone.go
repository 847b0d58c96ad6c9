// Package phone is Enlace's one home for reading phone numbers: as people
// type them, and as providers give them. Every number Enlace holds is a valid
// number in E.164 (libphonenumber's metadata), so normalising is idempotent
// and one phone is one number, whatever wrote it.
package phone

import (
	"errors"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

var (
	// ErrNeedCountry means the number has no country code and no default
	// country was given: ask which country it is from.
	ErrNeedCountry = errors.New("phone: country needed")
	// ErrInvalid means the text is not a valid phone number.
	ErrInvalid = errors.New("phone: invalid number")
)

// Parse reads a number as people type it ("044 55 1234 5678", "+504 9999-9999",
// "(502) 5555 1234", "55 1234 5678") and returns it in E.164. region is the
// person's own country, the default for numbers without a country code; ""
// when unknown.
func Parse(typed, region string) (string, error) {
	typed = strings.TrimSpace(typed)
	digits := OnlyDigits(typed)
	if len(digits) < 6 || len(digits) > 17 {
		return "", ErrInvalid
	}
	international := strings.HasPrefix(typed, "+") || strings.HasPrefix(digits, "00")
	if !strings.HasPrefix(typed, "+") && strings.HasPrefix(digits, "00") {
		// "00504 9999 9999": the international prefix most of the route dials,
		// which the parser reads only with a region to dial from.
		typed = "+" + digits[2:]
	}
	if !international && region == "" {
		return "", ErrNeedCountry
	}
	if !international && region == "MX" {
		// Mexico's old mobile prefixes 044 and 045 (and the long-distance 01)
		// were dropped in 2019 but people still type them; libphonenumber does
		// not strip them, so "044 55 1234 5678" would be invalid.
		for _, p := range []string{"044", "045", "01"} {
			if strings.HasPrefix(digits, p) && len(digits) == len(p)+10 {
				digits = digits[len(p):]
				typed = digits
				break
			}
		}
	}
	if num, ok := valid(typed, region); ok {
		return num, nil
	}
	if !international {
		// A country code typed without its "+": "(502) 5555 1234".
		if num, ok := valid("+"+digits, ""); ok {
			return num, nil
		}
	}
	return "", ErrInvalid
}

// Normalize reads a number a provider gives in international form ("+52…",
// as Twilio writes From and To) and returns it in E.164, or ErrInvalid when it
// is not a valid number. Normalize(Normalize(s)) == Normalize(s).
func Normalize(s string) (string, error) {
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "+") {
		return "", ErrInvalid
	}
	num, ok := valid(s, "")
	if !ok {
		return "", ErrInvalid
	}
	return num, nil
}

// valid parses s and returns it in E.164 when it is a valid number. This is
// the one place of the Mexican "+52 1" rule: until 2019 Mexican mobiles had a
// "1" after the country code, and WhatsApp still writes them so (+52 1 55…);
// without it, the same phone on SMS and on WhatsApp is one number.
func valid(s, region string) (string, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", false
	}
	if num.GetCountryCode() == 52 && !phonenumbers.IsValidNumber(num) {
		if nat := phonenumbers.GetNationalSignificantNumber(num); len(nat) == 11 && nat[0] == '1' {
			return valid("+52"+nat[1:], "")
		}
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// Example is a valid mobile number of a country, written as people should
// type it: "+52 222 123 4567". Mexico's for an unknown country.
func Example(region string) string {
	if region == "" {
		region = "MX"
	}
	num := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
	if num == nil {
		num = phonenumbers.GetExampleNumberForType("MX", phonenumbers.MOBILE)
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// Display writes an E.164 number the way people read it: "+52 55 1234 5678".
func Display(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// OnlyDigits returns the ASCII digits of s, or "" when s holds digits of
// another script (not a number Enlace can read).
func OnlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if unicode.IsDigit(r) {
			return ""
		}
	}
	return b.String()
}
