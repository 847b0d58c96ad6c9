package staff

import (
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings: the defaults every authenticator app understands.
const (
	totpPeriod = 30 * time.Second
	totpSkew   = 1 // steps either side of now, for a phone's clock a little off
	// Issuer is shown in the staff member's authenticator app.
	Issuer = "Enlace"
)

var totpOpts = totp.ValidateOpts{Period: uint(totpPeriod / time.Second), Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// newTOTPKey makes a new random TOTP secret for a login name.
func newTOTPKey(name string) (*otp.Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: Issuer, AccountName: name, SecretSize: 20})
	if err != nil {
		return nil, fmt.Errorf("staff: totp secret: %w", err)
	}
	return k, nil
}

// totpURI is the otpauth:// URI of a secret (what a QR code holds).
func totpURI(name, secret string) string {
	k, err := otp.NewKeyFromURL(fmt.Sprintf("otpauth://totp/%s:%s?secret=%s&issuer=%s&algorithm=SHA1&digits=6&period=30",
		Issuer, name, secret, Issuer))
	if err != nil {
		return ""
	}
	return k.URL()
}

// matchTOTP returns the time step the code is valid for at now (within the
// skew), or 0. A step at or before last (the last one accepted) never matches:
// a code is accepted once.
func matchTOTP(secret, code string, now time.Time, last int64) int64 {
	code = strings.Join(strings.Fields(code), "")
	if len(code) != 6 {
		return 0
	}
	step := now.Unix() / int64(totpPeriod/time.Second)
	var found int64
	for d := int64(-totpSkew); d <= totpSkew; d++ {
		s := step + d
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*int64(totpPeriod/time.Second), 0), totpOpts)
		if err != nil {
			return 0
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > last && found == 0 {
			found = s
		}
	}
	return found
}

// TOTPCode returns the code of secret at t, as an authenticator app shows it
// (for tests and the CLI's self-check).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, totpOpts)
}
