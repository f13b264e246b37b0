package admin

import (
	"context"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// Scope places an operation under a parent entity, as the nested
// endpoints /{P}/{p}/{E}[/{e}] do (/services/{s}/routes): the parent must
// exist (else the plain 404), a POST forces the child's foreign field to
// it, and an entity that does not belong to it is not found.
type Scope struct {
	// Parent is the parent's type; nil for a top-level operation.
	Parent *entity.Type
	// ParentKey is the path segment naming the parent (id or endpoint key).
	ParentKey string
	// Field is the child's foreign field that points at the parent.
	Field string
}

// ListOptions selects a page.
type ListOptions struct {
	// Size is the page size (1-1000, validated by the caller).
	Size int
	// Offset is the token of the previous page ("" for the first).
	Offset string
	// Tags filters top-level lists: all of them, or any when TagsOr.
	Tags   []string
	TagsOr bool
}

// Page is one page of entities as the Admin API shows them.
type Page struct {
	Data []map[string]any
	// Offset is the token of the next page, "" on the last one.
	Offset string
}

// saveMode is how save stores an entity.
type saveMode int

const (
	modeInsert saveMode = iota
	modeUpsert
	modeUpdate
)

// Get returns the entity a path segment names (GET /{E}/{e}, or nested
// /{P}/{p}/{E}/{e}). It answers ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, t *entity.Type, scope Scope, key string) (map[string]any, error) {
	parent, err := s.parent(ctx, s.store, scope)
	if err != nil {
		return nil, err
	}
	e, _, err := s.find(ctx, s.store, t, key, scope, parent)
	if err != nil {
		return nil, err
	}
	if e == nil || !belongs(e, scope, parent) {
		return nil, ErrNotFound
	}
	return s.present(ctx, s.store, t, e, nil)
}

// List returns a page of entities of type t, of the scope's parent when
// nested (nested lists ignore tags, as Kong's do).
func (s *Service) List(ctx context.Context, t *entity.Type, scope Scope, opts ListOptions) (Page, error) {
	q := store.ListQuery{Size: opts.Size, Offset: opts.Offset}
	if scope.Parent != nil {
		parent, err := s.parent(ctx, s.store, scope)
		if err != nil {
			return Page{}, err
		}
		q.ParentType, q.ParentID, q.Field = scope.Parent.Name, idOf(parent), scope.Field
	} else {
		q.Tags, q.TagsOr = opts.Tags, opts.TagsOr
	}
	page, err := s.store.List(ctx, t.Name, q)
	if err != nil {
		return Page{}, err
	}
	data, err := s.presentAll(ctx, s.store, t, page.Data)
	if err != nil {
		return Page{}, err
	}
	return Page{Data: data, Offset: page.Offset}, nil
}

// Create inserts a new entity (POST /{E}, or nested with the parent
// forced).
func (s *Service) Create(ctx context.Context, t *entity.Type, scope Scope, in Input) (map[string]any, error) {
	var out map[string]any
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		fields, opts, err := in.fields(t, nil)
		if err != nil {
			return err
		}
		parent, err := s.parent(ctx, tx, scope)
		if err != nil {
			return err
		}
		if parent != nil {
			fields[scope.Field] = ref(parent)
		}
		out, err = s.save(ctx, tx, t, fields, opts, modeInsert, nil)
		return err
	})
	return out, err
}

// Upsert creates or replaces the entity a path segment names (PUT): every
// field the body omits is reset to its default. A UUID segment is the id;
// an endpoint key is upserted by that field (its value from the path
// wins). Nested, the parent is forced and membership is not checked, as
// in Kong.
func (s *Service) Upsert(ctx context.Context, t *entity.Type, scope Scope, key string, in Input) (map[string]any, error) {
	var out map[string]any
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		fields, opts, err := in.fields(t, nil)
		if err != nil {
			return err
		}
		parent, err := s.parent(ctx, tx, scope)
		if err != nil {
			return err
		}
		if err := s.upsertKey(ctx, tx, t, key, fields); err != nil {
			return err
		}
		if parent != nil {
			fields[scope.Field] = ref(parent)
		}
		out, err = s.save(ctx, tx, t, fields, opts, modeUpsert, nil)
		return err
	})
	return out, err
}

// upsertKey puts the path segment of a PUT into fields: the id, or the
// endpoint key's value and the id of the entity that holds it.
func (s *Service) upsertKey(ctx context.Context, tx *store.Tx, t *entity.Type, key string, fields map[string]any) error {
	if schema.IsUUID(key) {
		fields["id"] = strings.ToLower(key)
		return nil
	}
	if t.Name == entity.Certificates {
		return s.upsertCertificateBySNI(ctx, tx, key, fields)
	}
	ek := t.Schema.EndpointKey
	if ek == "" {
		return schema.InvalidPrimaryKey(map[string]any{"id": "expected a valid UUID"})
	}
	existing, filter, err := s.lookup(ctx, tx, t, key)
	if err != nil {
		return err
	}
	fields[ek] = filter[ek]
	if existing != nil {
		fields["id"] = idOf(existing)
	}
	return nil
}

// Update merges a patch into the entity a path segment names (PATCH):
// records merge recursively, everything else is replaced. A missing
// entity is Kong's code 6 at the top level and the plain 404 when nested.
func (s *Service) Update(ctx context.Context, t *entity.Type, scope Scope, key string, in Input) (map[string]any, error) {
	var out map[string]any
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		parent, err := s.parent(ctx, tx, scope)
		if err != nil {
			return err
		}
		stored, filter, err := s.findForWrite(ctx, tx, t, key, scope, parent)
		if err != nil {
			return err
		}
		if stored == nil {
			if parent != nil {
				return ErrNotFound
			}
			return notFound(filter)
		}
		if !belongs(stored, scope, parent) {
			return ErrNotFound
		}
		out, err = s.patch(ctx, tx, t, stored, in, func(fields map[string]any) {
			if _, given := fields[scope.Field]; parent != nil && !given {
				fields[scope.Field] = ref(parent)
			}
		})
		return err
	})
	return out, err
}

// patch applies in to stored inside a write; adjust may complete the
// patch before it is merged.
func (s *Service) patch(ctx context.Context, tx *store.Tx, t *entity.Type, stored map[string]any, in Input, adjust func(map[string]any)) (map[string]any, error) {
	var hint map[string]any
	if name, ok := stored["name"].(string); ok && t.Name == entity.Plugins {
		hint = map[string]any{"name": name}
	}
	fields, opts, err := in.fields(t, hint)
	if err != nil {
		return nil, err
	}
	if adjust != nil {
		adjust(fields)
	}
	fields["id"] = idOf(stored)
	return s.save(ctx, tx, t, fields, opts, modeUpdate, stored)
}

// Delete removes the entity a path segment names, with the entities that
// cascade from it. Deleting what does not exist succeeds at the top level
// (204) and is the plain 404 when nested.
func (s *Service) Delete(ctx context.Context, t *entity.Type, scope Scope, key string) error {
	_, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		parent, err := s.parent(ctx, tx, scope)
		if err != nil {
			return err
		}
		e, _, err := s.findForWrite(ctx, tx, t, key, scope, parent)
		if err != nil {
			return err
		}
		if e == nil {
			if parent != nil {
				return ErrNotFound
			}
			return nil
		}
		if !belongs(e, scope, parent) {
			return ErrNotFound
		}
		return s.delete(ctx, tx, t, idOf(e))
	})
	return err
}

// delete removes one entity after the checks Kong's DAO makes.
func (s *Service) delete(ctx context.Context, tx *store.Tx, t *entity.Type, id string) error {
	if t.Name == entity.CACertificates {
		if err := s.checkCAReferences(ctx, tx, id); err != nil {
			return err
		}
	}
	_, err := tx.Delete(ctx, t.Name, id)
	return err
}

// save processes, validates and stores an entity: foreign keys resolved,
// the ttl option applied, the type's own checks run, certificates' SNIs
// stored. It returns the entity as the Admin API shows it.
func (s *Service) save(ctx context.Context, tx *store.Tx, t *entity.Type, fields map[string]any, opts writeOptions, mode saveMode, stored map[string]any) (map[string]any, error) {
	if err := s.resolveForeign(ctx, tx, t, fields); err != nil {
		return nil, err
	}
	now := tx.Now()
	if t.TTL {
		opts.applyTTL(fields, now)
	}
	snis, hasSNIs := fields["snis"]
	hasSNIs = hasSNIs && t.Name == entity.Certificates
	var e map[string]any
	var verr *schema.Error
	switch mode {
	case modeInsert:
		e, verr = t.Write(fields, schema.Insert, now)
	case modeUpsert:
		e, verr = t.Write(fields, schema.Upsert, now)
	case modeUpdate:
		e, verr = t.Update(fields, stored, now)
	}
	if verr != nil {
		return nil, verr
	}
	if t.Name == entity.Plugins {
		if err := s.checkPluginProtocols(ctx, tx, e); err != nil {
			return nil, err
		}
	}
	var names []string
	if hasSNIs {
		var err error
		if names, err = s.checkSNIs(ctx, tx, idOf(e), snis); err != nil {
			return nil, err
		}
	}
	var err error
	switch mode {
	case modeInsert:
		err = tx.Insert(ctx, t.Name, e, store.PutOptions{})
	case modeUpsert:
		err = tx.Upsert(ctx, t.Name, e, store.PutOptions{})
	case modeUpdate:
		err = tx.Update(ctx, t.Name, e, store.PutOptions{})
	}
	if err != nil {
		return nil, err
	}
	if hasSNIs {
		if err := s.syncSNIs(ctx, tx, idOf(e), names); err != nil {
			return nil, err
		}
	}
	return s.present(ctx, tx, t, e, names)
}

// parent returns the scope's parent entity: nil at the top level,
// ErrNotFound when it does not exist.
func (s *Service) parent(ctx context.Context, r reader, scope Scope) (map[string]any, error) {
	if scope.Parent == nil {
		return nil, nil
	}
	e, _, err := s.lookup(ctx, r, scope.Parent, scope.ParentKey)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return nil, ErrNotFound
	}
	return e, nil
}

// find resolves a path segment to an entity, with the lookups Kong's
// endpoints add to the generic one: certificates by SNI name, targets by
// address and ACLs by group within their parent.
func (s *Service) find(ctx context.Context, r reader, t *entity.Type, key string, scope Scope, parent map[string]any) (map[string]any, map[string]any, error) {
	if schema.IsUUID(key) {
		return s.lookup(ctx, r, t, key)
	}
	switch {
	case t.Name == entity.Certificates && parent == nil:
		e, err := s.certificateBySNI(ctx, r, key)
		if err == nil && e == nil {
			err = errSNINotFound
		}
		return e, nil, err
	case t.Name == entity.Targets && parent != nil:
		e, err := s.targetByAddress(ctx, r, idOf(parent), key)
		return e, map[string]any{"target": key}, err
	case t.Name == entity.ACLs && parent != nil && scope.Field == "consumer":
		e, err := s.aclByGroup(ctx, r, idOf(parent), key)
		return e, map[string]any{"group": key}, err
	}
	return s.lookup(ctx, r, t, key)
}

// findForWrite is find for an entity a write will replace (see
// lookupForWrite).
func (s *Service) findForWrite(ctx context.Context, r reader, t *entity.Type, key string, scope Scope, parent map[string]any) (map[string]any, map[string]any, error) {
	e, filter, err := s.find(ctx, r, t, key, scope, parent)
	if e != nil && t.TTL {
		delete(e, "ttl")
	}
	return e, filter, err
}

// aclByGroup finds a consumer's ACL by its group name.
func (s *Service) aclByGroup(ctx context.Context, r reader, consumerID, group string) (map[string]any, error) {
	var out map[string]any
	err := eachChild(ctx, r, entity.ACLs, entity.Consumers, consumerID, "consumer", func(e map[string]any) error {
		if g, _ := e["group"].(string); g == group && out == nil {
			out = e
		}
		return nil
	})
	return out, err
}

// belongs reports whether e is the scope parent's child.
func belongs(e map[string]any, scope Scope, parent map[string]any) bool {
	return parent == nil || foreignID(e[scope.Field]) == strings.ToLower(idOf(parent))
}

// ref is the foreign key value pointing at e.
func ref(e map[string]any) map[string]any {
	return map[string]any{"id": strings.ToLower(idOf(e))}
}
