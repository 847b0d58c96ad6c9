package tracing

import (
	"errors"
	"strings"
	"testing"
)

func TestNewCode(t *testing.T) {
	seen := map[Code]bool{}
	for range 2000 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		if !c.Valid() || len(c) != 7 {
			t.Fatalf("NewCode() = %q, not valid", c)
		}
		if seen[c] {
			t.Fatalf("NewCode() repeated %q in 2000 draws", c)
		}
		seen[c] = true
		back, err := ParseCode(c.String())
		if err != nil || back != c {
			t.Fatalf("ParseCode(%q) = %q, %v", c.String(), back, err)
		}
	}
}

func TestCodeAlphabet(t *testing.T) {
	if len(CodeAlphabet) != 23 {
		t.Fatalf("alphabet has %d symbols; the check needs a prime (23)", len(CodeAlphabet))
	}
	for _, r := range "0O1IL" {
		if strings.ContainsRune(CodeAlphabet, r) {
			t.Errorf("alphabet contains %q", r)
		}
	}
	for from, to := range readAs {
		if strings.ContainsRune(CodeAlphabet, from) || !strings.ContainsRune(CodeAlphabet, to) {
			t.Errorf("readAs %q → %q: the first must be outside the alphabet, the second in it", from, to)
		}
	}
}

func TestParseCode(t *testing.T) {
	const c = Code("7K3D9MP")
	if !c.Valid() {
		// Find the right check symbol for the fixture once, so the table reads well.
		t.Fatalf("fixture %s invalid; check symbol should be %c", c, checkSymbol([]byte(c[:6])))
	}
	cases := []struct {
		in   string
		want Code
		err  error
	}{
		{"RFL-7K3D-9MP", c, nil},
		{"rfl-7k3d-9mp", c, nil},
		{"RFL 7K3D 9MP", c, nil},
		{"  7k3d9mp ", c, nil},
		{"RFL7K3D9MP", c, nil},
		{"7K3D-9MP", c, nil},
		{"rfl.7k3d.9mp", c, nil},
		{"RFL–7K3D–9MP", c, nil},             // en dashes from a copied text
		{"RFL-7K30-9MP", c, nil},             // 0 typed for D
		{"RFL-7K3O-9MP", c, nil},             // O typed for D
		{"RFL-7K3D-9NP", c, nil},             // N heard for M
		{"RF1-7K3D-9MP", c, nil},             // a 1 in the prefix
		{"RFL-7K3D-9M2", "", ErrCodeCheck},   // last symbol wrong
		{"RFL-K73D-9MP", "", ErrCodeCheck},   // two swapped
		{"RFL-7K3D-MP9", "", ErrCodeCheck},   // two swapped
		{"RFL-7K3D-9M", "", ErrCodeFormat},   // one missing
		{"RFL-7K3D-9MP4", "", ErrCodeFormat}, // one too many
		{"RFL-7K3D-9LP", "", ErrCodeFormat},  // L is no symbol
		{"RFL-7K3Ñ-9MP", "", ErrCodeFormat},
		{"", "", ErrCodeFormat},
		{"1234", "", ErrCodeFormat},
		{"+52 55 1234 5678", "", ErrCodeFormat},
		{strings.Repeat("7", 100), "", ErrCodeFormat},
	}
	for _, tc := range cases {
		got, err := ParseCode(tc.in)
		if got != tc.want || !errors.Is(err, tc.err) {
			t.Errorf("ParseCode(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
		}
	}
}

// TestCheckCatchesEverySingleErrorAndTransposition tries every substitution of
// every symbol and every swap of two symbols (neighbours or not) on many codes.
func TestCheckCatchesEverySingleErrorAndTransposition(t *testing.T) {
	for range 200 {
		c, err := NewCode()
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(c)
		for i := range b {
			orig := b[i]
			for j := 0; j < len(CodeAlphabet); j++ {
				if CodeAlphabet[j] == orig {
					continue
				}
				b[i] = CodeAlphabet[j]
				if Code(b).Valid() {
					t.Fatalf("substitution %s → %s at %d not caught", c, b, i)
				}
			}
			b[i] = orig
			for k := i + 1; k < len(b); k++ {
				if b[i] == b[k] {
					continue
				}
				b[i], b[k] = b[k], b[i]
				if Code(b).Valid() {
					t.Fatalf("swap of %d and %d in %s not caught", i, k, c)
				}
				b[i], b[k] = b[k], b[i]
			}
		}
	}
}

func FuzzParseCode(f *testing.F) {
	for _, s := range []string{"RFL-7K3D-9MP", "rfl 7k3o 9n4", "", "RFL-", "1234", "RFL-ÑÑÑÑ-ÑÑÑ", "\x00\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseCode(s)
		if err != nil {
			if c != "" {
				t.Fatalf("error %v with code %q", err, c)
			}
			if !errors.Is(err, ErrCodeFormat) && !errors.Is(err, ErrCodeCheck) {
				t.Fatalf("unexpected error kind %v", err)
			}
			return
		}
		if !c.Valid() {
			t.Fatalf("ParseCode(%q) = invalid %q", s, c)
		}
		if again, err := ParseCode(c.String()); err != nil || again != c {
			t.Fatalf("round trip of %q: %q, %v", c, again, err)
		}
	})
}
