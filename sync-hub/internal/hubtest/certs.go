package hubtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gatehouse.dev/shared/clustertls"
)

// SharedCert writes a shared-mode cluster certificate and key into a
// temporary directory and returns the loaded material and the two paths.
func SharedCert(tb testing.TB) (m *clustertls.Material, certPath, keyPath string) {
	tb.Helper()
	dir := tb.TempDir()
	certPath, keyPath = filepath.Join(dir, "cluster.crt"), filepath.Join(dir, "cluster.key")
	if err := clustertls.Generate(certPath, keyPath, 30, time.Now()); err != nil {
		tb.Fatal(err)
	}
	m, err := clustertls.Load(clustertls.Config{Mode: clustertls.Shared, Cert: certPath, Key: keyPath})
	if err != nil {
		tb.Fatal(err)
	}
	return m, certPath, keyPath
}

// CA is a test certificate authority for pki mode.
type CA struct {
	t    testing.TB
	dir  string
	key  *ecdsa.PrivateKey
	cert *x509.Certificate
	// CertPath is the CA certificate's PEM file.
	CertPath string
	serial   int64
}

// NewCA creates a CA in a temporary directory.
func NewCA(tb testing.TB) *CA {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "gatehouse test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	ca := &CA{t: tb, dir: tb.TempDir(), key: key, cert: cert, serial: 1}
	ca.CertPath = ca.write("ca.crt", "CERTIFICATE", der)
	return ca
}

// Issued is a certificate the CA signed.
type Issued struct {
	CertPath, KeyPath string
	Serial            *big.Int
	NotAfter          time.Time
}

// Issue signs a certificate for name (DNS name and CN, plus 127.0.0.1) usable
// as server and client certificate. A non-empty nodeID pins it to that
// data-plane node id.
func (ca *CA) Issue(name, nodeID string) Issued {
	ca.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		ca.t.Fatal(err)
	}
	ca.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(12 * time.Hour).Truncate(time.Second),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	if nodeID != "" {
		u, err := url.Parse(clustertls.NodeIDPrefix + nodeID)
		if err != nil {
			ca.t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		ca.t.Fatal(err)
	}
	base := name + "-" + tmpl.SerialNumber.String()
	return Issued{
		CertPath: ca.write(base+".crt", "CERTIFICATE", der),
		KeyPath:  ca.write(base+".key", "PRIVATE KEY", keyDER),
		Serial:   tmpl.SerialNumber,
		NotAfter: tmpl.NotAfter,
	}
}

// CRL writes a revocation list of the given serial numbers and returns its
// path.
func (ca *CA) CRL(serials ...*big.Int) string {
	ca.t.Helper()
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: time.Now()})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number:                    big.NewInt(1),
		ThisUpdate:                time.Now().Add(-time.Minute),
		NextUpdate:                time.Now().Add(time.Hour),
		RevokedCertificateEntries: entries,
	}, ca.cert, ca.key)
	if err != nil {
		ca.t.Fatal(err)
	}
	return ca.write("ca.crl", "X509 CRL", der)
}

func (ca *CA) write(name, typ string, der []byte) string {
	ca.t.Helper()
	p := filepath.Join(ca.dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		ca.t.Fatal(err)
	}
	return p
}
