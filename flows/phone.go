package flows

import (
	"errors"
	"strings"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// Phone parsing errors.
var (
	// errNeedCountry means the number has no country code and the person's own
	// country is unknown (Telegram): ask which country it is from.
	errNeedCountry = errors.New("phone: country needed")
	// errBadPhone means the text is not a valid phone number.
	errBadPhone = errors.New("phone: invalid number")
)

// parsePhone reads a phone number as people type it ("044 55 1234 5678",
// "+504 9999-9999", "(502) 5555 1234", "55 1234 5678") and returns it in E.164.
// region is the person's own country, the default for numbers without a
// country code; "" when unknown.
func parsePhone(typed, region string) (string, error) {
	typed = strings.TrimSpace(typed)
	digits := onlyDigits(typed)
	if len(digits) < 6 || len(digits) > 17 {
		return "", errBadPhone
	}
	international := strings.HasPrefix(typed, "+") || strings.HasPrefix(digits, "00")
	if !international && region == "" {
		return "", errNeedCountry
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
	if num, ok := validPhone(typed, region); ok {
		return num, nil
	}
	if !international {
		// A country code typed without its "+": "(502) 5555 1234".
		if num, ok := validPhone("+"+digits, ""); ok {
			return num, nil
		}
	}
	return "", errBadPhone
}

func validPhone(s, region string) (string, bool) {
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", false
	}
	if phonenumbers.GetRegionCodeForNumber(num) == "MX" && !phonenumbers.IsValidNumber(num) {
		// "+52 1 55…": the "1" Mexican mobiles had after the country code until 2019.
		if nat := phonenumbers.GetNationalSignificantNumber(num); len(nat) == 11 && nat[0] == '1' {
			return validPhone("+52"+nat[1:], "")
		}
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", false
	}
	return phonenumbers.Format(num, phonenumbers.E164), true
}

// phoneExample is a valid mobile number of a country, written as people
// should type it: "+52 222 123 4567".
func phoneExample(region string) string {
	if region == "" {
		region = "MX"
	}
	num := phonenumbers.GetExampleNumberForType(region, phonenumbers.MOBILE)
	if num == nil {
		num = phonenumbers.GetExampleNumberForType("MX", phonenumbers.MOBILE)
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

// phoneDisplay writes an E.164 number the way people read it: "+52 55 1234 5678".
func phoneDisplay(e164 string) string {
	num, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

func onlyDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else if unicode.IsDigit(r) {
			return "" // other scripts' digits: not a number we can read
		}
	}
	return b.String()
}
