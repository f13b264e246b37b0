package protocol

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"unicode/utf8"
)

// Limits on message values. Decoding refuses messages beyond them and
// encoding refuses to produce such messages.
const (
	// MaxTextLen is the longest error, reason or message text, in bytes.
	MaxTextLen = 4096
	// MaxNackFields is the most field errors a [Nack] carries.
	MaxNackFields = 100
	// MaxLabels is the most labels a [Hello] carries (Kong's limit).
	MaxLabels = 10
	// MaxPlugins is the most plugins a [Hello] lists.
	MaxPlugins = 1024

	maxLabelLen      = 63 // Kong's limit for label keys and values
	maxNameLen       = 128
	maxVersionLen    = 64
	maxHostnameLen   = 255
	maxIDLen         = 256
	maxFieldPathLen  = 256
	maxCodeLen       = 64
	maxTraceEntries  = 8
	maxTraceKeyLen   = 64
	maxTraceValueLen = 512 // the W3C limit for tracestate
)

// NewNack builds a Nack for revision that fits the limits: err and each field
// message are cut to [MaxTextLen] bytes, and only the first [MaxNackFields]
// fields in path order are kept. An empty err becomes "unknown error". Field
// entries with an empty or over-long path or an empty message are dropped.
func NewNack(revision int64, err string, fields map[string]string) *Nack {
	if err == "" {
		err = "unknown error"
	}
	n := &Nack{Revision: revision, Error: truncate(err, MaxTextLen)}
	paths := make([]string, 0, len(fields))
	for p, msg := range fields {
		if p != "" && len(p) <= maxFieldPathLen && msg != "" {
			paths = append(paths, p)
		}
	}
	slices.Sort(paths)
	if len(paths) > MaxNackFields {
		paths = paths[:MaxNackFields]
	}
	for _, p := range paths {
		if n.Fields == nil {
			n.Fields = make(map[string]string, len(paths))
		}
		n.Fields[p] = truncate(fields[p], MaxTextLen)
	}
	return n
}

// firstError returns the first non-nil error of errs.
func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// truncate cuts s to at most n bytes on a rune boundary, ending with "..."
// when it cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

func (h *Hello) validate() error {
	return firstError(
		checkUUID("node_id", h.NodeID),
		checkText("hostname", h.Hostname, maxHostnameLen),
		checkText("version", h.Version, maxVersionLen),
		checkPlugins(h.Plugins),
		checkLabels(h.Labels),
		checkRevision("revision", h.Revision),
		checkHash("config_hash", h.ConfigHash),
	)
}

func (s *Snapshot) validate() error {
	return firstError(
		checkRevision("revision", s.Revision),
		checkHash("config_hash", s.ConfigHash),
		checkHash("digest", s.Digest),
		checkEntities(s.Entities),
		checkTrace(s.Trace),
		checkNonNegative("timestamp", s.Timestamp),
	)
}

func (d *Delta) validate() error {
	err := firstError(
		checkRevision("from_revision", d.FromRevision),
		checkRevision("revision", d.Revision),
		checkHash("config_hash", d.ConfigHash),
		checkHash("digest", d.Digest),
		checkChanges(d.Changes),
		checkTrace(d.Trace),
		checkNonNegative("timestamp", d.Timestamp),
	)
	if err == nil && d.FromRevision >= d.Revision {
		err = fmt.Errorf("from_revision %d is not before revision %d", d.FromRevision, d.Revision)
	}
	return err
}

func (a *Ack) validate() error {
	return firstError(
		checkRevision("revision", a.Revision),
		checkHash("config_hash", a.ConfigHash),
		checkHash("digest", a.Digest),
	)
}

func (n *Nack) validate() error {
	err := firstError(
		checkRevision("revision", n.Revision),
		checkText("error", n.Error, MaxTextLen),
	)
	if err != nil {
		return err
	}
	if len(n.Fields) > MaxNackFields {
		return fmt.Errorf("fields: %d entries, at most %d allowed", len(n.Fields), MaxNackFields)
	}
	for _, p := range slices.Sorted(maps.Keys(n.Fields)) {
		msg := n.Fields[p]
		if err := firstError(
			checkText("fields path", p, maxFieldPathLen),
			checkText(fmt.Sprintf("fields[%q]", p), msg, MaxTextLen),
		); err != nil {
			return err
		}
	}
	return nil
}

func (r *SnapshotRequest) validate() error {
	return firstError(
		checkRevision("revision", r.Revision),
		checkText("reason", r.Reason, MaxTextLen),
	)
}

func (e *ErrorMessage) validate() error {
	return firstError(
		checkName("code", e.Code, maxCodeLen),
		checkText("message", e.Message, MaxTextLen),
	)
}

func (p *Ping) validate() error {
	return firstError(
		checkRevision("revision", p.Revision),
		checkHash("config_hash", p.ConfigHash),
	)
}

func (p *Pong) validate() error {
	return firstError(
		checkRevision("revision", p.Revision),
		checkHash("config_hash", p.ConfigHash),
	)
}

// IsHash reports whether s is a configuration hash or digest: 32 lower-case
// hex characters.
func IsHash(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// IsUUID reports whether s is a UUID in the 8-4-4-4-12 hex form (either
// case), as Kong accepts node ids.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			c := s[i]
			if !isLowerHex(c) && (c < 'A' || c > 'F') {
				return false
			}
		}
	}
	return true
}

func isLowerHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
}

func checkHash(field, s string) error {
	if !IsHash(s) {
		return fmt.Errorf("%s %q is not 32 lower-case hex characters", field, clip(s))
	}
	return nil
}

func checkUUID(field, s string) error {
	if !IsUUID(s) {
		return fmt.Errorf("%s %q is not a UUID", field, clip(s))
	}
	return nil
}

func checkRevision(field string, r int64) error {
	return checkNonNegative(field, r)
}

func checkNonNegative(field string, n int64) error {
	if n < 0 {
		return fmt.Errorf("%s %d is negative", field, n)
	}
	return nil
}

// checkText requires a non-empty string of at most limit bytes.
func checkText(field, s string, limit int) error {
	if s == "" {
		return fmt.Errorf("%s is empty", field)
	}
	if len(s) > limit {
		return fmt.Errorf("%s is %d bytes, at most %d allowed", field, len(s), limit)
	}
	return nil
}

// checkName requires [a-z][a-z0-9_]* of at most limit bytes: entity type
// names and error codes.
func checkName(field, s string, limit int) error {
	if err := checkText(field, s, limit); err != nil {
		return err
	}
	for i := range len(s) {
		c := s[i]
		ok := (c >= 'a' && c <= 'z') || (i > 0 && ((c >= '0' && c <= '9') || c == '_'))
		if !ok {
			return fmt.Errorf("%s %q: want lower-case letters, digits and underscores, starting with a letter", field, clip(s))
		}
	}
	return nil
}

func checkPlugins(plugins []PluginInfo) error {
	if len(plugins) > MaxPlugins {
		return fmt.Errorf("plugins: %d entries, at most %d allowed", len(plugins), MaxPlugins)
	}
	seen := make(map[string]struct{}, len(plugins))
	for i, p := range plugins {
		if err := checkText(fmt.Sprintf("plugins[%d].name", i), p.Name, maxNameLen); err != nil {
			return err
		}
		if len(p.Version) > maxVersionLen {
			return fmt.Errorf("plugins[%d].version is %d bytes, at most %d allowed", i, len(p.Version), maxVersionLen)
		}
		if _, dup := seen[p.Name]; dup {
			return fmt.Errorf("plugins[%d]: plugin %q is listed twice", i, clip(p.Name))
		}
		seen[p.Name] = struct{}{}
	}
	return nil
}

// checkLabels applies Kong's count and length limits. The character rules of
// cluster_dp_labels are the data plane's configuration checks: Kong's control
// plane stores whatever labels a data plane sends.
func checkLabels(labels map[string]string) error {
	if len(labels) > MaxLabels {
		return fmt.Errorf("labels: %d entries, at most %d allowed", len(labels), MaxLabels)
	}
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		v := labels[k]
		if n := utf8.RuneCountInString(k); n < 1 || n > maxLabelLen {
			return fmt.Errorf("label key %q must have between 1 and %d characters", clip(k), maxLabelLen)
		}
		if n := utf8.RuneCountInString(v); n < 1 || n > maxLabelLen {
			return fmt.Errorf("label value %q of %q must have between 1 and %d characters", clip(v), clip(k), maxLabelLen)
		}
	}
	return nil
}

func checkTrace(trace map[string]string) error {
	if len(trace) > maxTraceEntries {
		return fmt.Errorf("trace: %d entries, at most %d allowed", len(trace), maxTraceEntries)
	}
	for _, k := range slices.Sorted(maps.Keys(trace)) {
		v := trace[k]
		if err := firstError(
			checkText("trace key", k, maxTraceKeyLen),
			checkText(fmt.Sprintf("trace[%q]", k), v, maxTraceValueLen),
		); err != nil {
			return err
		}
	}
	return nil
}

func checkEntities(entities Entities) error {
	for _, typ := range slices.Sorted(maps.Keys(entities)) {
		list := entities[typ]
		if err := checkName("entity type", typ, maxNameLen); err != nil {
			return err
		}
		seen := make(map[string]struct{}, len(list))
		for i, e := range list {
			id, err := entityID(e)
			if err != nil {
				return fmt.Errorf("entities.%s[%d]: %w", typ, i, err)
			}
			if _, dup := seen[id]; dup {
				return fmt.Errorf("entities.%s[%d]: id %q is listed twice", typ, i, clip(id))
			}
			seen[id] = struct{}{}
		}
	}
	return nil
}

// entityID returns the entity's "id", which must be a non-empty string.
func entityID(e map[string]any) (string, error) {
	if e == nil {
		return "", errors.New("entity is null")
	}
	raw, ok := e["id"]
	if !ok {
		return "", errors.New("entity has no id")
	}
	id, ok := raw.(string)
	if !ok {
		return "", fmt.Errorf("entity id is a %T, not a string", raw)
	}
	if err := checkText("entity id", id, maxIDLen); err != nil {
		return "", err
	}
	return id, nil
}

func checkChanges(changes []Change) error {
	type key struct{ typ, id string }
	seen := make(map[key]struct{}, len(changes))
	for i, c := range changes {
		if err := checkChange(c); err != nil {
			return fmt.Errorf("changes[%d]: %w", i, err)
		}
		k := key{c.Type, c.ID}
		if _, dup := seen[k]; dup {
			return fmt.Errorf("changes[%d]: %s %q is changed twice", i, c.Type, clip(c.ID))
		}
		seen[k] = struct{}{}
	}
	return nil
}

func checkChange(c Change) error {
	if err := firstError(
		checkName("type", c.Type, maxNameLen),
		checkText("id", c.ID, maxIDLen),
	); err != nil {
		return err
	}
	switch c.Op {
	case OpUpsert:
		id, err := entityID(c.Entity)
		if err != nil {
			return fmt.Errorf("upsert: %w", err)
		}
		if id != c.ID {
			return fmt.Errorf("upsert: entity id %q differs from change id %q", clip(id), clip(c.ID))
		}
	case OpDelete:
		if c.Entity != nil {
			return errors.New("delete carries an entity")
		}
	default:
		return fmt.Errorf("op %q: want %q or %q", clip(string(c.Op)), OpUpsert, OpDelete)
	}
	return nil
}

// clip shortens a value quoted in an error message, so a hostile peer cannot
// make error texts (and logs) large.
func clip(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return truncate(s, n)
}
