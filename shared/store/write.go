package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// Op is a change-log operation.
type Op string

// The change-log operations.
const (
	OpUpsert Op = "upsert"
	OpDelete Op = "delete"
)

// Change is one change-log row: an entity after a write, or its deletion.
type Change struct {
	Revision int64
	Type     string
	ID       string
	Op       Op
	// Entity is the entity after the change (nil for deletes).
	Entity map[string]any
}

// Tx is one write: all its changes become one revision, or none if it
// fails. Use it only inside the function given to Store.Write.
type Tx struct {
	s       *Store
	tx      pgx.Tx
	rev     int64
	now     time.Time
	changes []Change
}

// Revision is the revision this write will commit as.
func (tx *Tx) Revision() int64 { return tx.rev }

// Now is the time the write started, for timestamps.
func (tx *Tx) Now() time.Time { return tx.now }

// Changes returns the changes made so far.
func (tx *Tx) Changes() []Change { return tx.changes }

// Write runs fn in one transaction that takes the next revision, records
// it with the trace context of ctx, appends the change log, and notifies
// listeners on commit. It returns the committed revision, or 0 when fn
// changed nothing (the transaction is then rolled back and no revision is
// used). An error from fn rolls everything back and is returned as is.
func (s *Store) Write(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) (int64, error) {
	pgtx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, wrapConnErr("begin write", err)
	}
	defer func() { _ = pgtx.Rollback(context.WithoutCancel(ctx)) }()

	var rev int64
	if err := pgtx.QueryRow(ctx, "UPDATE config_revision SET revision = revision + 1 RETURNING revision").Scan(&rev); err != nil {
		return 0, wrapConnErr("take revision", err)
	}
	tx := &Tx{s: s, tx: pgtx, rev: rev, now: s.now()}
	if err := fn(ctx, tx); err != nil {
		return 0, err
	}
	if len(tx.changes) == 0 {
		return 0, nil
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	var trace any
	if len(carrier) > 0 {
		trace = map[string]string(carrier)
	}
	if _, err := pgtx.Exec(ctx, "INSERT INTO revisions (revision, created_at, trace) VALUES ($1, $2, $3)", rev, tx.now, trace); err != nil {
		return 0, wrapConnErr("record revision", err)
	}
	rows := make([][]any, len(tx.changes))
	for i, c := range tx.changes {
		var data any
		if c.Entity != nil {
			b, err := json.Marshal(c.Entity)
			if err != nil {
				return 0, fmt.Errorf("encode %s %s: %w", c.Type, c.ID, err)
			}
			data = string(b)
		}
		rows[i] = []any{rev, i + 1, c.Type, c.ID, string(c.Op), data}
	}
	if _, err := pgtx.CopyFrom(ctx, pgx.Identifier{"change_log"},
		[]string{"revision", "seq", "entity_type", "entity_id", "op", "entity"}, pgx.CopyFromRows(rows)); err != nil {
		return 0, wrapConnErr("append change log", err)
	}
	if _, err := pgtx.Exec(ctx, "SELECT pg_notify($1, $2)", NotifyChannel, strconv.FormatInt(rev, 10)); err != nil {
		return 0, wrapConnErr("notify", err)
	}
	if err := pgtx.Commit(ctx); err != nil {
		return 0, wrapConnErr("commit", err)
	}
	return rev, nil
}

// PutOptions tunes Insert, Upsert and Update. It has no options yet;
// it keeps the signatures stable as options are added.
type PutOptions struct{}

// Insert stores a new entity (already processed and validated by its
// type). It answers Kong's errors: code 3 for an existing id, 5 (409) for a
// unique key in use, 4 for a foreign key to a missing entity.
func (tx *Tx) Insert(ctx context.Context, typ string, e map[string]any, opts PutOptions) error {
	t, err := tx.s.typ(typ)
	if err != nil {
		return err
	}
	id, err := entityID(e)
	if err != nil {
		return err
	}
	exists, err := tx.exists(ctx, typ, id)
	if err != nil {
		return err
	}
	if exists {
		return schema.PrimaryKeyViolation(map[string]any{"id": id})
	}
	return tx.put(ctx, t, id, e, opts, false)
}

// Upsert stores e whether or not an entity with its id exists (PUT).
func (tx *Tx) Upsert(ctx context.Context, typ string, e map[string]any, opts PutOptions) error {
	t, err := tx.s.typ(typ)
	if err != nil {
		return err
	}
	id, err := entityID(e)
	if err != nil {
		return err
	}
	exists, err := tx.exists(ctx, typ, id)
	if err != nil {
		return err
	}
	return tx.put(ctx, t, id, e, opts, exists)
}

// Update replaces an existing entity (PATCH after merging). It returns
// ErrNotFound when the entity does not exist.
func (tx *Tx) Update(ctx context.Context, typ string, e map[string]any, opts PutOptions) error {
	t, err := tx.s.typ(typ)
	if err != nil {
		return err
	}
	id, err := entityID(e)
	if err != nil {
		return err
	}
	exists, err := tx.exists(ctx, typ, id)
	if err != nil {
		return err
	}
	if !exists {
		return ErrNotFound
	}
	return tx.put(ctx, t, id, e, opts, true)
}

func entityID(e map[string]any) (string, error) {
	id, _ := e["id"].(string)
	if !schema.IsUUID(id) {
		return "", errors.New("entity without a valid id")
	}
	return strings.ToLower(id), nil
}

func (tx *Tx) exists(ctx context.Context, typ, id string) (bool, error) {
	var one int
	err := tx.tx.QueryRow(ctx, "SELECT 1 FROM entities WHERE entity_type = $1 AND id = $2", typ, id).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapConnErr("look up "+typ, err)
	}
	return true, nil
}

func (tx *Tx) put(ctx context.Context, t *entity.Type, id string, e map[string]any, _ PutOptions, replace bool) error {
	keys := uniqueKeys(t)
	for _, k := range keys {
		val, ok := k.value(t, e)
		if !ok {
			continue
		}
		var owner string
		err := tx.tx.QueryRow(ctx, "SELECT id::text FROM entity_keys WHERE entity_type = $1 AND key_name = $2 AND key_value = $3",
			t.Name, k.name, val).Scan(&owner)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return wrapConnErr("check unique "+k.name, err)
		case owner != id:
			return schema.UniqueViolation(k.violation(e))
		}
	}
	for _, fk := range t.ForeignKeys() {
		ref := foreignID(e[fk.Field])
		if ref == "" {
			continue
		}
		if fk.Reference == t.Name && ref == id {
			continue
		}
		ok, err := tx.exists(ctx, fk.Reference, ref)
		if err != nil {
			return err
		}
		if !ok {
			return schema.ForeignKeyViolation(fk.Field, map[string]any{"id": ref}, fk.Reference)
		}
	}
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode %s: %w", t.Name, err)
	}
	// Entities of TTL types expire at their expires_at (unix seconds):
	// Admin API reads hide them from then on.
	var expires *time.Time
	if at, ok := schema.AsInt(e["expires_at"]); ok && t.TTL {
		when := time.Unix(at, 0)
		expires = &when
	}
	if replace {
		if _, err := tx.tx.Exec(ctx, "UPDATE entities SET data = $3, tags = $4, expires_at = $5 WHERE entity_type = $1 AND id = $2",
			t.Name, id, string(data), tagsOf(e), expires); err != nil {
			return wrapConnErr("update "+t.Name, err)
		}
		if _, err := tx.tx.Exec(ctx, "DELETE FROM entity_keys WHERE entity_type = $1 AND id = $2", t.Name, id); err != nil {
			return wrapConnErr("update keys", err)
		}
		if _, err := tx.tx.Exec(ctx, "DELETE FROM entity_refs WHERE entity_type = $1 AND id = $2", t.Name, id); err != nil {
			return wrapConnErr("update references", err)
		}
	} else {
		if _, err := tx.tx.Exec(ctx, "INSERT INTO entities (entity_type, id, data, tags, expires_at) VALUES ($1, $2, $3, $4, $5)",
			t.Name, id, string(data), tagsOf(e), expires); err != nil {
			return wrapConnErr("insert "+t.Name, err)
		}
	}
	for _, k := range keys {
		if val, ok := k.value(t, e); ok {
			if _, err := tx.tx.Exec(ctx, "INSERT INTO entity_keys (entity_type, key_name, key_value, id) VALUES ($1, $2, $3, $4)",
				t.Name, k.name, val, id); err != nil {
				return wrapConnErr("insert key", err)
			}
		}
	}
	for _, fk := range t.ForeignKeys() {
		if ref := foreignID(e[fk.Field]); ref != "" {
			if _, err := tx.tx.Exec(ctx, "INSERT INTO entity_refs (entity_type, id, field, ref_type, ref_id) VALUES ($1, $2, $3, $4, $5)",
				t.Name, id, fk.Field, fk.Reference, ref); err != nil {
				return wrapConnErr("insert reference", err)
			}
		}
	}
	tx.changes = append(tx.changes, Change{Revision: tx.rev, Type: t.Name, ID: id, Op: OpUpsert, Entity: e})
	return nil
}

// Delete removes an entity and, recursively, the entities whose cascading
// foreign keys point at it, logging every removal. It refuses (Kong's code
// 4) when a restricting foreign key still points at it. Deleting an entity
// that does not exist is not an error; the result says whether it existed.
func (tx *Tx) Delete(ctx context.Context, typ, id string) (bool, error) {
	if _, err := tx.s.typ(typ); err != nil {
		return false, err
	}
	id = strings.ToLower(id)
	ok, err := tx.exists(ctx, typ, id)
	if err != nil || !ok {
		return false, err
	}
	return true, tx.delete(ctx, typ, id, 0)
}

func (tx *Tx) delete(ctx context.Context, typ, id string, depth int) error {
	if depth > 16 {
		return fmt.Errorf("delete %s %s: cascade too deep", typ, id)
	}
	type child struct{ typ, id, field string }
	rows, err := tx.tx.Query(ctx, "SELECT entity_type, id::text, field FROM entity_refs WHERE ref_type = $1 AND ref_id = $2 ORDER BY entity_type, id",
		typ, id)
	if err != nil {
		return wrapConnErr("find references", err)
	}
	children, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (child, error) {
		var c child
		err := r.Scan(&c.typ, &c.id, &c.field)
		return c, err
	})
	if err != nil {
		return wrapConnErr("find references", err)
	}
	for _, c := range children {
		if c.typ == typ && c.id == id {
			continue
		}
		ct := tx.s.cat.Type(c.typ)
		if ct == nil {
			continue
		}
		f := ct.Schema.Field(c.field)
		if f == nil || f.OnDelete != "cascade" {
			return schema.ForeignKeyRestricted(typ, c.typ)
		}
	}
	for _, c := range children {
		if c.typ == typ && c.id == id {
			continue
		}
		// A child may already be gone through another path of the cascade.
		ok, err := tx.exists(ctx, c.typ, c.id)
		if err != nil {
			return err
		}
		if ok {
			if err := tx.delete(ctx, c.typ, c.id, depth+1); err != nil {
				return err
			}
		}
	}
	for _, q := range []string{
		"DELETE FROM entity_keys WHERE entity_type = $1 AND id = $2",
		"DELETE FROM entity_refs WHERE entity_type = $1 AND id = $2",
		"DELETE FROM entities WHERE entity_type = $1 AND id = $2",
	} {
		if _, err := tx.tx.Exec(ctx, q, typ, id); err != nil {
			return wrapConnErr("delete "+typ, err)
		}
	}
	tx.changes = append(tx.changes, Change{Revision: tx.rev, Type: typ, ID: id, Op: OpDelete})
	return nil
}

// InsertAll stores many new entities at once with COPY (POST /config): a
// few round trips for the whole set instead of several per entity. The
// caller vouches for them: each already processed and validated by its
// type, and unique keys and references checked across the set (the
// declarative parser does both); ids or unique keys already in the
// database fail the whole write. Types are inserted in catalog order.
func (tx *Tx) InsertAll(ctx context.Context, entities map[string][]map[string]any) error {
	var rows, keys, refs [][]any
	for _, t := range tx.s.cat.Types() {
		list := entities[t.Name]
		if len(list) == 0 {
			continue
		}
		ukeys := uniqueKeys(t)
		fks := t.ForeignKeys()
		for _, e := range list {
			id, err := entityID(e)
			if err != nil {
				return fmt.Errorf("%s: %w", t.Name, err)
			}
			data, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode %s %s: %w", t.Name, id, err)
			}
			var expires any
			if at, ok := schema.AsInt(e["expires_at"]); ok && t.TTL {
				expires = time.Unix(at, 0)
			}
			rows = append(rows, []any{t.Name, id, string(data), tagsOf(e), expires})
			for _, k := range ukeys {
				if val, ok := k.value(t, e); ok {
					keys = append(keys, []any{t.Name, k.name, val, id})
				}
			}
			for _, fk := range fks {
				if ref := foreignID(e[fk.Field]); ref != "" {
					refs = append(refs, []any{t.Name, id, fk.Field, fk.Reference, ref})
				}
			}
			tx.changes = append(tx.changes, Change{Revision: tx.rev, Type: t.Name, ID: id, Op: OpUpsert, Entity: e})
		}
	}
	copies := []struct {
		table string
		cols  []string
		rows  [][]any
	}{
		{"entities", []string{"entity_type", "id", "data", "tags", "expires_at"}, rows},
		{"entity_keys", []string{"entity_type", "key_name", "key_value", "id"}, keys},
		{"entity_refs", []string{"entity_type", "id", "field", "ref_type", "ref_id"}, refs},
	}
	for _, c := range copies {
		if len(c.rows) == 0 {
			continue
		}
		if _, err := tx.tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
			return wrapConnErr("bulk insert "+c.table, err)
		}
	}
	return nil
}

// DeleteAll removes every entity (POST /config replaces the whole
// configuration), logging each removal.
func (tx *Tx) DeleteAll(ctx context.Context) error {
	rows, err := tx.tx.Query(ctx, "SELECT entity_type, id::text FROM entities ORDER BY entity_type, id")
	if err != nil {
		return wrapConnErr("list entities", err)
	}
	type ref struct{ typ, id string }
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (ref, error) {
		var x ref
		err := r.Scan(&x.typ, &x.id)
		return x, err
	})
	if err != nil {
		return wrapConnErr("list entities", err)
	}
	for _, q := range []string{"DELETE FROM entity_keys", "DELETE FROM entity_refs", "DELETE FROM entities"} {
		if _, err := tx.tx.Exec(ctx, q); err != nil {
			return wrapConnErr("delete all", err)
		}
	}
	for _, x := range all {
		tx.changes = append(tx.changes, Change{Revision: tx.rev, Type: x.typ, ID: x.id, Op: OpDelete})
	}
	return nil
}

// Get reads an entity inside the write (see Store.Get).
func (tx *Tx) Get(ctx context.Context, typ, id string) (map[string]any, error) {
	return tx.s.get(ctx, tx.tx, typ, id, true)
}

// GetByKey reads an entity by a unique field inside the write.
func (tx *Tx) GetByKey(ctx context.Context, typ, field string, value any) (map[string]any, error) {
	return tx.s.getByKey(ctx, tx.tx, typ, field, value, true)
}

// List reads entities inside the write (see Store.List).
func (tx *Tx) List(ctx context.Context, typ string, q ListQuery) (Page, error) {
	return tx.s.list(ctx, tx.tx, typ, q, true)
}
