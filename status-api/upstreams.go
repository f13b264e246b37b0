package statusapi

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// Kong's page sizes (kong/api/endpoints.lua, the DAO's pagination).
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

// targetBody is a target entity as Kong's Admin API shows it.
type targetBody struct {
	ID        string      `json:"id"`
	CreatedAt float64     `json:"created_at"`
	UpdatedAt float64     `json:"updated_at"`
	Upstream  upstreamRef `json:"upstream"`
	Target    string      `json:"target"`
	Weight    int         `json:"weight"`
	Tags      []string    `json:"tags"`
}

type upstreamRef struct {
	ID string `json:"id"`
}

// healthTargetBody is a target in /health: the entity, its health, and
// the balancer's data (absent when the balancer has no entry).
type healthTargetBody struct {
	targetBody
	Health Health                           `json:"health"`
	Data   *targetStatus[addressHealthBody] `json:"data,omitempty"`
}

// pageBody is Kong's paginated answer. Offset and next are set when a
// further page exists; node_id only on /health.
type pageBody[T any] struct {
	Data   []T     `json:"data"`
	Offset string  `json:"offset,omitempty"`
	Next   *string `json:"next"`
	NodeID *string `json:"node_id,omitempty"`
}

func newTargetBody(up *Upstream, t *Target) targetBody {
	return targetBody{
		ID: t.ID, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Upstream: upstreamRef{ID: up.ID}, Target: t.Target, Weight: t.Weight, Tags: t.Tags,
	}
}

// lookup finds the {upstream} of a request, answering 404 when it does
// not exist.
func (h *handler) lookup(w http.ResponseWriter, key string) (*Upstream, bool) {
	up, ok := h.src.Upstream(key)
	if !ok {
		writeMessage(w, http.StatusNotFound, "Not found")
		return nil, false
	}
	return &up, true
}

// targets is GET /upstreams/{upstream}/targets (active targets, newest
// first) and .../targets/all (every entry, oldest first).
func (h *handler) targets(w http.ResponseWriter, r *http.Request, key string, all bool) {
	up, ok := h.lookup(w, key)
	if !ok {
		return
	}
	size, offset, perr := parsePage(r.URL.Query())
	if perr != nil {
		writeJSON(w, perr.HTTPStatus(), perr)
		return
	}
	list, path := activeTargets(up.Targets), "targets"
	if all {
		list, path = oldestFirst(up.Targets), "targets/all"
	}
	items, next := paginate(list, size, offset)
	body := pageBody[targetBody]{Data: make([]targetBody, 0, len(items))}
	for _, t := range items {
		body.Data = append(body.Data, newTargetBody(up, t))
	}
	body.Offset, body.Next = nextPage(key, path, next)
	writeJSON(w, http.StatusOK, body)
}

// health is GET /upstreams/{upstream}/health: the active targets with
// their health, or with ?balancer_health=1 the balancer's.
func (h *handler) health(w http.ResponseWriter, r *http.Request, key string) {
	up, ok := h.lookup(w, key)
	if !ok {
		return
	}
	q := r.URL.Query()
	if q.Get("balancer_health") == "1" {
		writeJSON(w, http.StatusOK, h.balancerHealth(up))
		return
	}
	size, offset, perr := parsePage(q)
	if perr != nil {
		writeJSON(w, perr.HTTPStatus(), perr)
		return
	}
	items, next := paginate(activeTargets(up.Targets), size, offset)
	nodeID := h.opts.NodeID
	body := pageBody[healthTargetBody]{Data: make([]healthTargetBody, 0, len(items)), NodeID: &nodeID}
	for _, t := range items {
		body.Data = append(body.Data, healthTargetBody{
			targetBody: newTargetBody(up, t),
			Health:     targetHealth(up, t),
			Data: newTargetStatus(t, func(a Address) addressHealthBody {
				return addressHealthBody{IP: a.IP, Port: a.Port, Weight: a.Weight, Health: addressHealth(up, t, a)}
			}),
		})
	}
	body.Offset, body.Next = nextPage(key, "health", next)
	writeJSON(w, http.StatusOK, body)
}

// balancerHealthBody is GET /upstreams/{upstream}/health?balancer_health=1.
type balancerHealthBody struct {
	Data   balancerBody `json:"data"`
	Next   *string      `json:"next"`
	NodeID string       `json:"node_id"`
}

type balancerBody struct {
	Health         Health              `json:"health"`
	BalancerHealth Health              `json:"balancer_health"`
	ID             string              `json:"id"`
	Details        balancerDetailsBody `json:"details"`
}

type balancerDetailsBody struct {
	Healthy bool                               `json:"healthy"`
	Weight  weightBody                         `json:"weight"`
	Hosts   []*targetStatus[addressStatusBody] `json:"hosts"`
}

// balancerHealth is Kong's get_balancer_health: "health" is the
// balancer's health when the upstream checks health, else
// HEALTHCHECKS_OFF; "balancer_health" is always the balancer's.
func (h *handler) balancerHealth(up *Upstream) balancerHealthBody {
	bh := Unhealthy
	if up.Healthy {
		bh = Healthy
	}
	health := HealthchecksOff
	if up.Healthchecks {
		health = bh
	}
	details := balancerDetailsBody{Healthy: up.Healthy, Hosts: []*targetStatus[addressStatusBody]{}}
	for _, t := range activeTargets(up.Targets) {
		s := newTargetStatus(t, func(a Address) addressStatusBody { return addressStatusBody(a) })
		if s == nil {
			continue
		}
		details.Weight.Total += s.Weight.Total
		details.Weight.Unavailable += s.Weight.Unavailable
		details.Hosts = append(details.Hosts, s)
	}
	details.Weight.Available = details.Weight.Total - details.Weight.Unavailable
	return balancerHealthBody{
		Data:   balancerBody{Health: health, BalancerHealth: bh, ID: up.ID, Details: details},
		NodeID: h.opts.NodeID,
	}
}

// target is GET /upstreams/{upstream}/targets/{target}: by id, or by
// "host:port" (the newest entry); 404 when missing, owned by another
// upstream, or of weight 0.
func (h *handler) target(w http.ResponseWriter, key, target string) {
	up, ok := h.lookup(w, key)
	if !ok {
		return
	}
	t := findTarget(up, target)
	if t == nil || t.Weight == 0 {
		writeMessage(w, http.StatusNotFound, "Not found")
		return
	}
	writeJSON(w, http.StatusOK, newTargetBody(up, t))
}

// findTarget is Kong's lookup: a UUID names a target by id, anything else
// by target string, newest entry first. Gatehouse also finds a target by
// its normalized form ("10.0.0.1" for "10.0.0.1:8000").
func findTarget(up *Upstream, key string) *Target {
	if schema.IsUUID(key) {
		for i := range up.Targets {
			if strings.EqualFold(up.Targets[i].ID, key) {
				return &up.Targets[i]
			}
		}
		return nil
	}
	sorted := newestFirst(up.Targets)
	for _, t := range sorted {
		if t.Target == key {
			return t
		}
	}
	if n, ok := entity.NormalizeTarget(key); ok && n != key {
		for _, t := range sorted {
			if t.Target == n {
				return t
			}
		}
	}
	return nil
}

// parsePage reads ?size= (default 100, 1 to 1000) and ?offset= (the
// opaque token of a previous page: here a position) with Kong's errors.
func parsePage(q url.Values) (size, offset int, err *schema.Error) {
	size = defaultPageSize
	if q.Has("size") {
		f, perr := strconv.ParseFloat(strings.TrimSpace(q.Get("size")), 64)
		if perr != nil {
			return 0, 0, schema.InvalidSize("size must be a number")
		}
		if f < 1 || f > maxPageSize || f != math.Trunc(f) {
			return 0, 0, schema.InvalidSize("size must be an integer between 1 and " + strconv.Itoa(maxPageSize))
		}
		size = int(f)
	}
	if o := q.Get("offset"); o != "" {
		n, perr := strconv.Atoi(o)
		if perr != nil || n < 0 {
			return 0, 0, schema.InvalidOffset(o, "expected a position")
		}
		offset = n
	}
	return size, offset, nil
}

// paginate returns the page of list at offset and the offset of the next
// page, -1 when this one is the last.
func paginate(list []*Target, size, offset int) ([]*Target, int) {
	if offset >= len(list) {
		return nil, -1
	}
	end := min(offset+size, len(list))
	if end == len(list) {
		return list[offset:end], -1
	}
	return list[offset:end], end
}

// nextPage is Kong's offset and next link for a nested collection:
// "/upstreams/<upstream as requested>/<path>?offset=<offset>", or no
// offset and null.
func nextPage(key, path string, next int) (string, *string) {
	if next < 0 {
		return "", nil
	}
	offset := strconv.Itoa(next)
	link := "/upstreams/" + url.PathEscape(key) + "/" + path + "?offset=" + url.QueryEscape(offset)
	return offset, &link
}
