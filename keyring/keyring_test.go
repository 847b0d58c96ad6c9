package keyring_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/keyring"
)

const (
	k1 = "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	k2 = "k2:HyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
)

func ring(t *testing.T, spec string) *keyring.Keyring {
	t.Helper()
	k, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealOpen(t *testing.T) {
	k := ring(t, k1)
	plain := []byte("+50937001234 está en Tapachula")
	sealed := k.Seal("session", plain)
	if bytes.Contains(sealed, []byte("50937001234")) || bytes.Contains(sealed, []byte("Tapachula")) {
		t.Fatal("sealed record contains plaintext")
	}
	if keyring.KeyID(sealed) != "k1" {
		t.Errorf("key id: got %q, want k1", keyring.KeyID(sealed))
	}
	got, err := k.Open("session", sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: got %q, %v", got, err)
	}
	if bytes.Equal(sealed, k.Seal("session", plain)) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}
	if _, err := k.Open("reply", sealed); err == nil {
		t.Error("a session record opened as a reply")
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.Open("session", tampered); err == nil {
		t.Error("tampered record opened")
	}
}

func TestRotation(t *testing.T) {
	old := ring(t, k1)
	sealed := old.Seal("session", []byte("hola"))
	rotated := ring(t, k2+","+k1)
	if rotated.CurrentKeyID() != "k2" {
		t.Fatalf("current key: got %q, want k2", rotated.CurrentKeyID())
	}
	if got, err := rotated.Open("session", sealed); err != nil || string(got) != "hola" {
		t.Fatalf("old record after rotation: got %q, %v", got, err)
	}
	if id := keyring.KeyID(rotated.Seal("session", []byte("x"))); id != "k2" {
		t.Errorf("new records sealed with %q, want k2", id)
	}
	if _, err := ring(t, k2).Open("session", sealed); !errors.Is(err, keyring.ErrNoKey) {
		t.Errorf("record of a dropped key: got %v, want ErrNoKey", err)
	}
}

func TestHash(t *testing.T) {
	k := ring(t, k1)
	a, b := k.Hash("address", "sms:+50937001234"), k.Hash("address", "sms:+50937001235")
	if a == b || len(a) != 32 || strings.Contains(a, "509") && strings.Contains(a, "37001234") {
		t.Errorf("hashes: %q %q", a, b)
	}
	if a != k.Hash("address", "sms:+50937001234") {
		t.Error("hash is not stable")
	}
	if a == k.Hash("message", "sms:+50937001234") {
		t.Error("hash does not depend on its kind")
	}
	if a == ring(t, k2).Hash("address", "sms:+50937001234") {
		t.Error("hash does not depend on the key")
	}
}

func TestParseKeyringErrors(t *testing.T) {
	for _, spec := range []string{"", "nokey", "k1:notbase64!", "k1:AAEC", "bad id:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", k1 + "," + k1} {
		if _, err := keyring.Parse(spec); err == nil {
			t.Errorf("ParseKeyring(%q) accepted", spec)
		}
	}
	spec, err := keyring.NewSpec("k9")
	if err != nil {
		t.Fatal(err)
	}
	ring(t, spec)
}
