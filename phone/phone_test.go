package phone

import (
	"errors"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		err      error
	}{
		{"+525512345678", "+525512345678", nil},
		{"+5215512345678", "+525512345678", nil}, // WhatsApp's form of a Mexican mobile
		{" +50937001234 ", "+50937001234", nil},
		{"+14155238886", "+14155238886", nil},
		{"+200000000000", "", ErrInvalid}, // possible but not valid: lost a digit a pass before
		{"+20000000000", "", ErrInvalid},
		{"+521234", "", ErrInvalid},
		{"+52155123456789", "", ErrInvalid},
		{"5512345678", "", ErrInvalid}, // providers give international form only
		{"+", "", ErrInvalid},
		{"", "", ErrInvalid},
		{"+abc", "", ErrInvalid},
	} {
		got, err := Normalize(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil {
			if again, err := Normalize(got); again != got || err != nil {
				t.Errorf("Normalize(%q) = %q, %v; not idempotent", got, again, err)
			}
		}
	}
}

// TestParseAndNormalizeAgree: what Parse reads from a person is held the same
// way as what a provider gives for that phone.
func TestParseAndNormalizeAgree(t *testing.T) {
	for _, tc := range []struct{ typed, region, provider string }{
		{"044 55 1234 5678", "MX", "+5215512345678"},
		{"+52 1 55 1234 5678", "", "+525512345678"},
		{"3700-1234", "HT", "+50937001234"},
		// The international prefix 00, with no country to dial from (Telegram).
		{"00504 9999 9999", "", "+50499999999"},
		{"00 52 1 55 1234 5678", "", "+525512345678"},
		{"00509 3700 1234", "MX", "+50937001234"},
	} {
		a, err := Parse(tc.typed, tc.region)
		if err != nil {
			t.Fatalf("Parse(%q, %q): %v", tc.typed, tc.region, err)
		}
		b, err := Normalize(tc.provider)
		if err != nil || a != b {
			t.Errorf("Parse(%q) = %q but Normalize(%q) = %q, %v", tc.typed, a, tc.provider, b, err)
		}
	}
}

// FuzzNormalize checks that normalising never panics, that what it returns
// is valid E.164 and that a second pass changes nothing.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+525512345678", "+5215512345678", "+200000000000", "+1", "+52 1 55 1234 5678", "whatsapp:+52", "+٥٥١٢٣٤٥٦٧٨"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			return
		}
		if again, err := Normalize(n); again != n || err != nil {
			t.Fatalf("Normalize(%q) = %q, then %q, %v", s, n, again, err)
		}
		if parsed, err := Parse(n, ""); parsed != n || err != nil {
			t.Fatalf("Parse(Normalize(%q) = %q) = %q, %v", s, n, parsed, err)
		}
	})
}

// FuzzParse checks that reading a typed number never panics and that what it
// returns is held the same way as a provider's number.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"044 55 1234 5678", "+504 9999-9999", "(502) 5555 1234", "55 1234 5678", "00 52 1 55 1234 5678", "Rosa", ""} {
		f.Add(s, "MX")
		f.Add(s, "")
	}
	f.Fuzz(func(t *testing.T, typed, region string) {
		n, err := Parse(typed, region)
		if err != nil {
			return
		}
		if again, err := Normalize(n); again != n || err != nil {
			t.Fatalf("Parse(%q, %q) = %q, but Normalize gives %q, %v", typed, region, n, again, err)
		}
	})
}
