package admin

import (
	"context"
	"math"
	"sort"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// present returns an entity as the Admin API shows it: deprecated
// shorthand fields echoed, a TTL entity's "ttl" (seconds left) and a
// certificate's sorted "snis". snis, when not nil, are the certificate's
// SNI names already known; otherwise they are read with r.
func (s *Service) present(ctx context.Context, r reader, t *entity.Type, e map[string]any, snis []string) (map[string]any, error) {
	out := t.SchemaFor(e).Present(e)
	if t.TTL {
		s.setTTL(out)
	}
	if t.Name == entity.Certificates {
		if snis == nil {
			var err error
			if snis, err = s.sniNames(ctx, r, idOf(e)); err != nil {
				return nil, err
			}
		}
		list := make([]any, len(snis))
		for i, n := range snis {
			list[i] = n
		}
		out["snis"] = list
	}
	return out, nil
}

// presentAll presents a page of entities.
func (s *Service) presentAll(ctx context.Context, r reader, t *entity.Type, list []map[string]any) ([]map[string]any, error) {
	out := make([]map[string]any, len(list))
	for i, e := range list {
		p, err := s.present(ctx, r, t, e, nil)
		if err != nil {
			return nil, err
		}
		out[i] = p
	}
	return out, nil
}

// setTTL shows the seconds left before expires_at as "ttl", as Kong
// shows a TTL entity's remaining ttl; entities without expiry have none.
func (s *Service) setTTL(e map[string]any) {
	at, ok := schema.AsInt(e["expires_at"])
	if !ok {
		delete(e, "ttl")
		return
	}
	left := math.Ceil(time.Unix(at, 0).Sub(s.now()).Seconds())
	e["ttl"] = int64(math.Max(left, 0))
}

// sniNames returns the names of a certificate's SNIs, sorted.
func (s *Service) sniNames(ctx context.Context, r reader, certID string) ([]string, error) {
	names := []string{}
	err := eachChild(ctx, r, entity.SNIs, entity.Certificates, certID, "certificate", func(e map[string]any) error {
		if n, ok := e["name"].(string); ok {
			names = append(names, n)
		}
		return nil
	})
	sort.Strings(names)
	return names, err
}

// eachChild calls fn with every entity of type typ whose foreign field
// points at the parent, page by page.
func eachChild(ctx context.Context, r reader, typ, parentType, parentID, field string, fn func(map[string]any) error) error {
	q := store.ListQuery{Size: 1000, ParentType: parentType, ParentID: parentID, Field: field}
	for {
		page, err := r.List(ctx, typ, q)
		if err != nil {
			return err
		}
		for _, e := range page.Data {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.Offset == "" {
			return nil
		}
		q.Offset = page.Offset
	}
}

// eachEntity calls fn with every entity of type typ, page by page.
func eachEntity(ctx context.Context, r reader, typ string, fn func(map[string]any) error) error {
	q := store.ListQuery{Size: 1000}
	for {
		page, err := r.List(ctx, typ, q)
		if err != nil {
			return err
		}
		for _, e := range page.Data {
			if err := fn(e); err != nil {
				return err
			}
		}
		if page.Offset == "" {
			return nil
		}
		q.Offset = page.Offset
	}
}
