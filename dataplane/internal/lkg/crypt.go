package lkg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a cache encryption key: AES-256.
const KeySize = 32

// ReadKeyFile reads a cache encryption key: a file holding exactly 32
// raw bytes, or 64 hexadecimal characters, or 44 characters of standard
// base64 (32 bytes encoded, with its "=" padding), optionally followed by
// a newline. The error never shows the file's content.
func ReadKeyFile(path string) ([]byte, error) {
	raw, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("cache encryption key: %w", err)
	}
	if len(raw) == KeySize {
		return raw, nil
	}
	text := strings.TrimRight(string(raw), "\r\n")
	switch len(text) {
	case 2 * KeySize:
		if key, err := hex.DecodeString(text); err == nil {
			return key, nil
		}
	case base64.StdEncoding.EncodedLen(KeySize):
		if key, err := base64.StdEncoding.DecodeString(text); err == nil && len(key) == KeySize {
			return key, nil
		}
	}
	return nil, fmt.Errorf("cache encryption key %s: want 32 raw bytes, 64 hex characters or 44 base64 characters (found %d bytes)", path, len(raw))
}

// sealer encrypts and decrypts values with AES-256-GCM: a value is a
// random 12-byte nonce followed by the ciphertext and its tag. The key the
// value is stored under is the additional data, so a value moved to
// another key does not decrypt.
type sealer struct {
	aead cipher.AEAD
}

func newSealer(key []byte) (*sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("cache encryption key: want %d bytes, got %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cache encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cache encryption key: %w", err)
	}
	return &sealer{aead: aead}, nil
}

// errOpen reports a value that does not decrypt: the wrong key, or a
// damaged value.
var errOpen = errors.New("value does not decrypt")

func (s *sealer) seal(key, plain []byte) []byte {
	if s == nil {
		return plain
	}
	n := s.aead.NonceSize()
	out := make([]byte, n, n+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		// crypto/rand never fails on supported platforms.
		panic("lkg: read random nonce: " + err.Error())
	}
	return s.aead.Seal(out, out[:n], plain, key)
}

func (s *sealer) open(key, value []byte) ([]byte, error) {
	if s == nil {
		return value, nil
	}
	n := s.aead.NonceSize()
	if len(value) < n+s.aead.Overhead() {
		return nil, errOpen
	}
	plain, err := s.aead.Open(nil, value[:n], value[n:], key)
	if err != nil {
		return nil, errOpen
	}
	return plain, nil
}
