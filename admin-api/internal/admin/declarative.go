package admin

import (
	"context"
	"crypto/md5" //nolint:gosec // Kong's check_hash compares the md5 of the configuration text; it is not a security use.
	"encoding/hex"
	"maps"
	"net/http"
	"time"

	"gatehouse.dev/shared/declarative"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// MaxConfigEntities is the largest number of entities a declarative file
// given to POST /config may declare.
const MaxConfigEntities = 1_000_000

// Export reads the whole configuration consistently, as a declarative
// Config (GET /config).
func (s *Service) Export(ctx context.Context) (*declarative.Config, error) {
	snap, err := s.store.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	return declarative.FromEntities(s.cat, snap.Entities)
}

// ConfigRequest is a POST /config body in one of Kong's forms.
type ConfigRequest struct {
	// Text is the declarative file (YAML or JSON) given as a `config`
	// string or as a raw body; Document is a JSON body that carries
	// _format_version at its top. One of them is set.
	Text     []byte
	Document map[string]any
	// CheckHash answers ErrConfigUnchanged when Text is the text this
	// process imported last and nothing changed since.
	CheckHash bool
	// FlattenErrors adds Kong's flattened_errors to a code-14 error.
	FlattenErrors bool
}

// ErrConfigUnchanged answers POST /config?check_hash=1 with 304.
var ErrConfigUnchanged = message(http.StatusNotModified, "configuration unchanged")

// Import replaces the whole configuration with a declarative file, as one
// revision (POST /config): every entity is deleted and the file's entities
// are inserted. An invalid file changes nothing and answers Kong's code-14
// error. It returns the imported entities by type and id, as Kong's
// POST /config answers them.
func (s *Service) Import(ctx context.Context, req ConfigRequest) (map[string]map[string]any, error) {
	var hash string
	if req.Text != nil {
		sum := md5.Sum(req.Text) //nolint:gosec // see import comment
		hash = hex.EncodeToString(sum[:])
		if req.CheckHash && s.unchanged(ctx, hash) {
			return nil, ErrConfigUnchanged
		}
	}
	opts := declarative.Options{Now: s.now(), FlattenErrors: req.FlattenErrors, MaxEntities: MaxConfigEntities, MaxSize: -1}
	var cfg *declarative.Config
	var err error
	switch {
	case req.Document != nil:
		cfg, err = declarative.ParseDocument(req.Document, s.cat, opts)
	case req.Text != nil:
		cfg, err = declarative.Parse(req.Text, s.cat, opts)
	default:
		return nil, message(http.StatusBadRequest, "expected a declarative configuration")
	}
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]any{}
	rev, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
		if err := tx.DeleteAll(ctx); err != nil {
			return err
		}
		now := tx.Now()
		all := make(map[string][]map[string]any, len(cfg.Types()))
		for _, name := range cfg.Types() {
			t := s.cat.Type(name)
			byID := map[string]any{}
			for _, e := range cfg.Entities(name) {
				e = importEntity(t, e, now)
				all[name] = append(all[name], e)
				byID[idOf(e)] = e
			}
			out[name] = byID
		}
		// The parser checked uniqueness and references across the file,
		// and the database is empty after DeleteAll: insert in bulk.
		return tx.InsertAll(ctx, all)
	})
	if err != nil {
		return nil, err
	}
	if hash != "" {
		if rev == 0 {
			// Nothing changed (an empty file on an empty database).
			rev, _ = s.store.Latest(ctx)
		}
		s.mu.Lock()
		s.lastImport = importMark{hash: hash, rev: rev}
		s.mu.Unlock()
	}
	return out, nil
}

// importEntity turns a parsed entity into what the store keeps: a TTL
// credential's "ttl" (seconds) becomes its expires_at.
func importEntity(t *entity.Type, e map[string]any, now time.Time) map[string]any {
	if !t.TTL {
		return e
	}
	ttl, ok := e["ttl"]
	if !ok {
		return e
	}
	out := maps.Clone(e)
	delete(out, "ttl")
	if n, ok := schema.AsInt(ttl); ok && n > 0 {
		out["expires_at"] = now.Unix() + n
	}
	return out
}

// unchanged reports whether hash is the last text this process imported
// and the configuration has not changed since.
func (s *Service) unchanged(ctx context.Context, hash string) bool {
	s.mu.Lock()
	mark := s.lastImport
	s.mu.Unlock()
	if mark.hash != hash {
		return false
	}
	latest, err := s.store.Latest(ctx)
	return err == nil && latest == mark.rev
}
