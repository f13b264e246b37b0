package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrLogTrimmed means the change log no longer holds every revision after
// the one asked for: the reader needs a full snapshot.
var ErrLogTrimmed = errors.New("change log no longer covers that revision")

// Latest returns the newest committed revision.
func (s *Store) Latest(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.pool.QueryRow(ctx, "SELECT revision FROM config_revision").Scan(&rev); err != nil {
		return 0, wrapConnErr("read revision", err)
	}
	return rev, nil
}

// Revision describes one committed revision.
type Revision struct {
	Revision  int64
	CreatedAt time.Time
	// Trace is the W3C trace context (traceparent, tracestate) of the
	// request that made it, when it was traced.
	Trace map[string]string
}

// Changes returns the change-log rows after revision `after`, in commit
// order, with the revisions they belong to, up to the newest revision (at
// most limit revisions when limit > 0). It returns ErrLogTrimmed when the
// log has been trimmed past `after`. Revisions that were taken but used
// for nothing do not exist, so revision numbers may have gaps.
func (s *Store) Changes(ctx context.Context, after int64, limit int) ([]Revision, []Change, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, nil, wrapConnErr("begin read", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	var floor int64
	if err := tx.QueryRow(ctx, "SELECT log_floor FROM config_revision").Scan(&floor); err != nil {
		return nil, nil, wrapConnErr("read log floor", err)
	}
	if after < floor {
		return nil, nil, fmt.Errorf("%w: asked for changes after %d, log starts after %d", ErrLogTrimmed, after, floor)
	}
	lim := "ALL"
	if limit > 0 {
		lim = strconv.Itoa(limit)
	}
	rows, err := tx.Query(ctx, "SELECT revision, created_at, trace FROM revisions WHERE revision > $1 ORDER BY revision LIMIT "+lim, after)
	if err != nil {
		return nil, nil, wrapConnErr("read revisions", err)
	}
	revs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Revision, error) {
		var rv Revision
		err := r.Scan(&rv.Revision, &rv.CreatedAt, &rv.Trace)
		return rv, err
	})
	if err != nil {
		return nil, nil, wrapConnErr("read revisions", err)
	}
	if len(revs) == 0 {
		return nil, nil, nil
	}
	last := revs[len(revs)-1].Revision
	rows, err = tx.Query(ctx, `SELECT revision, entity_type, entity_id::text, op, entity FROM change_log
		WHERE revision > $1 AND revision <= $2 ORDER BY revision, seq`, after, last)
	if err != nil {
		return nil, nil, wrapConnErr("read change log", err)
	}
	defer rows.Close()
	var changes []Change
	for rows.Next() {
		var c Change
		var op string
		var data []byte
		if err := rows.Scan(&c.Revision, &c.Type, &c.ID, &op, &data); err != nil {
			return nil, nil, wrapConnErr("read change log", err)
		}
		c.Op = Op(op)
		if data != nil {
			if c.Entity, err = s.decode(c.Type, data); err != nil {
				return nil, nil, err
			}
		}
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, wrapConnErr("read change log", err)
	}
	return revs, changes, nil
}

// Snapshot is the whole configuration at one revision.
type Snapshot struct {
	Revision int64
	// Entities holds every entity by type, each list in id order.
	Entities map[string][]map[string]any
	// Trace is the trace context of the revision, when known.
	Trace map[string]string
}

// Snapshot reads the whole configuration consistently (one REPEATABLE
// READ transaction). Expired credentials are included: a snapshot is a
// pure function of its revision.
func (s *Store) Snapshot(ctx context.Context) (Snapshot, error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return Snapshot{}, wrapConnErr("begin snapshot", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	snap := Snapshot{Entities: map[string][]map[string]any{}}
	if err := tx.QueryRow(ctx, "SELECT revision FROM config_revision").Scan(&snap.Revision); err != nil {
		return Snapshot{}, wrapConnErr("read revision", err)
	}
	err = tx.QueryRow(ctx, "SELECT trace FROM revisions WHERE revision = $1", snap.Revision).Scan(&snap.Trace)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return Snapshot{}, wrapConnErr("read revision trace", err)
	}
	rows, err := tx.Query(ctx, "SELECT entity_type, data FROM entities ORDER BY entity_type, id")
	if err != nil {
		return Snapshot{}, wrapConnErr("read entities", err)
	}
	defer rows.Close()
	for rows.Next() {
		var typ string
		var data []byte
		if err := rows.Scan(&typ, &data); err != nil {
			return Snapshot{}, wrapConnErr("read entities", err)
		}
		e, err := s.decode(typ, data)
		if err != nil {
			return Snapshot{}, err
		}
		snap.Entities[typ] = append(snap.Entities[typ], e)
	}
	if err := rows.Err(); err != nil {
		return Snapshot{}, wrapConnErr("read entities", err)
	}
	return snap, nil
}

// Trim removes change-log history beyond keep revisions or older than
// maxAge (zero disables either bound), always keeping the newest revision
// row. It returns the new floor: readers behind it need a snapshot.
func (s *Store) Trim(ctx context.Context, keep int64, maxAge time.Duration) (int64, error) {
	var floor int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var latest, old int64
		if err := tx.QueryRow(ctx, "SELECT revision, log_floor FROM config_revision FOR UPDATE").Scan(&latest, &old); err != nil {
			return err
		}
		cut := old
		if keep > 0 && latest-keep > cut {
			cut = latest - keep
		}
		if maxAge > 0 {
			var byAge *int64
			if err := tx.QueryRow(ctx, "SELECT max(revision) FROM revisions WHERE created_at < $1 AND revision < $2",
				s.now().Add(-maxAge), latest).Scan(&byAge); err != nil {
				return err
			}
			if byAge != nil && *byAge > cut {
				cut = *byAge
			}
		}
		floor = cut
		if cut == old {
			return nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM revisions WHERE revision <= $1", cut); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "UPDATE config_revision SET log_floor = $1", cut)
		return err
	})
	if err != nil {
		return 0, wrapConnErr("trim change log", err)
	}
	return floor, nil
}

// Expired lists (type, id) of entities whose TTL has passed, oldest first.
func (s *Store) Expired(ctx context.Context, limit int) ([][2]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT entity_type, id::text FROM entities
		WHERE expires_at IS NOT NULL AND expires_at <= now() ORDER BY expires_at LIMIT $1`, limit)
	if err != nil {
		return nil, wrapConnErr("list expired", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
		var x [2]string
		err := r.Scan(&x[0], &x[1])
		return x, err
	})
	return out, wrapConnErr("list expired", err)
}

// Listen holds a dedicated connection that LISTENs on NotifyChannel and
// calls fn with each notified revision until ctx is done or the connection
// fails (the error is returned; callers reconnect, and poll Latest, since
// a notification is only a hint). listening, when not nil, is called once
// LISTEN is in effect: a revision committed before then notifies nobody,
// so callers read the latest revision at that moment.
func (s *Store) Listen(ctx context.Context, listening func(), fn func(rev int64)) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return wrapConnErr("listen", err)
	}
	// The connection leaves the pool for good: a LISTENing session must not
	// be handed to other callers.
	raw := conn.Hijack()
	defer func() { _ = raw.Close(context.WithoutCancel(ctx)) }()
	if _, err := raw.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return wrapConnErr("listen", err)
	}
	if listening != nil {
		listening()
	}
	for {
		n, err := raw.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return wrapConnErr("wait for notification", err)
		}
		rev, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			continue
		}
		fn(rev)
	}
}
