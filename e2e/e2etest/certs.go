package e2etest

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
)

// PKIServerName is the name on sync-hub's certificate in pki mode, and
// what data planes are told to expect (Kong's tests use kong_clustering
// too).
const PKIServerName = "kong_clustering"

// Certs is the cluster TLS material of a scenario: files on disk.
type Certs struct {
	// Mode is "shared" or "pki".
	Mode string
	// HubCert and HubKey are sync-hub's certificate and key.
	HubCert, HubKey string
	// DPCert and DPKey are the data planes' certificate and key (the same
	// files as the hub's in shared mode).
	DPCert, DPKey string
	// CA is the CA certificate file (pki mode).
	CA string
	// DPExpiry is when DPCert expires: what cert_details.expiry_timestamp
	// must show.
	DPExpiry time.Time

	dir    string
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
}

// SharedCerts generates a shared-mode cluster certificate with
// `sync-hub cert`, as an operator would.
func SharedCerts(tb testing.TB, bins Binaries) *Certs {
	tb.Helper()
	dir := tb.TempDir()
	c := &Certs{
		Mode: "shared", dir: dir,
		HubCert: filepath.Join(dir, "cluster.crt"), HubKey: filepath.Join(dir, "cluster.key"),
	}
	MustRun(tb, ProcessSpec{Name: "sync-hub cert", Bin: bins.SyncHub, Args: []string{"cert", c.HubCert, c.HubKey}},
		30*time.Second)
	c.DPCert, c.DPKey = c.HubCert, c.HubKey
	c.DPExpiry = readCert(tb, c.HubCert).NotAfter
	return c
}

// PKICerts makes a CA, a sync-hub certificate it signs (named
// PKIServerName, 127.0.0.1 and localhost) and a data-plane client
// certificate it signs.
func PKICerts(tb testing.TB) *Certs {
	tb.Helper()
	dir := tb.TempDir()
	c := &Certs{Mode: "pki", dir: dir}
	now := time.Now()
	caKey := newKey(tb)
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(tb),
		Subject:               pkix.Name{CommonName: "gatehouse e2e CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(5, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatalf("create CA: %v", err)
	}
	c.caCert, _ = x509.ParseCertificate(caDER)
	c.caKey = caKey
	c.CA = filepath.Join(dir, "ca.crt")
	writePEM(tb, c.CA, "CERTIFICATE", caDER)

	hub := &x509.Certificate{
		SerialNumber: serial(tb),
		Subject:      pkix.Name{CommonName: PKIServerName},
		DNSNames:     []string{PKIServerName, "localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(2, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	c.HubCert, c.HubKey = c.sign(tb, "hub", hub)
	var expiry time.Time
	c.DPCert, c.DPKey, expiry = c.NewDataPlaneCert(tb, "dp", "")
	c.DPExpiry = expiry
	return c
}

// NewDataPlaneCert signs another data-plane client certificate (pki mode
// only) with common name cn, pinned to nodeID when it is not empty (a URI
// SAN urn:gatehouse:node:<nodeID>). It returns the files and the expiry,
// which differs from every other certificate's so a test can tell them
// apart in cert_details.
func (c *Certs) NewDataPlaneCert(tb testing.TB, cn, nodeID string) (cert, key string, expiry time.Time) {
	tb.Helper()
	if c.caKey == nil {
		tb.Fatal("NewDataPlaneCert needs pki certificates")
	}
	now := time.Now().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber: serial(tb),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    now.Add(-time.Hour),
		// A year and a random number of minutes: distinct expiries.
		NotAfter:    now.AddDate(1, 0, 0).Add(time.Duration(serial(tb).Int64()%10000) * time.Minute),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if nodeID != "" {
		u, err := url.Parse("urn:gatehouse:node:" + nodeID)
		if err != nil {
			tb.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	cert, key = c.sign(tb, "dp-"+cn, tmpl)
	return cert, key, tmpl.NotAfter
}

func (c *Certs) sign(tb testing.TB, name string, tmpl *x509.Certificate) (certFile, keyFile string) {
	tb.Helper()
	key := newKey(tb)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.caCert, &key.PublicKey, c.caKey)
	if err != nil {
		tb.Fatalf("sign %s: %v", name, err)
	}
	certFile = filepath.Join(c.dir, name+".crt")
	keyFile = filepath.Join(c.dir, name+".key")
	writePEM(tb, certFile, "CERTIFICATE", der)
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	writePEM(tb, keyFile, "EC PRIVATE KEY", keyDER)
	return certFile, keyFile
}

// HubEnv is sync-hub's cluster TLS settings.
func (c *Certs) HubEnv() map[string]string {
	env := map[string]string{
		"GATEHOUSE_CLUSTER_MTLS":     c.Mode,
		"GATEHOUSE_CLUSTER_CERT":     c.HubCert,
		"GATEHOUSE_CLUSTER_CERT_KEY": c.HubKey,
	}
	if c.CA != "" {
		env["GATEHOUSE_CLUSTER_CA_CERT"] = c.CA
	}
	return env
}

// DataPlaneEnv is a data plane's cluster TLS settings.
func (c *Certs) DataPlaneEnv() map[string]string {
	env := map[string]string{
		"GATEHOUSE_CLUSTER_MTLS":     c.Mode,
		"GATEHOUSE_CLUSTER_CERT":     c.DPCert,
		"GATEHOUSE_CLUSTER_CERT_KEY": c.DPKey,
	}
	if c.Mode == "pki" {
		env["GATEHOUSE_CLUSTER_CA_CERT"] = c.CA
		env["GATEHOUSE_CLUSTER_SERVER_NAME"] = PKIServerName
	}
	return env
}

func newKey(tb testing.TB) *ecdsa.PrivateKey {
	tb.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func serial(tb testing.TB) *big.Int {
	tb.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

func writePEM(tb testing.TB, path, typ string, der []byte) {
	tb.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		tb.Fatal(err)
	}
}

func readCert(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	data, err := os.ReadFile(path) //nolint:gosec // G304: a certificate the test made
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		tb.Fatalf("%s: no PEM block", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return cert
}
