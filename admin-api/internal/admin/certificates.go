package admin

import (
	"context"
	"slices"
	"sort"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// certificateBySNI returns the certificate an SNI name belongs to, or nil
// (kong/api/routes/certificates.lua: a certificate path segment that is
// not a UUID is an SNI name).
func (s *Service) certificateBySNI(ctx context.Context, r reader, name string) (map[string]any, error) {
	sni, err := r.GetByKey(ctx, entity.SNIs, "name", name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cert, err := r.Get(ctx, entity.Certificates, foreignID(sni["certificate"]))
	if isNotFound(err) {
		return nil, nil
	}
	return cert, err
}

// upsertCertificateBySNI handles PUT /certificates/{sni}: the certificate
// that holds the SNI is replaced, or a new one is created with that SNI
// added to the ones the body gives.
func (s *Service) upsertCertificateBySNI(ctx context.Context, tx *store.Tx, name string, fields map[string]any) error {
	cert, err := s.certificateBySNI(ctx, tx, name)
	if err != nil {
		return err
	}
	if cert != nil {
		fields["id"] = idOf(cert)
		return nil
	}
	fields["id"] = schema.NewUUID()
	switch list := fields["snis"].(type) {
	case nil:
		fields["snis"] = []any{name}
	case []any:
		if !slices.Contains(list, any(name)) {
			fields["snis"] = append(list, name)
		}
	}
	return nil
}

// checkSNIs checks the SNI names given with a certificate (already
// validated as its transient "snis" field) and returns them sorted. A
// name that another certificate holds is Kong's schema violation
// `snis: <name> already associated with existing certificate '<id>'`.
func (s *Service) checkSNIs(ctx context.Context, tx *store.Tx, certID string, given any) ([]string, error) {
	list, _ := given.([]any)
	names := make([]string, 0, len(list))
	for _, v := range list {
		name, _ := v.(string)
		sni, err := tx.GetByKey(ctx, entity.SNIs, "name", name)
		if isNotFound(err) {
			names = append(names, name)
			continue
		}
		if err != nil {
			return nil, err
		}
		if owner := foreignID(sni["certificate"]); owner != strings.ToLower(certID) {
			return nil, schema.SchemaViolation(schema.Errors{
				"snis": name + " already associated with existing certificate '" + owner + "'",
			})
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// syncSNIs makes a certificate's SNIs exactly names: the others are
// deleted and the missing ones created.
func (s *Service) syncSNIs(ctx context.Context, tx *store.Tx, certID string, names []string) error {
	have := map[string]bool{}
	var drop []string
	err := eachChild(ctx, tx, entity.SNIs, entity.Certificates, certID, "certificate", func(e map[string]any) error {
		name, _ := e["name"].(string)
		if slices.Contains(names, name) {
			have[name] = true
		} else {
			drop = append(drop, idOf(e))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, id := range drop {
		if _, err := tx.Delete(ctx, entity.SNIs, id); err != nil {
			return err
		}
	}
	t := s.cat.Type(entity.SNIs)
	for _, name := range names {
		if have[name] {
			continue
		}
		sni, verr := t.Write(map[string]any{"name": name, "certificate": map[string]any{"id": strings.ToLower(certID)}}, schema.Insert, tx.Now())
		if verr != nil {
			return verr
		}
		if err := tx.Insert(ctx, entity.SNIs, sni, store.PutOptions{}); err != nil {
			return err
		}
	}
	return nil
}

// checkCAReferences refuses to delete a CA certificate that a service
// still lists in its ca_certificates (Kong's code 19).
func (s *Service) checkCAReferences(ctx context.Context, r reader, id string) error {
	id = strings.ToLower(id)
	var user string
	err := eachEntity(ctx, r, entity.Services, func(svc map[string]any) error {
		list, _ := svc["ca_certificates"].([]any)
		for _, v := range list {
			if ref, _ := v.(string); strings.ToLower(ref) == id && user == "" {
				user = idOf(svc)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if user != "" {
		return schema.ReferencedByOthers("ca certificate " + id + " is still referenced by services (id = " + user + ")")
	}
	return nil
}
