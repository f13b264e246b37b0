package tlsterm

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"testing"
	"time"
)

// pemPair makes a self-signed certificate for cn, as PEM texts.
func pemPair(t *testing.T, cn string) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func cn(c *tls.Certificate) string {
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		return "unparsable"
	}
	return leaf.Subject.CommonName
}

func TestCertificateBySNI(t *testing.T) {
	t.Parallel()
	var certs []map[string]any
	for i, name := range []string{"exact", "prefix", "suffix", "star"} {
		c, k := pemPair(t, name)
		certs = append(certs, map[string]any{"id": string(rune('a' + i)), "cert": c, "key": k})
	}
	snis := []map[string]any{
		{"name": "api.example.com", "certificate": map[string]any{"id": "a"}},
		{"name": "*.example.com", "certificate": map[string]any{"id": "b"}},
		{"name": "www.example.*", "certificate": map[string]any{"id": "c"}},
	}
	def, err := SelfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Build(Entities{Certificates: certs, SNIs: snis}, nil, def)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ sni, want string }{
		{"api.example.com", "exact"},
		{"API.Example.COM.", "exact"},
		{"other.example.com", "prefix"},
		{"www.example.org", "suffix"},
		{"www.example.com", "prefix"}, // the prefix wildcard comes first
		{"a.b.example.com", "localhost"},
		{"", "localhost"},
		{"unknown.test", "localhost"},
	}
	for _, tt := range tests {
		got, err := s.Certificate(&tls.ClientHelloInfo{ServerName: tt.sni})
		if err != nil {
			t.Fatalf("%q: %v", tt.sni, err)
		}
		if cn(got) != tt.want {
			t.Errorf("SNI %q: certificate %s, want %s", tt.sni, cn(got), tt.want)
		}
	}

	// A "*" SNI replaces the default certificate.
	s2, err := Build(Entities{Certificates: certs, SNIs: append(snis, map[string]any{"name": "*", "certificate": map[string]any{"id": "d"}})}, s, def)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s2.Certificate(&tls.ClientHelloInfo{ServerName: "unknown.test"}); cn(got) != "star" {
		t.Errorf("with a * SNI: %s, want star", cn(got))
	}
	// Unchanged certificates are reused, not parsed again.
	if s2.certs["a"] != s.certs["a"] {
		t.Error("an unchanged certificate was parsed again")
	}
	if c, ok := s2.ClientCertificate("b"); !ok || cn(c) != "prefix" {
		t.Error("ClientCertificate(b) is not the prefix certificate")
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	c, _ := pemPair(t, "x")
	_, k2 := pemPair(t, "y")
	if _, err := Build(Entities{Certificates: []map[string]any{{"id": "1", "cert": c, "key": k2}}}, nil, nil); err == nil {
		t.Error("a key that does not match its certificate was accepted")
	}
	if _, err := Build(Entities{CACertificates: []map[string]any{{"id": "1", "cert": "junk"}}}, nil, nil); err == nil {
		t.Error("a CA certificate that does not parse was accepted")
	}
	s, err := Build(Entities{CACertificates: []map[string]any{{"id": "ca", "cert": c}}}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CAPool([]string{"ca"}); err != nil {
		t.Error(err)
	}
	if _, err := s.CAPool([]string{"missing"}); err == nil {
		t.Error("CAPool accepted an unknown id")
	}
	if _, err := s.Certificate(&tls.ClientHelloInfo{ServerName: "x"}); err == nil {
		t.Error("a store without any certificate answered one")
	}
}

func TestLoadKeyPair(t *testing.T) {
	t.Parallel()
	c, k := pemPair(t, "loaded")
	dir := t.TempDir()
	certFile, keyFile := dir+"/c.pem", dir+"/k.pem"
	if err := writeFile(certFile, c); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(keyFile, k); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][2]string{"files": {certFile, keyFile}, "text": {c, k}} {
		pair, err := LoadKeyPair(args[0], args[1])
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if cn(pair) != "loaded" {
			t.Errorf("%s: %s", name, cn(pair))
		}
	}
	if _, err := LoadKeyPair(dir+"/missing", keyFile); err == nil {
		t.Error("a missing file was accepted")
	}
}
