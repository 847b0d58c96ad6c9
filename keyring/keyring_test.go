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
	k3 = "k3:PyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5Ojs8PT4="
	// alice and bob are two people's keyed hashes, the owners of records.
	alice = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1"
	bob   = "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0"
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
	sealed := k.Seal("session", alice, plain)
	if bytes.Contains(sealed, []byte("50937001234")) || bytes.Contains(sealed, []byte("Tapachula")) {
		t.Fatal("sealed record contains plaintext")
	}
	if keyring.KeyID(sealed) != "k1" {
		t.Errorf("key id: got %q, want k1", keyring.KeyID(sealed))
	}
	got, err := k.Open("session", alice, sealed)
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("open: got %q, %v", got, err)
	}
	if bytes.Equal(sealed, k.Seal("session", alice, plain)) {
		t.Error("two seals of the same plaintext are equal: nonce reused")
	}
	if _, err := k.Open("reply", alice, sealed); err == nil {
		t.Error("a session record opened as a reply")
	}
	if _, err := k.Open("session", bob, sealed); err == nil {
		t.Error("alice's session opened as bob's")
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	if _, err := k.Open("session", alice, tampered); err == nil {
		t.Error("tampered record opened")
	}
}

func TestRotation(t *testing.T) {
	old := ring(t, k1)
	sealed := old.Seal("session", alice, []byte("hola"))
	rotated := ring(t, k2+","+k1)
	if rotated.CurrentKeyID() != "k2" {
		t.Fatalf("current key: got %q, want k2", rotated.CurrentKeyID())
	}
	if got, err := rotated.Open("session", alice, sealed); err != nil || string(got) != "hola" {
		t.Fatalf("old record after rotation: got %q, %v", got, err)
	}
	if id := keyring.KeyID(rotated.Seal("session", alice, []byte("x"))); id != "k2" {
		t.Errorf("new records sealed with %q, want k2", id)
	}
	if _, err := ring(t, k2).Open("session", alice, sealed); !errors.Is(err, keyring.ErrNoKey) {
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

// TestHashNeverMoves: the hash a deployment started with stays through
// rotations (a key added in front), and through retiring its key (the entry
// renamed "hash"); a named hashing key never seals.
func TestHashNeverMoves(t *testing.T) {
	const addr = "tel:+50937001234"
	want := ring(t, k1).Hash("address", addr)
	hashOnly := "hash:" + strings.TrimPrefix(k1, "k1:")
	for _, spec := range []string{k2 + "," + k1, k3 + "," + k2 + "," + k1, k3 + "," + k2 + "," + hashOnly, hashOnly + "," + k3} {
		k := ring(t, spec)
		if got := k.Hash("address", addr); got != want {
			t.Errorf("%s: hash moved", spec)
		}
		if k.CurrentKeyID() == keyring.HashID || k.Holds(keyring.HashID) {
			t.Errorf("%s: the hashing key seals or opens", spec)
		}
	}
	if k := ring(t, k2+","+hashOnly); k.HashKeyID() != keyring.HashID || k.CurrentKeyID() != "k2" {
		t.Errorf("hash from %q, current %q", k.HashKeyID(), k.CurrentKeyID())
	}
	if _, err := keyring.Parse(hashOnly); err == nil {
		t.Error("a spec with only the hashing key was accepted")
	}
	if _, err := keyring.Parse(hashOnly + "," + k2 + "," + hashOnly); err == nil {
		t.Error("two hashing keys were accepted")
	}
}

func TestReseal(t *testing.T) {
	old := ring(t, k1)
	sealed := old.Seal("session", alice, []byte("hola"))
	k := ring(t, k2+","+k1)
	again, changed, err := k.Reseal("session", alice, sealed)
	if err != nil || !changed || keyring.KeyID(again) != "k2" {
		t.Fatalf("reseal: %v %v %q", changed, err, keyring.KeyID(again))
	}
	if got, err := ring(t, k2).Open("session", alice, again); err != nil || string(got) != "hola" {
		t.Fatalf("resealed record without the old key: %q %v", got, err)
	}
	if same, changed, err := k.Reseal("session", alice, again); err != nil || changed || string(same) != string(again) {
		t.Errorf("resealing a current record: changed %v, %v", changed, err)
	}
	if _, _, err := k.Reseal("session", bob, sealed); err == nil {
		t.Error("resealed alice's record as bob's")
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
