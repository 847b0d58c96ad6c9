package tracing

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
)

// CodeAlphabet is the 23 symbols a case code is written with. It leaves out what a
// person misreads on a small screen, mishears on a bad line or copies wrongly from
// a handwritten note, in Spanish, French and Creole:
//
//	0 O Q D-like rounds: only D is kept (0, O and Q are read as D)
//	1 I L: all left out (nothing is kept that looks like a stroke)
//	2 Z, 5 S, 6 G: the digits are kept (Z, S and G are read as 2, 5 and 6);
//	  G also sounds like J in French ("jé"/"ji")
//	B V: B is kept (Spanish says both "be"; V is read as B)
//	M N: M is kept ("eme"/"ene" over a bad line; N is read as M)
//	U V Y: left out (U and V look alike handwritten; Y has three names in
//	  Spanish and looks like V)
//
// 23 is prime, which is what makes the check character below catch every single
// substitution and every transposition.
const CodeAlphabet = "23456789ABCDEFHJKMPRTWX"

// CodePrefix starts every case code, so a person (and a caseworker) can tell a
// tracing code from a phone number or a PIN.
const CodePrefix = "RFL"

const (
	codeRandom = 6              // random symbols: 23^6 ≈ 148 million codes
	codeLen    = codeRandom + 1 // plus the check symbol
)

// readAs maps a character a person may type by mistake to the symbol it stands for.
// The check character then confirms the guess or refuses the code: a wrong guess
// can only make a code be refused, never make it name another case (except with
// the 1-in-23 chance any unchecked error has).
var readAs = map[rune]rune{
	'0': 'D', 'O': 'D', 'Q': 'D',
	'Z': '2', 'S': '5', 'G': '6',
	'V': 'B', 'N': 'M',
}

// codeValue[c] is the value of symbol c, or -1.
var codeValue = func() [256]int8 {
	var v [256]int8
	for i := range v {
		v[i] = -1
	}
	for i := 0; i < len(CodeAlphabet); i++ {
		v[CodeAlphabet[i]] = int8(i)
	}
	return v
}()

// Code is a case code in its canonical form, e.g. "RFL-7K3Q-9M2" without the
// dashes: seven symbols of CodeAlphabet, the last a check symbol. The zero Code is
// not valid.
type Code string

// Errors ParseCode returns; both are wrapped with what was wrong.
var (
	// ErrCodeFormat means the text is not shaped like a case code (length or a
	// character no code has).
	ErrCodeFormat = errors.New("tracing: not a case code")
	// ErrCodeCheck means the text is shaped like a code but its check symbol is
	// wrong: a symbol was mistyped or two were swapped.
	ErrCodeCheck = errors.New("tracing: case code check symbol does not match")
)

// NewCode draws a new random code from crypto/rand. Codes are not secret (the PIN
// is), but random codes cannot be guessed from one another. The caller makes sure
// the code is not in use yet and draws again if it is.
func NewCode() (Code, error) {
	var buf [codeRandom]byte
	body := make([]byte, 0, codeLen)
	for len(body) < codeRandom {
		if _, err := rand.Read(buf[:]); err != nil {
			return "", fmt.Errorf("tracing: drawing a case code: %w", err)
		}
		for _, b := range buf {
			// 253 = 11*23: reject the last 3 byte values so every symbol is equally likely.
			if b < 253 && len(body) < codeRandom {
				body = append(body, CodeAlphabet[int(b)%len(CodeAlphabet)])
			}
		}
	}
	return Code(append(body, checkSymbol(body))), nil
}

// checkSymbol returns the symbol that makes the weighted sum of the code zero
// modulo 23, with weights 7, 6, …, 1 from the first symbol to the check symbol.
//
// Why this check: with a prime modulus and distinct non-zero weights, a single
// substitution changes the sum by w·(a−b) ≠ 0 and a transposition of positions i
// and j by (wᵢ−wⱼ)·(a−b) ≠ 0 (mod 23), so both are always caught, adjacent or not;
// so is a "twin" error (aa→bb), since no two neighbouring weights sum to 23. Luhn
// mod N misses one transposition pair and Damm needs a 23×23 table; this is the
// ISO 7064 idea with a prime alphabet, small enough to check by hand.
func checkSymbol(body []byte) byte {
	sum := 0
	for i, c := range body {
		sum += (codeLen - i) * int(codeValue[c])
	}
	// The check symbol has weight 1: choose it so the total is 0 mod 23.
	return CodeAlphabet[(23-sum%23)%23]
}

// String formats the code the way it is shown and read aloud: RFL-XXXX-XXX.
func (c Code) String() string {
	if len(c) != codeLen {
		return string(c)
	}
	return CodePrefix + "-" + string(c[:4]) + "-" + string(c[4:])
}

// Valid reports whether c is a canonical code with a correct check symbol.
func (c Code) Valid() bool {
	if len(c) != codeLen {
		return false
	}
	sum := 0
	for i := 0; i < codeLen; i++ {
		v := codeValue[c[i]]
		if v < 0 {
			return false
		}
		sum += (codeLen - i) * int(v)
	}
	return sum%23 == 0
}

// ParseCode reads a case code as a person types it: any case, with or without the
// RFL prefix, with spaces, dashes, dots or none ("rfl 7k3q 9m2", "7K3Q9M2",
// "RFL-7K3Q-9M2"), and with the look-alikes the alphabet leaves out read as the
// symbol they stand for (O→D, S→5, V→B…). It refuses a code whose check symbol
// does not match (ErrCodeCheck) and anything else that is not a code
// (ErrCodeFormat).
func ParseCode(s string) (Code, error) {
	if len(s) > 64 {
		return "", fmt.Errorf("%w: too long", ErrCodeFormat)
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case ' ', '-', '.', '_', '\t', '\n', '\r', '/', '\u00a0', '\u2010', '\u2011', '\u2012', '\u2013', '\u2014':
			continue
		}
		b.WriteRune(r)
	}
	t := b.String()
	// The prefix is optional; "RFL" can only be a prefix, since L is no symbol.
	for _, p := range []string{CodePrefix, "RF1", "RFI"} {
		if strings.HasPrefix(t, p) {
			t = t[len(p):]
			break
		}
	}
	if len(t) != codeLen {
		return "", fmt.Errorf("%w: %d symbols, want %d", ErrCodeFormat, len(t), codeLen)
	}
	out := make([]byte, codeLen)
	for i, r := range t {
		if m, ok := readAs[r]; ok {
			r = m
		}
		if r >= 128 || codeValue[r] < 0 {
			return "", fmt.Errorf("%w: %q is not used in codes", ErrCodeFormat, r)
		}
		out[i] = byte(r)
	}
	c := Code(out)
	if !c.Valid() {
		return "", ErrCodeCheck
	}
	return c, nil
}
