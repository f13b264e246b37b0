package admin

import (
	"context"
	"errors"
	"time"

	"gatehouse.dev/shared/store"
)

// MaintenanceOptions bounds the change-log history the maintenance job
// keeps (zero disables a bound).
type MaintenanceOptions struct {
	KeepRevisions int64
	MaxAge        time.Duration
}

// MaintenanceResult says what one maintenance pass did.
type MaintenanceResult struct {
	// Expired is the number of expired credentials deleted, and Revision
	// the revision that deleted them (0 when none).
	Expired  int
	Revision int64
	// Floor is the change log's floor after trimming: readers at or
	// behind it need a snapshot.
	Floor int64
}

// expiredBatch is how many expired entities one revision removes.
const expiredBatch = 500

// Maintain runs one maintenance pass: expired credentials (ttl) are
// deleted as ordinary logged deletes, in one revision per batch, then the
// change log is trimmed. Several admin-api processes may run it at once.
func (s *Service) Maintain(ctx context.Context, opts MaintenanceOptions) (MaintenanceResult, error) {
	var res MaintenanceResult
	for {
		expired, err := s.store.Expired(ctx, expiredBatch)
		if err != nil {
			return res, err
		}
		if len(expired) == 0 {
			break
		}
		deleted := 0
		rev, err := s.write(ctx, func(ctx context.Context, tx *store.Tx) error {
			deleted = 0
			for _, x := range expired {
				ok, err := tx.Delete(ctx, x[0], x[1])
				if err != nil {
					return err
				}
				if ok {
					deleted++
				}
			}
			return nil
		})
		if err != nil {
			return res, err
		}
		res.Expired += deleted
		if rev > 0 {
			res.Revision = rev
		}
		if len(expired) < expiredBatch {
			break
		}
	}
	floor, err := s.store.Trim(ctx, opts.KeepRevisions, opts.MaxAge)
	if err != nil {
		return res, err
	}
	res.Floor = floor
	return res, nil
}

// RunMaintenance runs Maintain every interval until ctx is done. Failures
// are logged and retried at the next tick; report, when set, receives
// each pass's result.
func (s *Service) RunMaintenance(ctx context.Context, every time.Duration, opts MaintenanceOptions, report func(MaintenanceResult, error)) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		res, err := s.Maintain(ctx, opts)
		switch {
		case err == nil:
			if res.Expired > 0 {
				s.log.InfoContext(ctx, "removed expired credentials", "count", res.Expired, "revision", res.Revision)
			}
		case ctx.Err() != nil:
			return
		case errors.Is(err, ErrUnavailable):
			s.log.WarnContext(ctx, "maintenance skipped: database unavailable", "error", err)
		default:
			s.log.ErrorContext(ctx, "maintenance failed", "error", err)
		}
		if report != nil {
			report(res, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
