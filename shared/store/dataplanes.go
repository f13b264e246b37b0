package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// DataPlane is a row of clustering_data_planes, written by sync-hub and
// served by GET /clustering/data-planes.
type DataPlane struct {
	ID         string
	Hostname   string
	IP         string
	Version    string
	SyncStatus string
	ConfigHash string
	Revision   int64
	LastSeen   time.Time
	UpdatedAt  time.Time
	// TTL is when the row expires (purge delay after the last update).
	TTL         time.Time
	Labels      map[string]string
	CertDetails map[string]any
	Connected   bool
	HubID       string
	SessionID   string
	LastError   string
}

const dataPlaneColumns = `id::text, hostname, ip, coalesce(version, ''), sync_status, config_hash, revision, last_seen,
	updated_at, ttl, labels, cert_details, connected, coalesce(hub_id, ''), coalesce(session_id, ''), coalesce(last_error, '')`

func scanDataPlane(r pgx.Row) (DataPlane, error) {
	var dp DataPlane
	err := r.Scan(&dp.ID, &dp.Hostname, &dp.IP, &dp.Version, &dp.SyncStatus, &dp.ConfigHash, &dp.Revision, &dp.LastSeen,
		&dp.UpdatedAt, &dp.TTL, &dp.Labels, &dp.CertDetails, &dp.Connected, &dp.HubID, &dp.SessionID, &dp.LastError)
	return dp, err
}

// UpsertDataPlane writes a data plane's row. The row expires purgeDelay
// after this write.
func (s *Store) UpsertDataPlane(ctx context.Context, dp DataPlane, purgeDelay time.Duration) error {
	now := s.now()
	if dp.LastSeen.IsZero() {
		dp.LastSeen = now
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO clustering_data_planes
		(id, hostname, ip, version, sync_status, config_hash, revision, last_seen, updated_at, ttl, labels, cert_details,
		 connected, hub_id, session_id, last_error)
		VALUES ($1, $2, $3, nullif($4, ''), $5, $6, $7, $8, $9, $10, $11, $12, $13, nullif($14, ''), nullif($15, ''), nullif($16, ''))
		ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, ip = EXCLUDED.ip, version = EXCLUDED.version,
		 sync_status = EXCLUDED.sync_status, config_hash = EXCLUDED.config_hash, revision = EXCLUDED.revision,
		 last_seen = EXCLUDED.last_seen, updated_at = EXCLUDED.updated_at, ttl = EXCLUDED.ttl, labels = EXCLUDED.labels,
		 cert_details = EXCLUDED.cert_details, connected = EXCLUDED.connected, hub_id = EXCLUDED.hub_id,
		 session_id = EXCLUDED.session_id, last_error = EXCLUDED.last_error`,
		strings.ToLower(dp.ID), dp.Hostname, dp.IP, dp.Version, dp.SyncStatus, dp.ConfigHash, dp.Revision, dp.LastSeen,
		now, now.Add(purgeDelay), dp.Labels, dp.CertDetails, dp.Connected, dp.HubID, dp.SessionID, dp.LastError)
	return wrapConnErr("upsert data plane", err)
}

// MarkDataPlaneDisconnected marks a data plane disconnected, only if its
// row still belongs to the given session: a data plane that already
// reconnected (to this hub or another) stays connected.
func (s *Store) MarkDataPlaneDisconnected(ctx context.Context, id, sessionID, lastError string) error {
	_, err := s.pool.Exec(ctx, `UPDATE clustering_data_planes SET connected = false, updated_at = $3,
		last_error = coalesce(nullif($4, ''), last_error) WHERE id = $1 AND session_id = $2`,
		strings.ToLower(id), sessionID, s.now(), lastError)
	return wrapConnErr("mark data plane disconnected", err)
}

// GetDataPlane reads one data plane's row.
func (s *Store) GetDataPlane(ctx context.Context, id string) (DataPlane, error) {
	dp, err := scanDataPlane(s.pool.QueryRow(ctx, "SELECT "+dataPlaneColumns+" FROM clustering_data_planes WHERE id = $1 AND ttl > now()",
		strings.ToLower(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return DataPlane{}, ErrNotFound
	}
	if err != nil {
		return DataPlane{}, wrapConnErr("read data plane", err)
	}
	return dp, nil
}

// DataPlanePage is a page of data planes.
type DataPlanePage struct {
	Data   []DataPlane
	Offset string
}

// ListDataPlanes pages through the data planes whose rows have not
// expired, in id order.
func (s *Store) ListDataPlanes(ctx context.Context, size int, offset string) (DataPlanePage, error) {
	if size <= 0 {
		size = 100
	}
	args := []any{size + 1}
	where := "ttl > now()"
	if offset != "" {
		id, err := decodeOffset(offset)
		if err != nil {
			return DataPlanePage{}, fmt.Errorf("offset %q: %w", offset, err)
		}
		args = append(args, id)
		where += " AND id > $2"
	}
	rows, err := s.pool.Query(ctx, "SELECT "+dataPlaneColumns+" FROM clustering_data_planes WHERE "+where+" ORDER BY id LIMIT $1", args...)
	if err != nil {
		return DataPlanePage{}, wrapConnErr("list data planes", err)
	}
	defer rows.Close()
	var page DataPlanePage
	for rows.Next() {
		dp, err := scanDataPlane(rows)
		if err != nil {
			return DataPlanePage{}, wrapConnErr("list data planes", err)
		}
		if len(page.Data) == size {
			page.Offset = encodeOffset(page.Data[len(page.Data)-1].ID)
			break
		}
		page.Data = append(page.Data, dp)
	}
	return page, wrapConnErr("list data planes", rows.Err())
}

// PurgeDataPlanes deletes expired data-plane rows.
func (s *Store) PurgeDataPlanes(ctx context.Context) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM clustering_data_planes WHERE ttl <= now()")
	if err != nil {
		return 0, wrapConnErr("purge data planes", err)
	}
	return tag.RowsAffected(), nil
}
