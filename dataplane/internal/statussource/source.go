// Package statussource is the data plane's implementation of the status
// API's Source: the sync state, the proxy's counters, the runtime's
// upstreams and targets, and the balancers' health, read at each request
// from what is being served (the status API never opens the cache).
package statussource

import (
	"strings"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/state"
	"gatehouse.dev/shared/schema"
	statusapi "gatehouse.dev/status-api"
)

// Source reads the data plane's state for the status API. Every field
// but CertExpiry is required.
type Source struct {
	State     *state.State
	Holder    *gateway.Holder
	Balancers *balancer.Manager
	// Stats reads the proxy's counters (nil before the proxy starts).
	Stats func() proxy.Stats
	// CertExpiry is when the cluster certificate expires (zero when the
	// data plane runs standalone).
	CertExpiry time.Time
}

var _ statusapi.Source = (*Source)(nil)

// Status is the /status snapshot.
func (s *Source) Status() statusapi.Status {
	st := s.State.Status()
	out := statusapi.Status{
		Memory:            statusapi.Memory{Workers: []statusapi.WorkerMemory{statusapi.ProcessMemory()}},
		ConfigurationHash: st.ConfigHash,
		Revision:          st.Revision,
		ControlPlane: statusapi.ControlPlane{
			Address:    st.ControlPlane.Address,
			Connected:  st.ControlPlane.Connected,
			Since:      st.ControlPlane.Since,
			CertExpiry: s.CertExpiry,
		},
		LastSync:  st.LastSync,
		LastError: st.LastSyncError,
	}
	if out.LastError == "" && !st.ControlPlane.Connected {
		out.LastError = st.ControlPlane.LastError
	}
	if s.Stats != nil {
		c := s.Stats()
		out.Server = statusapi.Server{
			ConnectionsAccepted: c.Accepted, ConnectionsHandled: c.Handled, ConnectionsActive: c.Active,
			ConnectionsReading: c.Reading, ConnectionsWriting: c.Writing, ConnectionsWaiting: c.Waiting,
			TotalRequests: c.TotalRequests,
		}
	}
	return out
}

// Ready is Kong's data-plane readiness: a configuration loaded and its
// runtime built. The control-plane connection does not count.
func (s *Source) Ready() (bool, string) {
	st := s.State.Status()
	return st.Ready, st.Reason
}

// Upstream returns one upstream by id, else by name.
func (s *Source) Upstream(idOrName string) (statusapi.Upstream, bool) {
	set := s.Holder.Load().Set()
	u, ok := set.Get("upstreams", strings.ToLower(idOrName))
	if !ok {
		set.Each("upstreams", func(e map[string]any) {
			if !ok && e["name"] == idOrName {
				u, ok = e, true
			}
		})
	}
	if !ok {
		return statusapi.Upstream{}, false
	}
	return s.upstream(u), true
}

// Upstreams returns every upstream of the configuration served.
func (s *Source) Upstreams() []statusapi.Upstream {
	var out []statusapi.Upstream
	s.Holder.Load().Set().Each("upstreams", func(e map[string]any) {
		out = append(out, s.upstream(e))
	})
	return out
}

func (s *Source) upstream(e map[string]any) statusapi.Upstream {
	id, _ := e["id"].(string)
	name, _ := e["name"].(string)
	out := statusapi.Upstream{ID: id, Name: name}
	health := map[string]balancer.TargetHealth{}
	if set := s.Balancers.Current(); set != nil {
		if h, ok := set.Health(id); ok {
			out.Healthchecks = h.Healthchecks
			out.Healthy = h.Balancer == balancer.Healthy
			for _, t := range h.Targets {
				health[t.ID] = t
			}
		}
	}
	s.Holder.Load().Set().Each("targets", func(t map[string]any) {
		up, _ := t["upstream"].(map[string]any)
		if up == nil || up["id"] != id {
			return
		}
		target := statusapi.Target{Tags: tags(t["tags"])}
		target.ID, _ = t["id"].(string)
		target.Target, _ = t["target"].(string)
		target.CreatedAt, _ = schema.AsFloat(t["created_at"])
		target.UpdatedAt, _ = schema.AsFloat(t["updated_at"])
		w, _ := schema.AsInt(t["weight"])
		target.Weight = int(w)
		if h, ok := health[target.ID]; ok && (len(h.Addresses) > 0 || h.DNS != "") {
			tb := &statusapi.TargetBalancer{DNS: h.DNS}
			for _, a := range h.Addresses {
				tb.Addresses = append(tb.Addresses, statusapi.Address{IP: a.IP, Port: a.Port, Weight: a.Weight, Healthy: a.Healthy})
			}
			target.Balancer = tb
		}
		out.Targets = append(out.Targets, target)
	})
	return out
}

func tags(v any) []string {
	list, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(list))
	for _, t := range list {
		if s, ok := t.(string); ok {
			out = append(out, s)
		}
	}
	return out
}
