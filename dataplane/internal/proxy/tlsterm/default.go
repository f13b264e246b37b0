package tlsterm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"
)

// SelfSigned makes the default certificate a data plane serves when none
// is configured, as Kong generates one at start: ECDSA P-256, CN
// localhost, valid for 20 years from now (Kong's kong-default.crt).
func SelfSigned(now time.Time) (*tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost", Organization: []string{"Gatehouse"}},
		DNSNames:              []string{"localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(20, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// LoadKeyPair reads a certificate and its key, each given as a file path,
// PEM text or base64 of PEM text (as the cluster certificate settings).
func LoadKeyPair(cert, key string) (*tls.Certificate, error) {
	c, err := readPEM(cert)
	if err != nil {
		return nil, fmt.Errorf("certificate: %w", err)
	}
	k, err := readPEM(key)
	if err != nil {
		return nil, fmt.Errorf("key: %w", err)
	}
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		return nil, err
	}
	return &pair, nil
}

func readPEM(spec string) ([]byte, error) {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "-----BEGIN") {
		return []byte(s), nil
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil && strings.HasPrefix(strings.TrimSpace(string(b)), "-----BEGIN") {
		return b, nil
	}
	b, err := os.ReadFile(spec) //nolint:gosec // the operator names the file in the settings.
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if !strings.Contains(string(b), "-----BEGIN") {
		return nil, errors.New("not a PEM file")
	}
	return b, nil
}
