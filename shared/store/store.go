// Package store keeps Gatehouse's control-plane state in Postgres: the
// entities, the revision counter, the change log that feeds the data
// planes, and the data-plane registry. admin-api writes through it and
// sync-hub reads the change log and snapshots through it. It is the only
// shared package that imports pgx; data planes never import it.
//
// Every write runs in one transaction that first takes the next revision
// (UPDATE config_revision ... RETURNING), which serialises writers: checks
// of uniqueness and references inside a write cannot race, and revisions
// commit in order, so a reader of "changes after R" never skips one.
package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// NotifyChannel is the Postgres channel that carries each new revision.
const NotifyChannel = "gatehouse_config"

// ErrNotFound is returned by reads of entities that do not exist.
var ErrNotFound = errors.New("not found")

// ErrUnavailable wraps errors that mean Postgres cannot be reached; the
// Admin API answers them with 503.
var ErrUnavailable = errors.New("database unavailable")

// Store is the Postgres-backed state. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	cat  *entity.Catalog
	now  func() time.Time
}

// Options tunes Open.
type Options struct {
	// MaxConns caps the pool (default: pgx's default, 4 per CPU).
	MaxConns int32
	// ConnectTimeout bounds each connection attempt so requests fail fast
	// when Postgres is down (default 3 s).
	ConnectTimeout time.Duration
	// Now overrides the clock (tests).
	Now func() time.Time
}

// Open connects a pool to url. It does not fail when Postgres is down:
// connections are made on demand, and calls fail with ErrUnavailable until
// it answers.
func Open(ctx context.Context, url string, cat *entity.Catalog, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse postgres url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	timeout := opts.ConnectTimeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	cfg.ConnConfig.ConnectTimeout = timeout
	cfg.ConnConfig.Tracer = tracer{}
	cfg.HealthCheckPeriod = 5 * time.Second
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("create pool: %w", err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, cat: cat, now: now}, nil
}

// Pool exposes the connection pool (migrations, health checks).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Catalog returns the entity catalog the store was opened with.
func (s *Store) Catalog() *entity.Catalog { return s.cat }

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

// Ping checks that Postgres answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return wrapConnErr("ping", err)
	}
	return nil
}

// wrapConnErr marks connection failures with ErrUnavailable.
func wrapConnErr(what string, err error) error {
	if err == nil {
		return nil
	}
	if isConnErr(err) {
		return fmt.Errorf("%s: %w: %w", what, ErrUnavailable, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isConnErr(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &ce), errors.As(err, &ne):
		return true
	case errors.As(err, &pe):
		// Class 08: connection exception; 57P0x: shutting down.
		return len(pe.Code) == 5 && (pe.Code[:2] == "08" || pe.Code[:4] == "57P0")
	case pgconn.SafeToRetry(err), errors.Is(err, pgx.ErrTxClosed),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		// A connection cut in the middle of a query or transaction.
		return true
	}
	return pgconn.Timeout(err) && !errors.Is(err, context.Canceled)
}

// decode reads a stored entity: JSON numbers stay exact (json.Number) and
// the type's schema normalises it (Select), filling fields added since it
// was written.
func (s *Store) decode(typ string, data []byte) (map[string]any, error) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if err := d.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode stored %s: %w", typ, err)
	}
	if t := s.cat.Type(typ); t != nil {
		m = t.SchemaFor(m).Process(m, schema.Select, time.Time{})
	}
	return m, nil
}

func (s *Store) typ(name string) (*entity.Type, error) {
	t := s.cat.Type(name)
	if t == nil {
		return nil, fmt.Errorf("unknown entity type %q", name)
	}
	return t, nil
}
