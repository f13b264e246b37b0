// Package lkg keeps the data plane's last known good configuration in a
// Pebble database (<prefix>/cache), so a restarted data plane serves at
// once, whether or not a control plane answers.
//
// The store holds the entities, the revision, the control plane's config
// hash and the digest of the entities. Every write is one synced batch: a
// snapshot replaces everything, a delta writes just its changes. At Open
// the whole cache is read and its digest recomputed (shared/confighash)
// and compared with the stored one; a damaged cache (a digest that does
// not match, a value that does not decode or decrypt, Pebble reporting
// corruption, unreadable files) is moved aside to <dir>.damaged-<time>
// with a log line, never served, and an empty cache takes its place.
//
// With a key, every value is encrypted at rest with AES-256-GCM, and a key
// check value records which key: a cache opened with the wrong key, or
// without its key, is set aside in the same way. Only the format marker is
// stored in clear.
package lkg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/vfs"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/version"
)

// Keys. Entities are "e:<type>\x00<id>" (type names never hold a NUL).
var (
	keyFormat   = []byte("m:format")
	keyCheck    = []byte("m:kcv")
	keyMeta     = []byte("m:meta")
	entityStart = []byte("e:")
	entityEnd   = []byte("e;") // the byte after ':'
)

// format is the value of keyFormat: the layout described above.
const format = "gatehouse-lkg-1"

// markerName is a file beside Pebble's, written once the cache is
// initialised: a database that lost its contents (a truncated manifest
// that Pebble reads as an empty history) is then told from a new one.
const markerName = "GATEHOUSE-CACHE"

// checkText is what the key check value encrypts.
var checkText = []byte("gatehouse cache key check")

// ErrInUse reports a cache another process (or Store) has open: Pebble
// locks its directory.
var ErrInUse = errors.New("cache is in use by another process")

// ErrDamaged reports a damaged cache that Options.NoRepair kept in place.
var ErrDamaged = errors.New("cache is damaged")

// Meta describes the configuration a cache holds.
type Meta struct {
	// Revision is the control-plane revision (0 for a declarative file).
	Revision int64 `json:"revision"`
	// ConfigHash is the hash the data plane reports for it.
	ConfigHash string `json:"config_hash"`
	// Digest is the hash of exactly the entities stored.
	Digest string `json:"digest"`
	// SavedAt is when it was written, and Version by which Gatehouse.
	SavedAt time.Time `json:"saved_at"`
	Version string    `json:"version"`
}

// Options tunes Open.
type Options struct {
	// Key encrypts the cache (KeySize bytes); nil stores values in clear.
	Key []byte
	// Logger receives the lines about damaged caches and Pebble's own
	// errors; nil discards them.
	Logger *slog.Logger
	// FS is the filesystem; nil means the operating system's. Tests pass
	// vfs.NewMem() or an errorfs wrapper.
	FS vfs.FS
	// Now stamps Meta.SavedAt and names set-aside directories; nil means
	// time.Now.
	Now func() time.Time
	// NoRepair makes Open fail with ErrDamaged instead of setting a
	// damaged cache aside, for tools that must not change it.
	NoRepair bool
}

// Store is an open cache. Its methods are safe for concurrent use.
type Store struct {
	dir  string
	opts Options
	seal *sealer
	db   *pebble.DB
	lock *pebble.Lock

	mu     sync.Mutex
	loaded *configset.Set
	meta   Meta
	aside  string
	reason error
}

// Open opens (creating if needed) the cache in dir and verifies it. A
// damaged cache is set aside (see the package documentation) and Open
// returns an empty store; SetAside says where and why. Open fails when the
// directory cannot be used at all, or with ErrInUse when it is locked.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.FS == nil {
		opts.FS = vfs.Default
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	var seal *sealer
	if opts.Key != nil {
		var err error
		if seal, err = newSealer(opts.Key); err != nil {
			return nil, err
		}
	}
	s := &Store{dir: dir, opts: opts, seal: seal}
	damage, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	if damage == nil {
		return s, nil
	}
	s.closeDB()
	if opts.NoRepair {
		return nil, fmt.Errorf("%w: %s: %w", ErrDamaged, dir, damage)
	}
	aside, err := s.setAside(damage)
	if err != nil {
		return nil, err
	}
	s.aside, s.reason = aside, damage
	damage2, err := s.open(ctx)
	if err != nil {
		return nil, err
	}
	if damage2 != nil {
		s.closeDB()
		return nil, fmt.Errorf("new cache in %s: %w", dir, damage2)
	}
	return s, nil
}

// open opens the database and reads what it holds. The first result is
// the damage found (the store must then be closed and set aside); the
// second an error that makes the cache unusable whatever its content.
func (s *Store) open(ctx context.Context) (damage, err error) {
	fs := s.opts.FS
	if err := fs.MkdirAll(s.dir, 0o750); err != nil {
		return nil, fmt.Errorf("create cache directory: %w", err)
	}
	lock, err := pebble.LockDirectory(s.dir, fs)
	if err != nil {
		return nil, fmt.Errorf("open cache %s: %w (%w)", s.dir, ErrInUse, err)
	}
	db, err := pebble.Open(s.dir, &pebble.Options{
		FS:     fs,
		Lock:   lock,
		Logger: pebbleLogger{s.opts.Logger},
	})
	if err != nil {
		_ = lock.Close()
		return fmt.Errorf("pebble: %w", err), nil
	}
	s.db, s.lock = db, lock
	return s.read(ctx), nil
}

// read checks the format and key, then loads and verifies the
// configuration, if any. It returns the damage found.
func (s *Store) read(ctx context.Context) error {
	formatValue, err := s.get(keyFormat)
	if err != nil {
		return err
	}
	check, err := s.get(keyCheck)
	if err != nil {
		return err
	}
	if formatValue == nil {
		empty, err := s.empty()
		if err != nil {
			return err
		}
		if !empty {
			return errors.New("no format marker")
		}
		if _, err := s.opts.FS.Stat(s.opts.FS.PathJoin(s.dir, markerName)); err == nil {
			return errors.New("the cache lost its contents (Pebble's files are incomplete)")
		}
		return s.initialise()
	}
	if string(formatValue) != format {
		return fmt.Errorf("unknown format %q", formatValue)
	}
	switch {
	case s.seal == nil && check != nil:
		return errors.New("the cache is encrypted and no key is configured (GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE)")
	case s.seal != nil && check == nil:
		return errors.New("the cache is not encrypted but a key is configured (GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE)")
	case s.seal != nil:
		plain, err := s.seal.open(keyCheck, check)
		if err != nil || !bytes.Equal(plain, checkText) {
			return errors.New("the cache was encrypted with another key")
		}
	}
	return s.loadAll(ctx)
}

// initialise writes the format marker and key check value of a new cache.
func (s *Store) initialise() error {
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	_ = b.Set(keyFormat, []byte(format), nil)
	if s.seal != nil {
		_ = b.Set(keyCheck, s.seal.seal(keyCheck, checkText), nil)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("initialise: %w", err)
	}
	f, err := s.opts.FS.Create(s.opts.FS.PathJoin(s.dir, markerName), vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("initialise: %w", err)
	}
	_, err = f.Write([]byte(format + "\n"))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("initialise: %w", err)
	}
	return nil
}

// empty reports whether the database holds no key at all.
func (s *Store) empty() (bool, error) {
	it, err := s.db.NewIter(nil)
	if err != nil {
		return false, fmt.Errorf("iterate: %w", err)
	}
	found := it.First()
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return false, fmt.Errorf("iterate: %w", err)
	}
	return !found, nil
}

// get returns a copy of the value under key, nil when absent.
func (s *Store) get(key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	out := bytes.Clone(v)
	if err := closer.Close(); err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return out, nil
}

// rawEntity is an entity as read from Pebble, before decoding.
type rawEntity struct {
	typ, id string
	key     []byte
	value   []byte
	e       map[string]any
	err     error
}

// loadAll reads the configuration and checks it against the stored
// digest; it keeps it for Load. Values are decrypted and decoded on every
// CPU; the digest is then computed as the set is built.
func (s *Store) loadAll(ctx context.Context) error {
	rawMeta, err := s.get(keyMeta)
	if err != nil {
		return err
	}
	raws, err := s.readEntities()
	if err != nil {
		return err
	}
	s.decodeAll(raws)
	set := configset.New()
	for i := range raws {
		r := &raws[i]
		if i%1024 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if r.err != nil {
			return fmt.Errorf("%s %s: %w", r.typ, r.id, r.err)
		}
		if got, _ := r.e["id"].(string); got != r.id {
			return fmt.Errorf("%s %s: stored under another id", r.typ, r.id)
		}
		if err := set.Put(r.typ, r.e); err != nil {
			return fmt.Errorf("%s %s: %w", r.typ, r.id, err)
		}
	}
	if rawMeta == nil {
		if set.Len() > 0 {
			return errors.New("entities without a revision and digest")
		}
		return nil
	}
	var meta Meta
	plain, err := s.seal.open(keyMeta, rawMeta)
	if err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	if err := json.Unmarshal(plain, &meta); err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	if got := set.Hash(); got != meta.Digest {
		return fmt.Errorf("digest mismatch: the entities hash to %s, the cache says %s", got, meta.Digest)
	}
	set.Revision = meta.Revision
	s.loaded, s.meta = set, meta
	return nil
}

// readEntities copies every stored entity out of Pebble.
func (s *Store) readEntities() ([]rawEntity, error) {
	it, err := s.db.NewIter(&pebble.IterOptions{LowerBound: entityStart, UpperBound: entityEnd})
	if err != nil {
		return nil, fmt.Errorf("iterate: %w", err)
	}
	var raws []rawEntity
	for valid := it.First(); valid; valid = it.Next() {
		typ, id, ok := splitEntityKey(it.Key())
		if !ok {
			_ = it.Close()
			return nil, fmt.Errorf("bad entity key %q", it.Key())
		}
		value, err := it.ValueAndErr()
		if err != nil {
			_ = it.Close()
			return nil, fmt.Errorf("read %s %s: %w", typ, id, err)
		}
		raws = append(raws, rawEntity{typ: typ, id: id, key: bytes.Clone(it.Key()), value: bytes.Clone(value)})
	}
	if err := errors.Join(it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("iterate: %w", err)
	}
	return raws, nil
}

// decodeAll decrypts and decodes raws in place, on every CPU.
func (s *Store) decodeAll(raws []rawEntity) {
	workers := min(runtime.GOMAXPROCS(0), max(len(raws)/256, 1))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(raws); i += workers {
				r := &raws[i]
				r.e, r.err = s.decodeEntity(r.key, r.value)
				r.value = nil
			}
		})
	}
	wg.Wait()
}

func (s *Store) decodeEntity(key, value []byte) (map[string]any, error) {
	plain, err := s.seal.open(key, value)
	if err != nil {
		return nil, err
	}
	return decodeObject(plain)
}

// unmarshalNumbers decodes JSON text keeping numbers as json.Number.
func unmarshalNumbers(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

func entityKey(typ, id string) []byte {
	k := make([]byte, 0, len(entityStart)+len(typ)+1+len(id))
	k = append(k, entityStart...)
	k = append(k, typ...)
	k = append(k, 0)
	return append(k, id...)
}

func splitEntityKey(k []byte) (typ, id string, ok bool) {
	rest, found := bytes.CutPrefix(k, entityStart)
	if !found {
		return "", "", false
	}
	t, i, found := bytes.Cut(rest, []byte{0})
	if !found || len(t) == 0 || len(i) == 0 {
		return "", "", false
	}
	return string(t), string(i), true
}

// Load returns the configuration the cache held at Open, verified, with
// its Meta; ok is false when it held none. The store gives the set up: a
// second call returns nothing.
func (s *Store) Load() (set *configset.Set, meta Meta, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	set, meta = s.loaded, s.meta
	s.loaded = nil
	return set, meta, set != nil
}

// SetAside reports where a damaged cache was moved at Open and why; aside
// is "" when the cache was sound.
func (s *Store) SetAside() (aside string, reason error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.aside, s.reason
}

// SaveSnapshot replaces the whole cache with set, reported as configHash,
// in one synced batch.
func (s *Store) SaveSnapshot(ctx context.Context, set *configset.Set, configHash string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	if err := b.DeleteRange(entityStart, entityEnd, nil); err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	for _, typ := range set.Types() {
		var err error
		set.Each(typ, func(e map[string]any) {
			if err == nil {
				err = s.putEntity(b, typ, e)
			}
		})
		if err != nil {
			return fmt.Errorf("save snapshot: %w", err)
		}
	}
	return s.commit(b, set.Revision, configHash, set.Hash(), "save snapshot")
}

// SaveDelta writes changes, which take the cache to revision with the
// given hash and digest, in one synced batch holding just those changes.
func (s *Store) SaveDelta(ctx context.Context, changes []protocol.Change, revision int64, configHash, digest string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b := s.db.NewBatch()
	defer func() { _ = b.Close() }()
	for _, c := range changes {
		var err error
		switch c.Op {
		case protocol.OpUpsert:
			err = s.putEntity(b, c.Type, c.Entity)
		case protocol.OpDelete:
			err = b.Delete(entityKey(c.Type, c.ID), nil)
		default:
			err = fmt.Errorf("%s %s: unknown operation %q", c.Type, c.ID, c.Op)
		}
		if err != nil {
			return fmt.Errorf("save delta: %w", err)
		}
	}
	return s.commit(b, revision, configHash, digest, "save delta")
}

func (s *Store) putEntity(b *pebble.Batch, typ string, e map[string]any) error {
	id, _ := e["id"].(string)
	if id == "" {
		return fmt.Errorf("%s: %w", typ, configset.ErrMissingID)
	}
	data, err := encodeValue(nil, e)
	if err != nil {
		return fmt.Errorf("%s %s: %w", typ, id, err)
	}
	k := entityKey(typ, id)
	return b.Set(k, s.seal.seal(k, data), nil)
}

func (s *Store) commit(b *pebble.Batch, revision int64, configHash, digest, what string) error {
	meta, err := json.Marshal(Meta{
		Revision: revision, ConfigHash: configHash, Digest: digest,
		SavedAt: s.opts.Now().UTC(), Version: version.Version,
	})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := b.Set(keyMeta, s.seal.seal(keyMeta, meta), nil); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Export writes a consistent copy of the cache (a Pebble checkpoint) to
// dir, which must not exist. A data plane whose cache directory is that
// copy starts from it; an encrypted cache needs the same key.
func (s *Store) Export(ctx context.Context, dir string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.db.Checkpoint(dir, pebble.WithFlushedWAL()); err != nil {
		return fmt.Errorf("export cache to %s: %w", dir, err)
	}
	return nil
}

// Dir is the cache's directory.
func (s *Store) Dir() string { return s.dir }

// Close closes the database and releases its directory.
func (s *Store) Close() error {
	err := s.db.Close()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	if err != nil {
		return fmt.Errorf("close cache: %w", err)
	}
	return nil
}

func (s *Store) closeDB() {
	if s.db != nil {
		_ = s.db.Close()
		s.db = nil
	}
	if s.lock != nil {
		_ = s.lock.Close()
		s.lock = nil
	}
}

// setAside renames the damaged cache directory and logs it.
func (s *Store) setAside(damage error) (string, error) {
	stamp := s.opts.Now().UTC().Format("20060102T150405Z")
	aside := s.dir + ".damaged-" + stamp
	for i := 2; ; i++ {
		if _, err := s.opts.FS.Stat(aside); err != nil {
			break
		}
		aside = fmt.Sprintf("%s.damaged-%s-%d", s.dir, stamp, i)
	}
	if err := s.opts.FS.Rename(s.dir, aside); err != nil {
		return "", fmt.Errorf("set damaged cache %s aside (%w): %w", s.dir, damage, err)
	}
	s.opts.Logger.Error(fmt.Sprintf("cache %s is damaged and will not be served: %v; moved it to %s and starting without it", s.dir, damage, aside),
		slog.String("cache", s.dir), slog.String("moved_to", aside))
	return aside, nil
}

// pebbleLogger sends Pebble's log lines to slog.
type pebbleLogger struct{ log *slog.Logger }

func (l pebbleLogger) Infof(format string, args ...any) {
	l.log.Debug("pebble: " + fmt.Sprintf(format, args...))
}

func (l pebbleLogger) Errorf(format string, args ...any) {
	l.log.Error("pebble: " + fmt.Sprintf(format, args...))
}

// Fatalf is called by Pebble on an invariant violation it cannot go on
// from; it logs and panics rather than exiting the process.
func (l pebbleLogger) Fatalf(format string, args ...any) {
	msg := "pebble: " + fmt.Sprintf(format, args...)
	l.log.Error(msg)
	panic(msg)
}
