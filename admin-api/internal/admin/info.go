package admin

import (
	"context"
	"encoding/base64"
	"math"
	"net/http"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
)

// Ping checks that the database answers.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// Latest returns the newest configuration revision.
func (s *Service) Latest(ctx context.Context) (int64, error) { return s.store.Latest(ctx) }

// PluginNames returns the distinct names of the configured plugins
// (GET / plugins.enabled_in_cluster).
func (s *Service) PluginNames(ctx context.Context) ([]string, error) {
	names, err := s.store.PluginNames(ctx)
	if names == nil {
		names = []string{}
	}
	return names, err
}

// ConsumerByCustomID is GET /consumers?custom_id=: the consumer with that
// custom_id, or nil.
func (s *Service) ConsumerByCustomID(ctx context.Context, customID string) (map[string]any, error) {
	if customID == "" {
		return nil, message(http.StatusBadRequest, "custom_id must be an unempty string")
	}
	c, err := s.store.GetByKey(ctx, entity.Consumers, "custom_id", validUTF8(customID))
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return s.present(ctx, s.store, s.cat.Type(entity.Consumers), c, nil)
}

// TagPage is a page of GET /tags.
type TagPage struct {
	Data   []store.TagRow
	Offset string
}

// Tags pages through the tagged entities, of every tag or of one (GET
// /tags, /tags/{tag}). An invalid tag is Kong's code 10.
func (s *Service) Tags(ctx context.Context, tag string, hasTag bool, opts ListOptions) (TagPage, error) {
	if hasTag {
		if msg := schema.ValidateField(s.cat.Type(entity.Services).Schema.Field("tags").Elements, tag); msg != nil {
			return TagPage{}, invalidUnique("tag", msg)
		}
	}
	page, err := s.store.ListTags(ctx, tag, opts.Size, opts.Offset)
	if err != nil {
		return TagPage{}, err
	}
	if page.Data == nil {
		page.Data = []store.TagRow{}
	}
	return TagPage(page), nil
}

// DataPlane is a data plane as GET /clustering/data-planes shows it:
// Kong's fields and Gatehouse's (connected, revision, last_error, hub_id).
type DataPlane struct {
	ID              string            `json:"id"`
	Hostname        string            `json:"hostname"`
	IP              string            `json:"ip"`
	Version         string            `json:"version"`
	SyncStatus      string            `json:"sync_status"`
	ConfigHash      string            `json:"config_hash"`
	LastSeen        int64             `json:"last_seen"`
	UpdatedAt       int64             `json:"updated_at"`
	Labels          map[string]string `json:"labels"`
	CertDetails     map[string]any    `json:"cert_details"`
	RPCCapabilities []string          `json:"rpc_capabilities"`
	TTL             int64             `json:"ttl"`
	Connected       bool              `json:"connected"`
	Revision        int64             `json:"revision"`
	LastError       *string           `json:"last_error"`
	HubID           *string           `json:"hub_id"`
}

// DataPlanePage is a page of data planes.
type DataPlanePage struct {
	Data   []DataPlane
	Offset string
}

// DataPlanes pages through the data planes sync-hub has recorded.
func (s *Service) DataPlanes(ctx context.Context, opts ListOptions) (DataPlanePage, error) {
	if opts.Offset != "" {
		b, err := base64.RawURLEncoding.DecodeString(opts.Offset)
		if err != nil || !schema.IsUUID(string(b)) {
			return DataPlanePage{}, schema.InvalidOffset(opts.Offset, "bad base64 encoding")
		}
	}
	page, err := s.store.ListDataPlanes(ctx, opts.Size, opts.Offset)
	if err != nil {
		return DataPlanePage{}, err
	}
	now := s.now()
	out := DataPlanePage{Data: make([]DataPlane, len(page.Data)), Offset: page.Offset}
	for i, dp := range page.Data {
		out.Data[i] = DataPlane{
			ID: dp.ID, Hostname: dp.Hostname, IP: dp.IP, Version: dp.Version, SyncStatus: dp.SyncStatus,
			ConfigHash: dp.ConfigHash, LastSeen: dp.LastSeen.Unix(), UpdatedAt: dp.UpdatedAt.Unix(),
			Labels: dp.Labels, CertDetails: dp.CertDetails, RPCCapabilities: []string{},
			TTL:       int64(math.Max(0, math.Ceil(dp.TTL.Sub(now).Seconds()))),
			Connected: dp.Connected, Revision: dp.Revision,
			LastError: optional(dp.LastError), HubID: optional(dp.HubID),
		}
	}
	return out, nil
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ValidateEntity is POST /schemas/{entity}/validate: the body is
// processed as an insert and validated, without touching the store. It
// returns nil or Kong's schema violation.
func (s *Service) ValidateEntity(t *entity.Type, in Input) error {
	fields, _, err := in.fields(t, nil)
	if err != nil {
		return err
	}
	if _, verr := t.Write(fields, schema.Insert, time.Now()); verr != nil {
		return verr
	}
	return nil
}
