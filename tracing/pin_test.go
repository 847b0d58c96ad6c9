package tracing

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckPIN(t *testing.T) {
	cases := []struct {
		pin string
		err error
	}{
		{"4827", nil}, {"1985", nil}, {"270391", nil}, {"60714", nil}, {"0419", nil},
		{"123", ErrPINFormat}, {"1234567", ErrPINFormat}, {"12a4", ErrPINFormat}, {"", ErrPINFormat}, {"١٢٣٤", ErrPINFormat},
		{"0000", ErrPINTrivial}, {"999999", ErrPINTrivial}, {"1234", ErrPINTrivial}, {"4321", ErrPINTrivial},
		{"123456", ErrPINTrivial}, {"98765", ErrPINTrivial}, {"1212", ErrPINTrivial}, {"121212", ErrPINTrivial},
		{"2580", ErrPINTrivial}, {"6969", ErrPINTrivial},
	}
	for _, tc := range cases {
		if err := CheckPIN(tc.pin); !errors.Is(err, tc.err) {
			t.Errorf("CheckPIN(%q) = %v, want %v", tc.pin, err, tc.err)
		}
	}
}

func TestNormalizePIN(t *testing.T) {
	for in, want := range map[string]string{"4827": "4827", " 48 27 ": "4827", "4-8-2-7": "4827", "48.27": "4827", "48a7": "48a7"} {
		if got := NormalizePIN(in); got != want {
			t.Errorf("NormalizePIN(%q) = %q, want %q", in, got, want)
		}
	}
}

// cheap keeps the tests fast; one test below uses the default costs.
var cheap = PINParams{Time: 1, MemoryK: 64, Threads: 1}

func TestPINHashVerify(t *testing.T) {
	h := PINHasher{Pepper: []byte("0123456789abcdef0123456789abcdef"), Params: cheap}
	stored, err := h.Hash("4827")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, "4827") || !strings.HasPrefix(stored, "$enlace-pin-v1$v=19$m=64,t=1,p=1$") {
		t.Fatalf("stored %q", stored)
	}
	again, _ := h.Hash("4827")
	if again == stored {
		t.Fatal("two hashes of one PIN are equal: no salt")
	}
	for pin, want := range map[string]bool{"4827": true, "4828": false, "": false, "48270": false} {
		ok, err := h.Verify(stored, pin)
		if err != nil || ok != want {
			t.Errorf("Verify(%q) = %v, %v; want %v", pin, ok, err, want)
		}
	}
	// Another pepper (a copy of the store without the key) verifies nothing.
	other := PINHasher{Pepper: []byte("fedcba9876543210fedcba9876543210")}
	if ok, _ := other.Verify(stored, "4827"); ok {
		t.Fatal("verified under another pepper")
	}
	for _, bad := range []string{"", "4827", "$argon2id$v=19$m=64,t=1,p=1$AAAA$AAAA", strings.Replace(stored, "m=64", "m=99999999", 1),
		strings.Replace(stored, "t=1", "t=0", 1), stored[:len(stored)-4]} {
		if ok, err := h.Verify(bad, "4827"); ok || !errors.Is(err, ErrPINHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrPINHash", bad, ok, err)
		}
	}
	if _, err := h.Hash("1234"); !errors.Is(err, ErrPINTrivial) {
		t.Errorf("Hash(1234) = %v", err)
	}
	if _, err := (PINHasher{}).Hash("4827"); err == nil {
		t.Error("hashed without a pepper")
	}
}

func TestPINDefaultParams(t *testing.T) {
	h := PINHasher{Pepper: []byte("0123456789abcdef0123456789abcdef")}
	stored, err := h.Hash("4827")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored, "$m=19456,t=2,p=1$") {
		t.Fatalf("default params not used: %q", stored)
	}
	if ok, err := h.Verify(stored, "4827"); !ok || err != nil {
		t.Fatalf("Verify = %v, %v", ok, err)
	}
}

func TestPINGuard(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	var g PINGuard
	steps := []struct {
		at   time.Duration
		ok   bool
		want PINOutcome
		left int
	}{
		{0, false, PINWrong, 2},
		{time.Minute, true, PINAccepted, 3}, // a right PIN resets the count
		{2 * time.Minute, false, PINWrong, 2},
		{3 * time.Minute, false, PINWrong, 1},
		{4 * time.Minute, false, PINLockedNow, 3},
		{5 * time.Minute, true, PINLocked, 3}, // the right PIN while locked: refused, not counted
		{4*time.Minute + PINLockFor - time.Second, true, PINLocked, 3},
		{4*time.Minute + PINLockFor, false, PINWrong, 2}, // the lock ran out: a fresh count
		{4*time.Minute + PINLockFor + time.Second, true, PINAccepted, 3},
	}
	for i, s := range steps {
		now := t0.Add(s.at)
		if got := g.Attempt(s.ok, now); got != s.want || g.Remaining() != s.left {
			t.Fatalf("step %d: %v with %d left, want %v with %d", i, got, g.Remaining(), s.want, s.left)
		}
	}
	if g.Locked(t0.Add(10 * 24 * time.Hour)) {
		t.Error("locked long after")
	}
}

func BenchmarkPINVerify(b *testing.B) {
	h := PINHasher{Pepper: []byte("0123456789abcdef0123456789abcdef")}
	stored, _ := h.Hash("4827")
	for b.Loop() {
		if _, err := h.Verify(stored, "4828"); err != nil {
			b.Fatal(err)
		}
	}
}
