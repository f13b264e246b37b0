package schema

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

func validateCertificate(v any) error {
	if _, err := ParseCertificate(v.(string)); err != nil {
		return fmt.Errorf("invalid certificate: %w", err)
	}
	return nil
}

func validateKey(v any) error {
	if _, err := ParsePrivateKey(v.(string)); err != nil {
		return fmt.Errorf("invalid key: %w", err)
	}
	return nil
}

// ParseCertificate parses the first PEM certificate in s.
func ParseCertificate(s string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("PEM_read_bio_X509_AUX() failed")
	}
	if block.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("expected a CERTIFICATE block, got %s", block.Type)
	}
	return x509.ParseCertificate(block.Bytes)
}

// ParsePrivateKey parses a PEM private key in PKCS#8, PKCS#1 (RSA) or SEC 1
// (EC) form.
func ParsePrivateKey(s string) (any, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("PEM_read_bio_PrivateKey() failed")
	}
	if k, err := x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	return nil, fmt.Errorf("unsupported or malformed %s block", block.Type)
}
