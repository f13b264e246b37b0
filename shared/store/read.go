package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gatehouse.dev/shared/schema"
)

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// liveFilter hides expired entities from Admin API reads. Snapshots and
// the change log keep them: data planes expire them on their own, and
// admin-api removes them as ordinary logged deletes.
const liveFilter = "(e.expires_at IS NULL OR e.expires_at > now())"

// Get returns the entity of type typ with the given id, or ErrNotFound.
// Entities of TTL types that expire carry "ttl": the seconds left.
func (s *Store) Get(ctx context.Context, typ, id string) (map[string]any, error) {
	return s.get(ctx, s.pool, typ, id, false)
}

func (s *Store) get(ctx context.Context, q querier, typ, id string, forUpdate bool) (map[string]any, error) {
	if !schema.IsUUID(id) {
		return nil, ErrNotFound
	}
	sql := "SELECT e.data, e.expires_at FROM entities e WHERE e.entity_type = $1 AND e.id = $2 AND " + liveFilter
	if forUpdate {
		sql += " FOR UPDATE"
	}
	return s.one(ctx, q, typ, sql, typ, strings.ToLower(id))
}

// GetByKey returns the entity whose unique field equals value (an
// endpoint key such as a service name or a consumer's custom_id).
func (s *Store) GetByKey(ctx context.Context, typ, field string, value any) (map[string]any, error) {
	return s.getByKey(ctx, s.pool, typ, field, value, false)
}

func (s *Store) getByKey(ctx context.Context, q querier, typ, field string, value any, forUpdate bool) (map[string]any, error) {
	t, err := s.typ(typ)
	if err != nil {
		return nil, err
	}
	sql := `SELECT e.data, e.expires_at FROM entity_keys k JOIN entities e ON e.entity_type = k.entity_type AND e.id = k.id
		WHERE k.entity_type = $1 AND k.key_name = $2 AND k.key_value = $3 AND ` + liveFilter
	if forUpdate {
		sql += " FOR UPDATE OF e"
	}
	return s.one(ctx, q, typ, sql, typ, field, keyText(t, field, value))
}

func (s *Store) one(ctx context.Context, q querier, typ, sql string, args ...any) (map[string]any, error) {
	var data []byte
	var expires *time.Time
	err := q.QueryRow(ctx, sql, args...).Scan(&data, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapConnErr("read "+typ, err)
	}
	return s.withTTL(typ, data, expires)
}

func (s *Store) withTTL(typ string, data []byte, expires *time.Time) (map[string]any, error) {
	e, err := s.decode(typ, data)
	if err != nil {
		return nil, err
	}
	if expires != nil {
		left := math.Ceil(expires.Sub(s.now()).Seconds())
		if left < 0 {
			left = 0
		}
		e["ttl"] = int64(left)
	}
	return e, nil
}

// ListQuery selects a page of entities.
type ListQuery struct {
	// Size is the page size (1-1000; callers validate it).
	Size int
	// Offset is the token of the previous page ("" for the first).
	Offset string
	// Tags filters by tags: all of them (TagsOr false) or any (true).
	Tags   []string
	TagsOr bool
	// Parent restricts the list to entities whose foreign field Field
	// points at the entity ParentID of type ParentType.
	ParentType, ParentID, Field string
}

// Page is one page of a list.
type Page struct {
	Data []map[string]any
	// Offset is the token for the next page, "" on the last page.
	Offset string
}

// List returns a page of entities of type typ in id order.
func (s *Store) List(ctx context.Context, typ string, q ListQuery) (Page, error) {
	return s.list(ctx, s.pool, typ, q, false)
}

func (s *Store) list(ctx context.Context, db querier, typ string, q ListQuery, _ bool) (Page, error) {
	if _, err := s.typ(typ); err != nil {
		return Page{}, err
	}
	size := q.Size
	if size <= 0 {
		size = 100
	}
	after := ""
	if q.Offset != "" {
		id, err := decodeOffset(q.Offset)
		if err != nil {
			return Page{}, schema.InvalidOffset(q.Offset, err.Error())
		}
		after = id
	}
	args := []any{typ}
	where := []string{"e.entity_type = $1", liveFilter}
	from := "entities e"
	if q.ParentType != "" {
		from = "entity_refs r JOIN entities e ON e.entity_type = r.entity_type AND e.id = r.id"
		args = append(args, q.ParentType, strings.ToLower(q.ParentID), q.Field)
		where = append(where, "r.entity_type = $1", "r.ref_type = $2", "r.ref_id = $3", "r.field = $4")
	}
	if after != "" {
		args = append(args, after)
		where = append(where, fmt.Sprintf("e.id > $%d", len(args)))
	}
	if len(q.Tags) > 0 {
		args = append(args, q.Tags)
		op := "@>"
		if q.TagsOr {
			op = "&&"
		}
		where = append(where, fmt.Sprintf("e.tags %s $%d", op, len(args)))
	}
	args = append(args, size+1)
	sql := fmt.Sprintf("SELECT e.id::text, e.data, e.expires_at FROM %s WHERE %s ORDER BY e.id LIMIT $%d",
		from, strings.Join(where, " AND "), len(args))
	rows, err := db.Query(ctx, sql, args...)
	if err != nil {
		return Page{}, wrapConnErr("list "+typ, err)
	}
	defer rows.Close()
	var page Page
	var lastID string
	for rows.Next() {
		var id string
		var data []byte
		var expires *time.Time
		if err := rows.Scan(&id, &data, &expires); err != nil {
			return Page{}, wrapConnErr("list "+typ, err)
		}
		if len(page.Data) == size {
			page.Offset = encodeOffset(lastID)
			break
		}
		e, err := s.withTTL(typ, data, expires)
		if err != nil {
			return Page{}, err
		}
		page.Data = append(page.Data, e)
		lastID = id
	}
	if err := rows.Err(); err != nil {
		return Page{}, wrapConnErr("list "+typ, err)
	}
	return page, nil
}

func encodeOffset(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

func decodeOffset(off string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(off)
	if err != nil {
		return "", errors.New("bad base64 encoding")
	}
	if !schema.IsUUID(string(b)) {
		return "", errors.New("malformed offset")
	}
	return strings.ToLower(string(b)), nil
}

// TagRow is one row of GET /tags.
type TagRow struct {
	Tag        string `json:"tag"`
	EntityName string `json:"entity_name"`
	EntityID   string `json:"entity_id"`
}

// TagPage is a page of GET /tags.
type TagPage struct {
	Data   []TagRow
	Offset string
}

// ListTags pages through (tag, entity type, id) triples, all tags or one.
func (s *Store) ListTags(ctx context.Context, tag string, size int, offset string) (TagPage, error) {
	if size <= 0 {
		size = 100
	}
	var after [3]string
	if offset != "" {
		b, err := base64.RawURLEncoding.DecodeString(offset)
		parts := strings.SplitN(string(b), "\x00", 3)
		if err != nil || len(parts) != 3 {
			return TagPage{}, schema.InvalidOffset(offset, "bad base64 encoding")
		}
		copy(after[:], parts)
	}
	args := []any{size + 1}
	where := []string{liveFilter}
	if tag != "" {
		args = append(args, tag)
		where = append(where, fmt.Sprintf("t.tag = $%d", len(args)))
	}
	if offset != "" {
		args = append(args, after[0], after[1], after[2])
		n := len(args)
		where = append(where, fmt.Sprintf("(t.tag, e.entity_type, e.id::text) > ($%d, $%d, $%d)", n-2, n-1, n))
	}
	sql := fmt.Sprintf(`SELECT t.tag, e.entity_type, e.id::text FROM entities e, unnest(e.tags) AS t(tag)
		WHERE %s ORDER BY t.tag, e.entity_type, e.id::text LIMIT $1`, strings.Join(where, " AND "))
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return TagPage{}, wrapConnErr("list tags", err)
	}
	defer rows.Close()
	var page TagPage
	for rows.Next() {
		var r TagRow
		if err := rows.Scan(&r.Tag, &r.EntityName, &r.EntityID); err != nil {
			return TagPage{}, wrapConnErr("list tags", err)
		}
		if len(page.Data) == size {
			last := page.Data[len(page.Data)-1]
			page.Offset = base64.RawURLEncoding.EncodeToString([]byte(last.Tag + "\x00" + last.EntityName + "\x00" + last.EntityID))
			break
		}
		page.Data = append(page.Data, r)
	}
	return page, wrapConnErr("list tags", rows.Err())
}

// PluginNames returns the distinct names of configured plugins, sorted
// (GET / enabled_in_cluster, and the configured-plugin compatibility check).
func (s *Store) PluginNames(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, "SELECT DISTINCT data->>'name' FROM entities WHERE entity_type = 'plugins' ORDER BY 1")
	if err != nil {
		return nil, wrapConnErr("list plugin names", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, wrapConnErr("list plugin names", err)
	}
	return names, nil
}

// Count returns the number of entities of a type.
func (s *Store) Count(ctx context.Context, typ string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM entities WHERE entity_type = $1", typ).Scan(&n); err != nil {
		return 0, wrapConnErr("count "+typ, err)
	}
	return n, nil
}
