// Package keyring seals personal data with AES-256-GCM before it is stored and
// derives the keyed hash that turns an address (a phone number, a Telegram chat)
// into the opaque key records are found by. It is a leaf: it imports nothing of
// Enlace, so every layer may use it.
package keyring

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// sealVersion is the first byte of every sealed record, so the format can change.
const sealVersion = 1

// Keyring seals and opens records with AES-256-GCM and derives keyed hashes.
// It holds one current key, used to seal, and any number of older keys, still
// used to open, each named by a short key id written into every sealed record:
// rotating means adding a new current key and keeping the old ones until every
// record has been rewritten or has expired.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	hashKey []byte
}

// ErrNoKey means a sealed record names a key id the keyring does not hold.
var ErrNoKey = errors.New("keyring: record sealed with an unknown key id")

// Parse reads ENLACE_SECRET_KEY: one or more "id:base64key" entries
// separated by commas, the first being current. Keys are 32 bytes (AES-256).
// Key ids are 1 to 16 letters or digits. The keyed-hash key is derived from the
// first key, so lookups keep working while data keys rotate behind it.
func Parse(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("keyring: ENLACE_SECRET_KEY is empty")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, entry := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
		if !ok || !validKeyID(id) {
			return nil, fmt.Errorf("keyring: key %d: want id:base64key with an id of 1-16 letters or digits", i+1)
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		if len(raw) != 32 {
			return nil, fmt.Errorf("keyring: key %q is %d bytes, want 32", id, len(raw))
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("keyring: key id %q appears twice", id)
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		if i == 0 {
			k.current = id
			mac := hmac.New(sha256.New, raw)
			mac.Write([]byte("enlace address hash v1"))
			k.hashKey = mac.Sum(nil)
		}
	}
	return k, nil
}

// NewSpec returns a fresh random key entry "id:base64key" for ENLACE_SECRET_KEY.
func NewSpec(id string) (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("keyring: generating key: %w", err)
	}
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 16 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// CurrentKeyID names the key new records are sealed with.
func (k *Keyring) CurrentKeyID() string { return k.current }

// Seal encrypts plaintext with the current key. The record is
// version(1) | len(keyid)(1) | keyid | nonce(12) | ciphertext+tag. The
// additional data binds the record to its purpose (e.g. "session"), so a
// sealed session cannot be passed off as an outbox message.
func (k *Keyring) Seal(purpose string, plaintext []byte) []byte {
	aead := k.aeads[k.current]
	out := make([]byte, 0, 2+len(k.current)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, sealVersion, byte(len(k.current)))
	out = append(out, k.current...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("keyring: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, []byte(purpose))
}

// Open decrypts a record made by Seal with any key the keyring holds.
func (k *Keyring) Open(purpose string, record []byte) ([]byte, error) {
	if len(record) < 2 || record[0] != sealVersion {
		return nil, errors.New("keyring: not a sealed record")
	}
	n := int(record[1])
	if len(record) < 2+n {
		return nil, errors.New("keyring: sealed record truncated")
	}
	aead, ok := k.aeads[string(record[2:2+n])]
	if !ok {
		return nil, ErrNoKey
	}
	rest := record[2+n:]
	if len(rest) < aead.NonceSize()+aead.Overhead() {
		return nil, errors.New("keyring: sealed record truncated")
	}
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], []byte(purpose))
	if err != nil {
		return nil, fmt.Errorf("keyring: opening %s record: %w", purpose, err)
	}
	return plain, nil
}

// KeyID returns the key id a sealed record names (for rotation reports).
func KeyID(record []byte) string {
	if len(record) < 2 || len(record) < 2+int(record[1]) {
		return ""
	}
	return string(record[2 : 2+int(record[1])])
}

// Hash returns the keyed hash (HMAC-SHA-256, 128 bits, hex) of a value such as
// an address or a channel message id. Records are found by it; without the key
// nobody can tell which phone number a key belongs to.
func (k *Keyring) Hash(kind, value string) string {
	mac := hmac.New(sha256.New, k.hashKey)
	mac.Write([]byte(kind))
	mac.Write([]byte{0})
	mac.Write([]byte(value))
	return hex.EncodeToString(mac.Sum(nil)[:16])
}
