package clustertls

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestGenerate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cluster.crt"), filepath.Join(dir, "cluster.key")
	now := time.Now()
	if err := Generate(cert, key, DefaultDays, now); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(key)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	m, err := Load(Config{Mode: Shared, Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	pub, ok := m.Leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P384() {
		t.Errorf("key is %T; want EC P-384", m.Leaf.PublicKey)
	}
	if m.Leaf.Subject.CommonName != SharedServerName {
		t.Errorf("CN = %q", m.Leaf.Subject.CommonName)
	}
	if years := m.Expiry().Sub(now).Hours() / 24 / 365; years < 2.99 || years > 3.01 {
		t.Errorf("valid for %.2f years; want 3", years)
	}
	if err := Generate(cert, filepath.Join(dir, "other.key"), 30, now); err == nil || !strings.Contains(err.Error(), "refusing to overwrite") {
		t.Errorf("overwrite = %v; want a refusal", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "other.key")); !errors.Is(err, os.ErrNotExist) {
		t.Error("a refused generation must write nothing")
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := Generate(cert, key, 30, time.Now()); err != nil {
		t.Fatal(err)
	}
	certPEM, _ := os.ReadFile(cert) //nolint:gosec // a test file
	keyPEM, _ := os.ReadFile(key)   //nolint:gosec // a test file
	tests := []struct {
		cfg  Config
		want string
	}{
		{Config{Cert: cert}, "cluster certificate and key must be provided to use Hybrid mode"},
		{Config{Cert: filepath.Join(dir, "missing.crt"), Key: key}, "cluster_cert: failed loading certificate from " + filepath.Join(dir, "missing.crt")},
		{Config{Cert: cert, Key: filepath.Join(dir, "missing.key")}, "cluster_cert_key: failed loading key from " + filepath.Join(dir, "missing.key")},
		{Config{Cert: key, Key: key}, "cluster_cert: failed loading certificate from"},
		{Config{Mode: PKI, Cert: cert, Key: key}, `cluster_ca_cert must be specified when cluster_mtls = "pki"`},
		{Config{Mode: "bogus", Cert: cert, Key: key}, "cluster_mtls: expected one of: shared, pki"},
	}
	for _, tt := range tests {
		_, err := Load(tt.cfg)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Load(%+v) = %v; want %q", tt.cfg, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("error leaks key material: %v", err)
		}
	}
	// PEM text and base64 PEM are accepted as well as paths.
	for _, c := range []Config{
		{Cert: string(certPEM), Key: string(keyPEM)},
		{Cert: base64.StdEncoding.EncodeToString(certPEM), Key: base64.StdEncoding.EncodeToString(keyPEM)},
	} {
		if _, err := Load(c); err != nil {
			t.Errorf("Load from text: %v", err)
		}
	}
}

// handshake runs a TLS handshake between a server and a client config
// over loopback and returns each side's error.
func handshake(t *testing.T, server, client *tls.Config) (serverErr, clientErr error) {
	t.Helper()
	ctx := t.Context()
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer func() { _ = c.Close() }()
		tc := tls.Server(c, server)
		err = tc.HandshakeContext(ctx)
		if err == nil {
			// TLS 1.3 client certificates are checked after the client's
			// handshake returns: read to surface a late failure on both sides.
			_, _ = tc.Write([]byte("x"))
		}
		done <- err
	}()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Close() }()
	tc := tls.Client(c, client)
	clientErr = tc.HandshakeContext(ctx)
	if clientErr == nil {
		_ = tc.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1)
		if _, err := io.ReadFull(tc, buf); err != nil {
			clientErr = err
		}
	}
	return <-done, clientErr
}

func sharedMaterial(t *testing.T) *Material {
	t.Helper()
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "c.crt"), filepath.Join(dir, "c.key")
	if err := Generate(cert, key, 30, time.Now()); err != nil {
		t.Fatal(err)
	}
	m, err := Load(Config{Mode: Shared, Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSharedMode(t *testing.T) {
	t.Parallel()
	a, b := sharedMaterial(t), sharedMaterial(t)
	if s, c := handshake(t, a.ServerConfig(), a.ClientConfig("127.0.0.1")); s != nil || c != nil {
		t.Fatalf("same certificate refused: server %v, client %v", s, c)
	}
	// A data plane with another certificate is refused by the control plane.
	srvErr, _ := handshake(t, a.ServerConfig(), withoutServerCheck(b.ClientConfig("127.0.0.1")))
	if !errors.Is(srvErr, ErrDigestMismatch) {
		t.Errorf("other client certificate: server error %v; want ErrDigestMismatch", srvErr)
	}
	// A data plane without a certificate is refused.
	noCert := a.ClientConfig("127.0.0.1")
	noCert.Certificates = nil
	if srvErr, _ := handshake(t, a.ServerConfig(), noCert); srvErr == nil {
		t.Error("client without a certificate accepted")
	}
	// A data plane refuses a control plane with another certificate.
	if _, cliErr := handshake(t, withoutClientCheck(b.ServerConfig()), a.ClientConfig("127.0.0.1")); !errors.Is(cliErr, ErrServerMismatch) {
		t.Errorf("other server certificate: client error %v; want ErrServerMismatch", cliErr)
	}
}

func withoutServerCheck(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.VerifyConnection = nil
	return c
}

func withoutClientCheck(c *tls.Config) *tls.Config {
	c = c.Clone()
	c.VerifyConnection = nil
	return c
}

type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) *ca {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test ca"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &ca{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a certificate signed by the CA and returns its cert and
// key paths.
func (c *ca) issue(t *testing.T, serial int64, dns []string, uris []string) (string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "node"}, DNSNames: dns,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, u := range uris {
		parsed, _ := url.Parse(u)
		tmpl.URIs = append(tmpl.URIs, parsed)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath := filepath.Join(dir, "n.crt"), filepath.Join(dir, "n.key")
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	_ = os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	_ = os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certPath, keyPath
}

func TestPKIMode(t *testing.T) {
	t.Parallel()
	authority := newCA(t)
	caPath := filepath.Join(t.TempDir(), "ca.crt")
	_ = os.WriteFile(caPath, authority.pem, 0o600)
	cpCert, cpKey := authority.issue(t, 10, []string{"cp.example"}, nil)
	dpCert, dpKey := authority.issue(t, 11, nil, []string{NodeIDPrefix + "5a0c2b9e-3f0d-4a1e-9b7c-2d4e6f8a0b1c"})
	cp, err := Load(Config{Mode: PKI, Cert: cpCert, Key: cpKey, CA: caPath})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := Load(Config{Mode: PKI, Cert: dpCert, Key: dpKey, CA: caPath, ServerName: "cp.example"})
	if err != nil {
		t.Fatal(err)
	}
	if s, c := handshake(t, cp.ServerConfig(), dp.ClientConfig("127.0.0.1")); s != nil || c != nil {
		t.Fatalf("pki handshake: server %v, client %v", s, c)
	}
	// The server name is checked.
	wrongName, _ := Load(Config{Mode: PKI, Cert: dpCert, Key: dpKey, CA: caPath, ServerName: "other.example"})
	if _, c := handshake(t, cp.ServerConfig(), wrongName.ClientConfig("127.0.0.1")); c == nil {
		t.Error("a control plane certificate for another name was accepted")
	}
	// A data-plane certificate from another CA is refused.
	rogueCert, rogueKey := newCA(t).issue(t, 12, nil, nil)
	rogue, _ := Load(Config{Mode: PKI, Cert: rogueCert, Key: rogueKey, CA: caPath, ServerName: "cp.example"})
	if s, _ := handshake(t, cp.ServerConfig(), rogue.ClientConfig("127.0.0.1")); s == nil {
		t.Error("a client certificate from another CA was accepted")
	}
	// A revoked data-plane certificate is refused.
	crlDER, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: time.Now(), NextUpdate: time.Now().Add(time.Hour),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(11), RevocationTime: time.Now()}},
	}, authority.cert, authority.key)
	if err != nil {
		t.Fatal(err)
	}
	crlPath := filepath.Join(t.TempDir(), "ca.crl")
	_ = os.WriteFile(crlPath, pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crlDER}), 0o600)
	cpCRL, err := Load(Config{Mode: PKI, Cert: cpCert, Key: cpKey, CA: caPath, CRL: crlPath})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := handshake(t, cpCRL.ServerConfig(), dp.ClientConfig("127.0.0.1")); !errors.Is(s, ErrRevoked) {
		t.Errorf("revoked certificate: server error %v; want ErrRevoked", s)
	}
	// Node-id pinning.
	if err := CheckNodeID(dp.Leaf, "5A0C2B9E-3F0D-4A1E-9B7C-2D4E6F8A0B1C"); err != nil {
		t.Errorf("pinned id refused: %v", err)
	}
	if err := CheckNodeID(dp.Leaf, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, ErrNodeIDMismatch) {
		t.Errorf("other id = %v; want ErrNodeIDMismatch", err)
	}
	if err := CheckNodeID(cp.Leaf, "00000000-0000-4000-8000-000000000000"); err != nil {
		t.Errorf("unpinned certificate: %v", err)
	}
	if d := CertDetails(dp.Leaf); d["expiry_timestamp"] != dp.Leaf.NotAfter.Unix() {
		t.Errorf("CertDetails = %v", d)
	}
}
