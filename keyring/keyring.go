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

// sealVersion is the first byte of every sealed record, so the format can
// change. Version 2 binds a record to its owner as well as its purpose;
// version 1 records (purpose only, before December 2026) are refused: the
// project had no production data then, so there is no upgrade path.
const sealVersion = 2

// HashID is the id of an entry that only derives the keyed hash: it never
// seals or opens a record.
const HashID = "hash"

// Keyring seals and opens records with AES-256-GCM and derives keyed hashes.
// It holds one current key, used to seal, and any number of older keys, still
// used to open, each named by a short key id written into every sealed record:
// rotating means adding a new current key in front and keeping the old ones
// until every record has been re-sealed (bot.Pipeline.Reseal,
// staff.Service.Reseal) or has expired.
type Keyring struct {
	current string
	aeads   map[string]cipher.AEAD
	hashKey []byte
	hashID  string // the entry the keyed-hash key comes from
}

// ErrNoKey means a sealed record names a key id the keyring does not hold.
var ErrNoKey = errors.New("keyring: record sealed with an unknown key id")

// Parse reads ENLACE_SECRET_KEY: one or more "id:base64key" entries separated
// by commas, newest first; the first is current (it seals), every one opens.
// Keys are 32 bytes (AES-256). Key ids are 1 to 16 letters or digits.
//
// The keyed hash that turns an address into a person must never change: every
// record is found by it, and a STOP is kept under it, so a changed hash would
// orphan every session, timer and alias and write again to people who said
// STOP. So hashing does not follow the current key. It comes from the entry
// with the id "hash" when there is one (a key that only hashes, and is never
// retired), else from the last entry, the oldest: a deployment that started
// with one key hashed with it (first and last were the same), and adding a
// new key in front, as rotation does, leaves the last one where it is. Before
// that oldest key is dropped, its entry is renamed "hash" (same key material,
// hence the same hashes); see README, "Rotating keys".
func Parse(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("keyring: ENLACE_SECRET_KEY is empty")
	}
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	var hashRaw []byte
	for i, entry := range strings.Split(spec, ",") {
		id, raw, err := parseEntry(i, entry)
		if err != nil {
			return nil, err
		}
		if _, dup := k.aeads[id]; dup || (id == HashID && k.hashID == HashID) {
			return nil, fmt.Errorf("keyring: key id %q appears twice", id)
		}
		if k.hashID != HashID {
			hashRaw, k.hashID = raw, id // the last entry, unless one is named "hash"
		}
		if id == HashID {
			continue
		}
		aead, err := newAEAD(raw)
		if err != nil {
			return nil, fmt.Errorf("keyring: key %q: %w", id, err)
		}
		k.aeads[id] = aead
		if k.current == "" {
			k.current = id
		}
	}
	if k.current == "" {
		return nil, errors.New("keyring: ENLACE_SECRET_KEY has no key to seal with, only the hashing key")
	}
	mac := hmac.New(sha256.New, hashRaw)
	mac.Write([]byte("enlace address hash v1"))
	k.hashKey = mac.Sum(nil)
	return k, nil
}

// parseEntry reads entry number i (from 0) of a key spec.
func parseEntry(i int, entry string) (id string, raw []byte, err error) {
	id, b64, ok := strings.Cut(strings.TrimSpace(entry), ":")
	if !ok || !validKeyID(id) {
		return "", nil, fmt.Errorf("keyring: key %d: want id:base64key with an id of 1-16 letters or digits", i+1)
	}
	raw, err = base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "", nil, fmt.Errorf("keyring: key %q: %w", id, err)
	}
	if len(raw) != 32 {
		return "", nil, fmt.Errorf("keyring: key %q is %d bytes, want 32", id, len(raw))
	}
	return id, raw, nil
}

func newAEAD(raw []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(raw)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
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

// HashKeyID names the entry the keyed hash comes from: "hash", or the last one.
func (k *Keyring) HashKeyID() string { return k.hashID }

// Holds reports whether the keyring can open records sealed with key id.
func (k *Keyring) Holds(id string) bool { _, ok := k.aeads[id]; return ok }

// additional is the AES-GCM additional data of a record: its purpose and its
// owner, so a sealed session cannot be passed off as an outbox message, nor
// one person's record be copied under another person's key.
func additional(purpose, owner string) []byte {
	return []byte(purpose + "\x00" + owner)
}

// Seal encrypts plaintext with the current key, bound to what the record is
// (purpose, e.g. "session") and whom it belongs to (owner, the person's keyed
// hash it is stored under). The record is
// version(1) | len(keyid)(1) | keyid | nonce(12) | ciphertext+tag.
func (k *Keyring) Seal(purpose, owner string, plaintext []byte) []byte {
	aead := k.aeads[k.current]
	out := make([]byte, 0, 2+len(k.current)+aead.NonceSize()+len(plaintext)+aead.Overhead())
	out = append(out, sealVersion, byte(len(k.current)))
	out = append(out, k.current...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		panic("keyring: crypto/rand failed: " + err.Error()) // rand.Read never fails on supported platforms
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, plaintext, additional(purpose, owner))
}

// Open decrypts a record made by Seal with any key the keyring holds. It
// fails for a record sealed for another purpose or another owner.
func (k *Keyring) Open(purpose, owner string, record []byte) ([]byte, error) {
	if len(record) < 2 || record[0] != sealVersion {
		return nil, errors.New("keyring: not a sealed record of this version")
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
	plain, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], additional(purpose, owner))
	if err != nil {
		return nil, fmt.Errorf("keyring: opening %s record: %w", purpose, err)
	}
	return plain, nil
}

// Reseal opens a record and seals it again with the current key, for the
// same purpose and owner. changed is false, and the record is returned as it
// was, when it is already sealed with the current key.
func (k *Keyring) Reseal(purpose, owner string, record []byte) (out []byte, changed bool, err error) {
	if KeyID(record) == k.current && len(record) > 0 && record[0] == sealVersion {
		return record, false, nil
	}
	plain, err := k.Open(purpose, owner, record)
	if err != nil {
		return nil, false, err
	}
	return k.Seal(purpose, owner, plain), true, nil
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
