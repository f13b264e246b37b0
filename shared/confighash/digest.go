package confighash

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Digest is the digest of one entity: the first 16 bytes of SHA-256 over its
// type, a 0x00 byte and its canonical encoding. The zero Digest is not the
// digest of any entity in practice.
type Digest [16]byte

// String returns d as 32 lower-case hex characters.
func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// EntityDigest returns the digest of entity as an entity of entityType. It
// fails if entityType is empty or contains 0x00, or if the entity cannot be
// encoded canonically (see the package documentation). The entity's "id" is
// digested like any other field and is not checked here.
func EntityDigest(entityType string, entity map[string]any) (Digest, error) {
	if entityType == "" || strings.IndexByte(entityType, 0) >= 0 {
		return Digest{}, fmt.Errorf("%q: %w", entityType, ErrInvalidType)
	}
	e := getEncoder()
	defer putEncoder(e)
	e.buf = append(e.buf, entityType...)
	e.buf = append(e.buf, 0)
	if err := e.value(entity, 0); err != nil {
		return Digest{}, fmt.Errorf("canonical encoding: %w", asPathError(err))
	}
	sum := sha256.Sum256(e.buf)
	return Digest(sum[:16]), nil
}
