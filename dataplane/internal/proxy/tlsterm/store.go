// Package tlsterm holds a runtime's TLS material: the certificates the
// proxy terminates TLS with, chosen by SNI from Kong's certificates and
// snis (kong/runloop/certificate.lua), and the CA certificates and client
// certificates that upstream TLS uses.
package tlsterm

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// Pair is a certificate entity parsed: its certificate and, when the
// entity has cert_alt/key_alt, the alternate one (Kong serves an RSA and
// an ECDSA certificate side by side).
type Pair struct {
	cert, key, certAlt, keyAlt string // as in the entity, to reuse parses
	Primary, Alt               *tls.Certificate
}

// choose returns the certificate of p that hello supports, preferring the
// primary.
func (p *Pair) choose(hello *tls.ClientHelloInfo) *tls.Certificate {
	if p.Alt == nil || hello == nil || hello.SupportsCertificate(p.Primary) == nil {
		return p.Primary
	}
	if hello.SupportsCertificate(p.Alt) == nil {
		return p.Alt
	}
	return p.Primary
}

// Store is the TLS material of one runtime. It is immutable and safe for
// concurrent use.
type Store struct {
	exact  map[string]*Pair // lower-case SNI name → pair
	def    *Pair            // the "*" SNI, else the default certificate
	certs  map[string]*Pair // by certificate id
	cas    map[string]*x509.Certificate
	casPEM map[string]string
}

// Entities are the entities a Store is built from, as a configuration
// holds them.
type Entities struct {
	Certificates, SNIs, CACertificates []map[string]any
}

// Build parses the certificates, snis and ca_certificates of a
// configuration. prev (may be nil) is the previous runtime's store: a
// certificate whose PEM texts did not change is reused without parsing.
// def is the default certificate, served when no SNI matches and no "*"
// SNI exists. A certificate that does not parse refuses the whole
// configuration, naming its id.
func Build(in Entities, prev *Store, def *tls.Certificate) (*Store, error) {
	s := &Store{
		exact: map[string]*Pair{}, certs: make(map[string]*Pair, len(in.Certificates)),
		cas: make(map[string]*x509.Certificate, len(in.CACertificates)), casPEM: map[string]string{},
	}
	for _, e := range in.Certificates {
		id := str(e, "id")
		p, err := pairOf(e, prev, id)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", id, err)
		}
		s.certs[id] = p
	}
	for _, e := range in.SNIs {
		name := strings.ToLower(strings.TrimSuffix(str(e, "name"), "."))
		p := s.certs[ref(e, "certificate")]
		if name == "" || p == nil {
			continue
		}
		if name == "*" {
			s.def = p
			continue
		}
		s.exact[name] = p
	}
	if s.def == nil && def != nil {
		s.def = &Pair{Primary: def}
	}
	for _, e := range in.CACertificates {
		id := str(e, "id")
		text := str(e, "cert")
		if prev != nil && prev.casPEM[id] == text {
			s.cas[id], s.casPEM[id] = prev.cas[id], text
			continue
		}
		c, err := parseCert(text)
		if err != nil {
			return nil, fmt.Errorf("ca certificate %s: %w", id, err)
		}
		s.cas[id], s.casPEM[id] = c, text
	}
	return s, nil
}

func pairOf(e map[string]any, prev *Store, id string) (*Pair, error) {
	p := &Pair{cert: str(e, "cert"), key: str(e, "key"), certAlt: str(e, "cert_alt"), keyAlt: str(e, "key_alt")}
	if prev != nil {
		if old := prev.certs[id]; old != nil && old.cert == p.cert && old.key == p.key &&
			old.certAlt == p.certAlt && old.keyAlt == p.keyAlt {
			return old, nil
		}
	}
	c, err := keyPair(p.cert, p.key)
	if err != nil {
		return nil, err
	}
	p.Primary = c
	if p.certAlt != "" && p.keyAlt != "" {
		if p.Alt, err = keyPair(p.certAlt, p.keyAlt); err != nil {
			return nil, fmt.Errorf("cert_alt: %w", err)
		}
	}
	return p, nil
}

func keyPair(cert, key string) (*tls.Certificate, error) {
	c, err := tls.X509KeyPair([]byte(cert), []byte(key))
	if err != nil {
		return nil, err
	}
	return &c, nil
}

func parseCert(text string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}

// Certificate returns the certificate for a client hello, as Kong's
// find_certificate chooses it: the SNI's exact name, else the name with
// its first label replaced by "*" ("*.example.com"), else with its last
// label replaced ("www.example.*"), else the default. It is the
// tls.Config.GetCertificate of the proxy's TLS listener.
func (s *Store) Certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if name := hello.ServerName; name != "" && len(s.exact) > 0 {
		if p := s.lookup(strings.ToLower(strings.TrimSuffix(name, "."))); p != nil {
			return p.choose(hello), nil
		}
	}
	if s.def == nil {
		return nil, errors.New("no certificate")
	}
	return s.def.choose(hello), nil
}

func (s *Store) lookup(name string) *Pair {
	if p := s.exact[name]; p != nil {
		return p
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		if p := s.exact["*"+name[i:]]; p != nil {
			return p
		}
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 && i < len(name)-1 {
		if p := s.exact[name[:i+1]+"*"]; p != nil {
			return p
		}
	}
	return nil
}

// ClientCertificate returns the certificate entity id names, for mutual
// TLS to an upstream (a service's or an upstream's client_certificate).
func (s *Store) ClientCertificate(id string) (*tls.Certificate, bool) {
	p := s.certs[id]
	if p == nil {
		return nil, false
	}
	return p.Primary, true
}

// CACertificate returns the ca_certificates entity id names.
func (s *Store) CACertificate(id string) (*x509.Certificate, bool) {
	c, ok := s.cas[id]
	return c, ok
}

// CAPool returns a pool of the CA certificates ids name, in a new pool
// per call; an unknown id is an error.
func (s *Store) CAPool(ids []string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	for _, id := range ids {
		c, ok := s.cas[id]
		if !ok {
			return nil, fmt.Errorf("ca certificate %s not found", id)
		}
		pool.AddCert(c)
	}
	return pool, nil
}

func str(m map[string]any, field string) string {
	s, _ := m[field].(string)
	return s
}

func ref(m map[string]any, field string) string {
	r, _ := m[field].(map[string]any)
	id, _ := r["id"].(string)
	return id
}
