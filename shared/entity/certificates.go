package entity

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"gatehouse.dev/shared/schema"
)

// certificatesType is kong/db/schema/entities/certificates.lua. Its "snis"
// field is transient: the Admin API accepts and shows a certificate's SNI
// names there, and stores them as sni rows (kong/db/dao/certificates.lua);
// Write and Update validate the names given (wildcard hosts, no
// duplicates) but never store them with the certificate.
func certificatesType() *Type {
	referenceable := func(f *schema.Field) { f.Referenceable = true }
	secret := func(f *schema.Field) { f.Referenceable, f.Encrypted = true, true }
	s := &schema.Schema{
		Name:       Certificates,
		PrimaryKey: []string{"id"},
		Fields: []*schema.Field{
			schema.ID(),
			schema.CreatedAt(),
			schema.UpdatedAt(),
			schema.Certificate("cert").With(func(f *schema.Field) { referenceable(f); f.Required = true }),
			schema.Key("key").With(func(f *schema.Field) { secret(f); f.Required = true }),
			schema.Certificate("cert_alt").With(referenceable),
			schema.Key("key_alt").With(secret),
			schema.Tags(),
			{Name: "snis", Type: schema.Set, Elements: schema.WildcardHost(), Custom: noDuplicateSNIs},
		},
		EntityChecks: []schema.Check{
			{MutuallyRequired: []string{"cert_alt", "key_alt"}},
			{Custom: &schema.CustomCheck{FieldSources: []string{"cert", "key"}, Fn: func(e map[string]any) error {
				return certMatchesKey(e["cert"], e["key"], "certificate does not match key")
			}}},
			{Custom: &schema.CustomCheck{FieldSources: []string{"cert_alt", "key_alt"}, Fn: func(e map[string]any) error {
				return certMatchesKey(e["cert_alt"], e["key_alt"], "alternative certificate does not match key")
			}}},
			{Custom: &schema.CustomCheck{FieldSources: []string{"cert", "cert_alt"}, Fn: differentKeyTypes}},
		},
	}
	return &Type{
		Schema: s, Name: Certificates, AdminName: Certificates, GenerateAdminAPI: true,
		Transient: []string{"snis"},
	}
}

// noDuplicateSNIs is the duplicate check of the certificates DAO's
// parse_name_list: `snis: <name> is duplicated`.
func noDuplicateSNIs(v any) error {
	seen := map[string]bool{}
	for _, e := range v.([]any) {
		name, _ := e.(string)
		if seen[name] {
			return fmt.Errorf("%s is duplicated", name)
		}
		seen[name] = true
	}
	return nil
}

// certMatchesKey reports msg unless the PEM certificate's public key is
// the public half of the PEM private key. Values that are not both strings
// (null when the alternative pair is absent) pass.
func certMatchesKey(certPEM, keyPEM any, msg string) error {
	c, ok1 := certPEM.(string)
	k, ok2 := keyPEM.(string)
	if !ok1 || !ok2 {
		return nil
	}
	cert, err := schema.ParseCertificate(c)
	if err != nil {
		return errors.New(msg)
	}
	key, err := schema.ParsePrivateKey(k)
	if err != nil {
		return errors.New(msg)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return errors.New(msg)
	}
	pub, ok := cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return errors.New(msg)
	}
	return nil
}

// differentKeyTypes requires the certificate and the alternative
// certificate to hold keys of different types (RSA and ECDSA, say).
func differentKeyTypes(e map[string]any) error {
	c, ok1 := e["cert"].(string)
	a, ok2 := e["cert_alt"].(string)
	if !ok1 || !ok2 {
		return nil
	}
	cert, err1 := schema.ParseCertificate(c)
	alt, err2 := schema.ParseCertificate(a)
	if err1 != nil || err2 != nil {
		return nil // the field validators report unparsable certificates
	}
	if keyType(cert) == keyType(alt) {
		return errors.New("certificate and alternative certificate need to have different type " +
			"(e.g. RSA and ECDSA), the provided certificates were both of the same type")
	}
	return nil
}

func keyType(c *x509.Certificate) x509.PublicKeyAlgorithm { return c.PublicKeyAlgorithm }
