package admin

import (
	"context"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/store"
)

// Targets live under their upstream (/upstreams/{u}/targets): the generic
// nested operations list and create them; a target path segment is its id
// or its address (host:port, normalized as stored: a missing port is
// 8000). As in Kong's kong/api/routes/upstreams.lua, PUT and PATCH both
// update an existing target (404 when absent) and DELETE of an absent
// target is 404.

// targetScope is the scope of an upstream's targets.
func (s *Service) targetScope(upstream string) Scope {
	return Scope{Parent: s.cat.Type(entity.Upstreams), ParentKey: upstream, Field: "upstream"}
}

// targetByAddress finds an upstream's target by its address.
func (s *Service) targetByAddress(ctx context.Context, r reader, upstreamID, address string) (map[string]any, error) {
	want := address
	if n, ok := entity.NormalizeTarget(address); ok {
		want = n
	}
	var out map[string]any
	err := eachChild(ctx, r, entity.Targets, entity.Upstreams, upstreamID, "upstream", func(e map[string]any) error {
		if t, _ := e["target"].(string); (t == want || t == address) && out == nil {
			out = e
		}
		return nil
	})
	return out, err
}

// GetTarget returns an upstream's target (ErrNotFound when either is
// missing).
func (s *Service) GetTarget(ctx context.Context, upstream, target string) (map[string]any, error) {
	return s.Get(ctx, s.cat.Type(entity.Targets), s.targetScope(upstream), target)
}

// UpdateTarget updates an upstream's target with PATCH semantics; PUT
// does the same in Kong. It answers ErrNotFound when either is missing.
func (s *Service) UpdateTarget(ctx context.Context, upstream, target string, in Input) (map[string]any, error) {
	t := s.cat.Type(entity.Targets)
	scope := s.targetScope(upstream)
	var out map[string]any
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		parent, err := s.parent(ctx, tx, scope)
		if err != nil {
			return err
		}
		stored, _, err := s.findForWrite(ctx, tx, t, target, scope, parent)
		if err != nil {
			return err
		}
		if stored == nil || !belongs(stored, scope, parent) {
			return ErrNotFound
		}
		out, err = s.patch(ctx, tx, t, stored, in, nil)
		return err
	})
	return out, err
}

// DeleteTarget deletes an upstream's target; ErrNotFound when either is
// missing.
func (s *Service) DeleteTarget(ctx context.Context, upstream, target string) error {
	return s.Delete(ctx, s.cat.Type(entity.Targets), s.targetScope(upstream), target)
}

// ListTargets lists an upstream's targets.
func (s *Service) ListTargets(ctx context.Context, upstream string, opts ListOptions) (Page, error) {
	return s.List(ctx, s.cat.Type(entity.Targets), s.targetScope(upstream), opts)
}

// CreateTarget adds a target to an upstream.
func (s *Service) CreateTarget(ctx context.Context, upstream string, in Input) (map[string]any, error) {
	return s.Create(ctx, s.cat.Type(entity.Targets), s.targetScope(upstream), in)
}
