// Package clustertls is the mutual TLS between sync-hub and data planes:
// loading the cluster certificate, the server and client tls.Configs for
// Kong's two modes, and generating a cluster certificate.
//
// In shared mode the control plane and every data plane hold the same
// certificate and key; each side accepts its peer only when the peer's
// certificate is byte-for-byte that certificate (a SHA-256 digest
// comparison), whatever names it carries. In pki mode data-plane
// certificates are signed by a CA (GATEHOUSE_CLUSTER_CA_CERT): the control
// plane verifies the client chain against it, the data plane verifies the
// control plane's chain and name, a certificate revocation list may be
// given, and a data-plane certificate may pin the node id it must present.
package clustertls

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Mode is GATEHOUSE_CLUSTER_MTLS.
type Mode string

// The cluster mTLS modes.
const (
	Shared Mode = "shared"
	PKI    Mode = "pki"
)

// SharedServerName is the name a data plane sends in shared mode, as Kong
// does.
const SharedServerName = "kong_clustering"

// NodeIDPrefix marks a URI SAN that pins the node id a pki data-plane
// certificate may be used by: urn:gatehouse:node:<uuid>.
const NodeIDPrefix = "urn:gatehouse:node:"

// Config is the cluster TLS settings of one side.
type Config struct {
	Mode Mode
	// Cert and Key are the cluster certificate and key: a file path, PEM
	// text, or base64-encoded PEM (as Kong's cluster_cert accepts).
	Cert, Key string
	// CA is the CA certificate (pki mode), in the same forms.
	CA string
	// CRL is an optional PEM or DER revocation list file (pki mode,
	// control plane): client certificates it lists are refused.
	CRL string
	// ServerName is the name a data plane expects on the control plane's
	// certificate in pki mode (default: the host it dials).
	ServerName string
}

// Material is a loaded Config.
type Material struct {
	Mode     Mode
	Pair     tls.Certificate
	Leaf     *x509.Certificate
	CAs      *x509.CertPool
	revoked  map[string]bool // serial numbers (hex), from the CRL
	digest   [32]byte
	ServName string
}

// Load reads the certificate, key, CA and CRL of c, with errors as clear
// as Kong's start-up messages.
func Load(c Config) (*Material, error) {
	switch c.Mode {
	case Shared, PKI:
	case "":
		c.Mode = Shared
	default:
		return nil, fmt.Errorf("cluster_mtls: expected one of: shared, pki (got %q)", c.Mode)
	}
	if c.Cert == "" || c.Key == "" {
		return nil, errors.New("cluster certificate and key must be provided to use Hybrid mode")
	}
	certPEM, err := readPEM(c.Cert)
	if err != nil {
		return nil, fmt.Errorf("cluster_cert: failed loading certificate from %s: %w", describe(c.Cert), err)
	}
	keyPEM, err := readPEM(c.Key)
	if err != nil {
		return nil, fmt.Errorf("cluster_cert_key: failed loading key from %s: %w", describe(c.Key), err)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("cluster_cert: failed loading certificate from %s: %w", describe(c.Cert), err)
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, fmt.Errorf("cluster_cert: failed loading certificate from %s: %w", describe(c.Cert), err)
	}
	pair.Leaf = leaf
	m := &Material{Mode: c.Mode, Pair: pair, Leaf: leaf, digest: sha256.Sum256(leaf.Raw), ServName: c.ServerName}
	if c.Mode == PKI {
		if c.CA == "" {
			return nil, errors.New(`cluster_ca_cert must be specified when cluster_mtls = "pki"`)
		}
		caPEM, err := readPEM(c.CA)
		if err != nil {
			return nil, fmt.Errorf("cluster_ca_cert: failed loading certificate from %s: %w", describe(c.CA), err)
		}
		m.CAs = x509.NewCertPool()
		if !m.CAs.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("cluster_ca_cert: failed loading certificate from %s: no certificate found", describe(c.CA))
		}
		if c.CRL != "" {
			if m.revoked, err = loadCRL(c.CRL); err != nil {
				return nil, fmt.Errorf("cluster_crl: %w", err)
			}
		}
	}
	return m, nil
}

// readPEM accepts a file path, PEM text, or base64 of PEM text.
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

// describe names a setting value in errors without printing key material.
func describe(spec string) string {
	s := strings.TrimSpace(spec)
	if strings.HasPrefix(s, "-----BEGIN") || len(s) > 512 {
		return "the given PEM text"
	}
	return s
}

func loadCRL(path string) (map[string]bool, error) {
	raw, err := os.ReadFile(path) //nolint:gosec // the operator names the file in the settings.
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	der := raw
	if block, _ := pem.Decode(raw); block != nil {
		der = block.Bytes
	}
	list, err := x509.ParseRevocationList(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	out := map[string]bool{}
	for _, e := range list.RevokedCertificateEntries {
		out[e.SerialNumber.Text(16)] = true
	}
	return out, nil
}

// Errors a control plane reports for refused data-plane certificates
// (Kong's texts where Kong has one).
var (
	ErrNoClientCert      = errors.New("data plane failed to present client certificate during handshake")
	ErrDigestMismatch    = errors.New("data plane presented incorrect client certificate during handshake (digest does not match the control plane certificate)")
	ErrRevoked           = errors.New("data plane client certificate was revoked")
	ErrServerMismatch    = errors.New("control plane presented a certificate that does not match the cluster certificate (shared mode)")
	ErrNodeIDMismatch    = errors.New("data plane client certificate is pinned to another node id")
	errNoPeerCertificate = errors.New("peer presented no certificate")
)

// ServerConfig is the control plane's listener configuration: TLS 1.2+,
// its cluster certificate, and a client certificate required and checked
// for the mode.
func (m *Material) ServerConfig() *tls.Config {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{m.Pair},
		ClientAuth:   tls.RequireAnyClientCert,
	}
	switch m.Mode {
	case PKI:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
		cfg.ClientCAs = m.CAs
		// VerifyConnection runs on every handshake, resumed ones included
		// (VerifyPeerCertificate does not), so a revoked certificate
		// cannot come back through a session ticket.
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrNoClientCert
			}
			if m.revoked[cs.PeerCertificates[0].SerialNumber.Text(16)] {
				return ErrRevoked
			}
			return nil
		}
	case Shared:
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return ErrNoClientCert
			}
			if sha256.Sum256(cs.PeerCertificates[0].Raw) != m.digest {
				return ErrDigestMismatch
			}
			return nil
		}
	}
	return cfg
}

// ClientConfig is a data plane's configuration for dialling the control
// plane at host: its cluster certificate as client certificate, and the
// control plane verified for the mode (shared: the same certificate; pki:
// a chain to the CA and the configured server name, else host).
func (m *Material) ClientConfig(host string) *tls.Config {
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{m.Pair},
	}
	if m.Mode == PKI {
		cfg.RootCAs = m.CAs
		cfg.ServerName = host
		if m.ServName != "" {
			cfg.ServerName = m.ServName
		}
		return cfg
	}
	cfg.ServerName = SharedServerName
	// Shared mode pins the peer to our own certificate: chain and name
	// checks are replaced by a digest comparison, as Kong's control plane
	// does for data planes. VerifyConnection also runs on resumed sessions.
	cfg.InsecureSkipVerify = true // the peer is pinned by VerifyConnection below
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errNoPeerCertificate
		}
		if sha256.Sum256(cs.PeerCertificates[0].Raw) != m.digest {
			return ErrServerMismatch
		}
		return nil
	}
	return cfg
}

// PinnedNodeID returns the node id a client certificate is pinned to
// (a URI SAN urn:gatehouse:node:<id>), or "".
func PinnedNodeID(cert *x509.Certificate) string {
	for _, u := range cert.URIs {
		if s := u.String(); strings.HasPrefix(s, NodeIDPrefix) {
			return strings.ToLower(strings.TrimPrefix(s, NodeIDPrefix))
		}
	}
	return ""
}

// CheckNodeID refuses a data plane whose certificate pins another node id.
func CheckNodeID(cert *x509.Certificate, nodeID string) error {
	if pinned := PinnedNodeID(cert); pinned != "" && pinned != strings.ToLower(nodeID) {
		return ErrNodeIDMismatch
	}
	return nil
}

// CertDetails is what /clustering/data-planes shows of a data plane's
// certificate: {"expiry_timestamp": <not after, unix seconds>}.
func CertDetails(cert *x509.Certificate) map[string]any {
	if cert == nil {
		return nil
	}
	return map[string]any{"expiry_timestamp": cert.NotAfter.Unix()}
}

// Expiry is when the loaded certificate expires.
func (m *Material) Expiry() time.Time { return m.Leaf.NotAfter }
