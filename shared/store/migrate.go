package store

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrationLockID is the advisory lock that serialises concurrent
// migrations (several admin-api processes starting at once).
const migrationLockID = 0x6761746568 // "gateh"

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number", name)
		}
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, migration{version: v, name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, nil
}

// SchemaVersion is the schema version this binary expects.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// ErrSchemaTooNew means the database was migrated by a newer Gatehouse:
// this binary must not write to it.
var ErrSchemaTooNew = errors.New("database schema is newer than this binary")

// ErrSchemaOutdated means migrations are pending.
var ErrSchemaOutdated = errors.New("database schema is not up to date")

// Migrate applies the pending migrations and returns the versions it
// applied. It is idempotent and safe to run from several processes at once
// (an advisory lock serialises them); it refuses a database whose schema is
// newer than this binary's.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, wrapConnErr("acquire connection", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrationLockID); err != nil {
		return nil, wrapConnErr("take migration lock", err)
	}
	defer func() {
		// Unlock with a fresh context: the caller's may be cancelled.
		_, _ = conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLockID)
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    integer     PRIMARY KEY,
		name       text        NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	current, err := currentVersion(ctx, conn.Conn())
	if err != nil {
		return nil, err
	}
	latest := ms[len(ms)-1].version
	if current > latest {
		return nil, fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade Gatehouse", ErrSchemaTooNew, current, latest)
	}
	var applied []int
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		err := pgx.BeginFunc(ctx, conn.Conn(), func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("apply migration %s: %w", m.name, err)
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", m.version, m.name)
			return err
		})
		if err != nil {
			return applied, err
		}
		applied = append(applied, m.version)
	}
	return applied, nil
}

func currentVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	var v int
	err := conn.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// CheckSchema verifies that the database schema is exactly the version
// this binary expects, with a message that says what to do otherwise.
func CheckSchema(ctx context.Context, pool *pgxpool.Pool) error {
	var exists bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('schema_migrations') IS NOT NULL").Scan(&exists); err != nil {
		return wrapConnErr("check schema", err)
	}
	want := SchemaVersion()
	if !exists {
		return fmt.Errorf("%w: database has no Gatehouse schema; run `admin-api migrate`", ErrSchemaOutdated)
	}
	var v int
	if err := pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v); err != nil {
		return wrapConnErr("check schema", err)
	}
	switch {
	case v < want:
		return fmt.Errorf("%w: database is at version %d, this binary needs %d; run `admin-api migrate`", ErrSchemaOutdated, v, want)
	case v > want:
		return fmt.Errorf("%w: database is at version %d, this binary knows up to %d; upgrade Gatehouse", ErrSchemaTooNew, v, want)
	}
	return nil
}
