package admin

import (
	"context"
	"fmt"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// The foreign-entity endpoints /{E}/{e}/{F} (/routes/{r}/service) reach
// the entity a foreign field points at.

// foreignType returns the type a foreign field of t references.
func (s *Service) foreignType(t *entity.Type, field string) (*entity.Type, error) {
	for _, fk := range t.ForeignKeys() {
		if fk.Field == field {
			if p := s.cat.Type(fk.Reference); p != nil {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("%s has no foreign field %q", t.Name, field)
}

// GetForeign returns the entity that the field of the entity named by key
// points at; ErrNotFound when either is missing or the field is null.
func (s *Service) GetForeign(ctx context.Context, t *entity.Type, key, field string) (map[string]any, error) {
	pt, err := s.foreignType(t, field)
	if err != nil {
		return nil, err
	}
	e, _, err := s.lookup(ctx, s.store, t, key)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, ErrNotFound
	}
	id := foreignID(e[field])
	if id == "" {
		return nil, ErrNotFound
	}
	p, err := s.store.Get(ctx, pt.Name, id)
	if isNotFound(err) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.present(ctx, s.store, pt, p, nil)
}

// UpsertForeign is PUT /{E}/{e}/{F}: the referenced entity is upserted
// with the body; when the field is null a new entity is created and
// associated, in the same revision.
func (s *Service) UpsertForeign(ctx context.Context, t *entity.Type, key, field string, in Input) (map[string]any, error) {
	pt, err := s.foreignType(t, field)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	_, err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		e, _, err := s.lookupForWrite(ctx, tx, t, key)
		if err != nil {
			return err
		}
		if e == nil {
			return ErrNotFound
		}
		fields, opts, err := in.fields(pt, nil)
		if err != nil {
			return err
		}
		id := foreignID(e[field])
		associate := id == ""
		if associate {
			id = schema.NewUUID()
		}
		fields["id"] = id
		if out, err = s.save(ctx, tx, pt, fields, opts, modeUpsert, nil); err != nil {
			return err
		}
		if !associate {
			return nil
		}
		_, err = s.save(ctx, tx, t, map[string]any{field: map[string]any{"id": id}, "id": idOf(e)}, writeOptions{}, modeUpdate, e)
		return err
	})
	return out, err
}

// UpdateForeign is PATCH /{E}/{e}/{F}: the referenced entity is updated
// with the body.
func (s *Service) UpdateForeign(ctx context.Context, t *entity.Type, key, field string, in Input) (map[string]any, error) {
	pt, err := s.foreignType(t, field)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	_, err = s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		e, _, err := s.lookup(ctx, tx, t, key)
		if err != nil {
			return err
		}
		if e == nil {
			return ErrNotFound
		}
		id := foreignID(e[field])
		if id == "" {
			return ErrNotFound
		}
		stored, filter, err := s.lookupForWrite(ctx, tx, pt, id)
		if err != nil {
			return err
		}
		if stored == nil {
			return notFound(filter)
		}
		out, err = s.patch(ctx, tx, pt, stored, in, nil)
		return err
	})
	return out, err
}

// DeleteForeign is DELETE /{E}/{e}/{F}: never allowed (405), after the
// plain 404 when the entity or its reference is missing.
func (s *Service) DeleteForeign(ctx context.Context, t *entity.Type, key, field string) error {
	if _, err := s.foreignType(t, field); err != nil {
		return err
	}
	e, _, err := s.lookup(ctx, s.store, t, key)
	if err != nil {
		return err
	}
	if e == nil || foreignID(e[field]) == "" {
		return ErrNotFound
	}
	return ErrMethodNotAllowed
}
