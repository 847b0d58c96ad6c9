package flows

import "github.com/enlace-rfl/enlace/phone"

// The engine reads numbers through package phone, the one home of that rule.
var (
	// errNeedCountry means the number has no country code and the person's own
	// country is unknown (Telegram): ask which country it is from.
	errNeedCountry = phone.ErrNeedCountry
	// errBadPhone means the text is not a valid phone number.
	errBadPhone = phone.ErrInvalid
)

// parsePhone reads a phone number as people type it and returns it in E.164
// (see phone.Parse). region is the person's own country, "" when unknown.
func parsePhone(typed, region string) (string, error) { return phone.Parse(typed, region) }

// phoneExample is a valid mobile number of a country, as people should type it.
func phoneExample(region string) string { return phone.Example(region) }

// phoneDisplay writes an E.164 number the way people read it.
func phoneDisplay(e164 string) string { return phone.Display(e164) }

func onlyDigits(s string) string { return phone.OnlyDigits(s) }
