package entity

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"gatehouse.dev/shared/schema"
)

// caCertificatesType is kong/db/schema/entities/ca_certificates.lua. Its
// cert_digest transformation (hex SHA-256 of the DER certificate) is the
// Prepare hook; now gives the time certificates must not have expired
// by.
func caCertificatesType(now func() time.Time) *Type {
	s := &schema.Schema{
		Name:       CACertificates,
		PrimaryKey: []string{"id"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.Certificate("cert").With(func(f *schema.Field) { f.Required = true }),
			{Name: "cert_digest", Type: schema.String, Unique: true},
			schema.Tags(),
		},
		EntityChecks: []schema.Check{
			{Custom: &schema.CustomCheck{FieldSources: []string{"cert"}, Fn: func(e map[string]any) error {
				return checkCACertificate(e["cert"], now())
			}}},
		},
	}
	return &Type{
		Schema: s, Name: CACertificates, AdminName: CACertificates, GenerateAdminAPI: true,
		Prepare: func(in map[string]any, _ schema.Context) {
			if pem, ok := in["cert"].(string); ok {
				if d, ok := CertDigest(pem); ok {
					in["cert_digest"] = d
				}
			}
		},
	}
}

// CertDigest returns the hex SHA-256 of the DER form of the first PEM
// certificate in s, Kong's ca_certificates cert_digest, and false when s
// holds no parsable certificate.
func CertDigest(s string) (string, bool) {
	cert, err := schema.ParseCertificate(s)
	if err != nil {
		return "", false
	}
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:]), true
}

const certTag = "-----BEGIN CERTIFICATE-----"

// checkCACertificate is the entity check of ca_certificates.lua: a single
// certificate, not expired at now, with the CA basic constraint.
func checkCACertificate(v any, now time.Time) error {
	s, ok := v.(string)
	if !ok {
		return nil
	}
	if _, rest, found := strings.Cut(s, certTag); found && strings.Contains(rest, certTag) {
		return errors.New("please submit only one certificate at a time")
	}
	cert, err := schema.ParseCertificate(s)
	if err != nil {
		return nil // the field validator reports it
	}
	if cert.NotAfter.Before(now) {
		return errors.New(`certificate expired, "Not After" time is in the past`)
	}
	if !cert.BasicConstraintsValid || !cert.IsCA {
		return errors.New(`certificate does not appear to be a CA because it is missing the "CA" basic constraint`)
	}
	return nil
}
