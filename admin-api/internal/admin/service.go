// Package admin holds the Admin API's use cases, without HTTP: what Kong's
// DAO does around the store. It resolves path segments to entities (by id
// or by the type's endpoint key), resolves foreign keys given by endpoint
// key, and creates, upserts, updates and deletes entities with Kong's
// semantics, each write one revision of the store. It also owns the
// certificates' SNIs, targets under their upstream, consumer-group
// memberships, credential TTLs, the declarative import and export, and the
// background maintenance that trims the change log and removes expired
// credentials.
//
// Errors are Kong's: *schema.Error for DAO errors (codes 1-19), ErrNotFound
// for the plain 404 ({"message":"Not found"}), *MessageError for other
// plain messages, and errors wrapping ErrUnavailable when Postgres cannot be
// reached. Anything else is unexpected (a 500).
package admin

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/store"
)

// Service runs the Admin API's use cases on a store. It is safe for
// concurrent use.
type Service struct {
	store    *store.Store
	cat      *entity.Catalog
	plugins  *plugin.Set
	now      func() time.Time
	log      *slog.Logger
	onCommit func(rev int64)

	// lastImport remembers the md5 of the last declarative text imported
	// by this process and the revision it made, for POST /config's
	// check_hash.
	mu         sync.Mutex
	lastImport importMark
}

type importMark struct {
	hash string
	rev  int64
}

// Options tunes New.
type Options struct {
	// Now overrides the clock (tests).
	Now func() time.Time
	// Logger receives the service's logs (default slog.Default()).
	Logger *slog.Logger
	// OnCommit, when set, is called with every revision this service
	// commits (metrics).
	OnCommit func(rev int64)
}

// New returns a Service on st, whose catalog must have been built with
// plugins.
func New(st *store.Store, plugins *plugin.Set, opts Options) *Service {
	s := &Service{store: st, cat: st.Catalog(), plugins: plugins, now: opts.Now, log: opts.Logger, onCommit: opts.OnCommit}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Catalog returns the entity catalog.
func (s *Service) Catalog() *entity.Catalog { return s.cat }

// Plugins returns the loaded plugins.
func (s *Service) Plugins() *plugin.Set { return s.plugins }

// write runs fn as one revision and reports the commit.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx *store.Tx) error) (int64, error) {
	rev, err := s.store.Write(ctx, fn)
	if err == nil && rev > 0 && s.onCommit != nil {
		s.onCommit(rev)
	}
	return rev, err
}

// reader is what both the store and a write transaction read with.
type reader interface {
	Get(ctx context.Context, typ, id string) (map[string]any, error)
	GetByKey(ctx context.Context, typ, field string, value any) (map[string]any, error)
	List(ctx context.Context, typ string, q store.ListQuery) (store.Page, error)
}

var (
	_ reader = (*store.Store)(nil)
	_ reader = (*store.Tx)(nil)
)
