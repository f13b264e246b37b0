package hub

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"time"

	"gatehouse.dev/shared/clustertls"
)

// serverTLS is the cluster listener's TLS configuration: clustertls's
// server configuration, with the chain check of pki mode moved next to
// clustertls's own checks in VerifyConnection, so that every refusal (no
// certificate, a shared certificate that is not the cluster's, a chain that
// does not lead to the cluster CA, a revoked certificate) is logged at
// error level with Kong's text and the peer's address before the handshake
// fails. VerifyConnection runs on resumed sessions too.
func serverTLS(m *clustertls.Material, log *slog.Logger) *tls.Config {
	base := m.ServerConfig()
	cfg := &tls.Config{MinVersion: base.MinVersion, Certificates: base.Certificates}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		ip := ""
		if hello.Conn != nil {
			ip, _, _ = net.SplitHostPort(hello.Conn.RemoteAddr().String())
		}
		c := base.Clone()
		// Ask for a certificate without letting crypto/tls refuse first:
		// verify below, where the refusal can be logged.
		c.ClientAuth = tls.RequestClientCert
		c.ClientCAs = nil
		c.VerifyPeerCertificate = nil
		c.VerifyConnection = func(cs tls.ConnectionState) error {
			err := verifyClient(m, base, cs)
			if err != nil {
				log.Error(err.Error() + " [ip: " + ip + "]")
			}
			return err
		}
		return c, nil
	}
	return cfg
}

// verifyClient checks a client certificate chain as crypto/tls would for
// the mode (pki: a chain to the CA usable for client authentication), then
// with clustertls's own checks (shared: the digest; pki: the revocation
// list).
func verifyClient(m *clustertls.Material, base *tls.Config, cs tls.ConnectionState) error {
	certs := cs.PeerCertificates
	if len(certs) == 0 {
		return clustertls.ErrNoClientCert
	}
	if m.Mode == clustertls.PKI {
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{
			Roots:         m.CAs,
			Intermediates: inter,
			CurrentTime:   time.Now(),
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		})
		if err != nil {
			return fmt.Errorf("data plane presented a client certificate that does not verify against the cluster CA: %w", err)
		}
	}
	if base.VerifyPeerCertificate != nil {
		raw := make([][]byte, len(certs))
		for i, c := range certs {
			raw[i] = c.Raw
		}
		if err := base.VerifyPeerCertificate(raw, nil); err != nil {
			return err
		}
	}
	if base.VerifyConnection != nil {
		return base.VerifyConnection(cs)
	}
	return nil
}
