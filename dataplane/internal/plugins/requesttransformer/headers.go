package requesttransformer

import (
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
)

// headerView is Kong's transform_headers table: the upstream headers the
// rules touch, by lower-case name, changed in place and written to the
// upstream request at the end (cleared, then set), as Kong does with
// clear_header and set_headers.
type headerView struct {
	ctx     pdk.Context
	entries []*headerEntry
}

type headerEntry struct {
	key     string   // lower-case name
	name    string   // the name to write with
	values  []string // nil when absent
	changed bool
}

// entry returns the entry of name, read from the upstream request at the
// first use.
func (h *headerView) entry(name string) *headerEntry {
	key := strings.ToLower(name)
	for _, en := range h.entries {
		if en.key == key {
			return en
		}
	}
	en := &headerEntry{key: key, name: name, values: upstreamValues(h.ctx, name)}
	h.entries = append(h.entries, en)
	return en
}

// upstreamValues returns every value of an upstream header. The PDK's
// upstream request gives only the first value; when it is still the
// client's, the client's values are taken.
func upstreamValues(ctx pdk.Context, name string) []string {
	v := ctx.Upstream().Header(name)
	if v == "" {
		return nil
	}
	if client := ctx.Request().HeaderValues(name); len(client) > 0 && client[0] == v {
		return client
	}
	return []string{v}
}

func (en *headerEntry) set(name string, values []string) {
	en.name, en.values, en.changed = name, values, true
}

func (en *headerEntry) clear() {
	en.values, en.changed = nil, true
}

// flush writes the changed entries to the upstream request. Empty
// values are dropped: nginx removes a request header set to "".
func (h *headerView) flush() {
	up := h.ctx.Upstream()
	for _, en := range h.entries {
		if !en.changed {
			continue
		}
		up.DelHeader(en.key)
		for _, v := range en.values {
			if v != "" {
				up.AddHeader(en.name, v)
			}
		}
	}
}

// transformHeaders applies the header rules: remove, rename, replace,
// add, append. Host is not removed, renamed, added or appended; replace
// sets it even when absent (it is then the upstream Host).
func (p *instance) transformHeaders(ctx pdk.Context, e *env) error {
	if len(p.remove.headers)+len(p.rename.headers)+len(p.replace.headers)+len(p.add.headers)+len(p.append.headers) == 0 {
		return nil
	}
	h := &headerView{ctx: ctx}
	// Kong drops host from its table first: rules see it as absent.
	h.entries = append(h.entries, &headerEntry{key: "host", name: "host"})

	for _, r := range p.remove.headers {
		if en := h.entry(r.name); en.values != nil {
			en.clear()
		}
	}
	for _, r := range p.rename.headers {
		newName, ok, err := r.render(e)
		if err != nil {
			return err
		}
		old := h.entry(r.name)
		// Since Kong 3.8 (#13358) a rename to the same name, in any case,
		// keeps the header rather than removing it.
		if old.values == nil || !ok || strings.EqualFold(newName, r.name) {
			continue
		}
		values := old.values
		h.entry(newName).set(strings.ToLower(newName), values)
		old.clear()
	}
	for _, r := range p.replace.headers {
		v, ok, err := r.render(e)
		if err != nil {
			return err
		}
		en := h.entry(r.name)
		if (en.values != nil || en.key == "host") && ok {
			en.set(strings.ToLower(r.name), []string{v})
		}
	}
	for _, r := range p.add.headers {
		v, ok, err := r.render(e)
		if err != nil {
			return err
		}
		en := h.entry(r.name)
		if en.values == nil && en.key != "host" && ok {
			en.set(r.name, []string{v})
		}
	}
	for _, r := range p.append.headers {
		v, ok, err := r.render(e)
		if err != nil {
			return err
		}
		en := h.entry(r.name)
		if en.key == "host" || !ok {
			continue
		}
		// Kong writes an appended header with the configured name's case.
		en.set(r.name, append(append([]string(nil), en.values...), v))
	}
	h.flush()
	return nil
}
