// Package compat removes from a configuration the fields that an older data
// plane does not know, as Kong's control plane does before every push
// (kong/clustering/compat/removed_fields.lua).
//
// A [Table] lists, per Gatehouse version, the entity fields and the plugin
// configuration fields that version added. A data plane older than that
// version gets them removed: a data plane ignores unknown fields whose value
// is null, but refuses unknown fields with a value. Fields are dotted paths
// through nested objects ("storage_config.redis.ssl"); plugin fields are
// relative to the plugin's "config". Only fields with a non-null value are
// removed: a null value is ignored by the data plane, and the config hash
// omits nulls, so removing it would change nothing.
//
// Data planes of the same [Level] get identical results, so callers cache
// per level (sync-hub encodes one snapshot per revision and level). The
// level of a data plane as new as the control plane is "", and nothing is
// removed for it.
//
// Gatehouse 1.0.0 is the first version, so the shipped table, [Removed], is
// empty; each release that adds a field adds an entry.
package compat

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"gatehouse.dev/shared/version"
)

// Removal lists the fields that Gatehouse Version added: a data plane older
// than Version does not know them.
type Removal struct {
	// Version is the Gatehouse version (major.minor.patch) that added the
	// fields.
	Version string
	// Entities maps an entity type ("upstreams") to dotted paths of fields
	// of that type.
	Entities map[string][]string
	// Plugins maps a plugin name to dotted paths inside the plugin's
	// config. Names match with dashes and underscores alike
	// ("rate-limiting" or "rate_limiting", as Kong's table writes them).
	Plugins map[string][]string
}

// Table is a list of removals, in any order. A Table is read-only once
// built and safe for concurrent use.
type Table []Removal

// Removed is the table sync-hub applies. It is empty: 1.0.0 is the first
// Gatehouse version, so no data plane lacks a field.
var Removed Table

// Level returns Removed's level for a data-plane version (see
// [Table.Level]).
func Level(dpVersion string) string { return Removed.Level(dpVersion) }

// Strip applies Removed to one entity for a data-plane version (see
// [Table.Strip]).
func Strip(dpVersion, typ string, entity map[string]any) (map[string]any, []string) {
	return Removed.Strip(dpVersion, typ, entity)
}

// thresholds returns the distinct, valid versions of the table above which
// the data plane is older ("dp < threshold"), sorted. An unparsable
// data-plane version counts as older than every entry. Entries whose own
// version does not parse are ignored ([Table.Validate] reports them).
func (t Table) thresholds(dpVersion string) []version.Semver {
	dp, dpErr := version.Parse(dpVersion)
	var out []version.Semver
	for _, r := range t {
		v, err := version.Parse(r.Version)
		if err != nil {
			continue
		}
		if dpErr != nil || less(dp, v) {
			out = append(out, v)
		}
	}
	slices.SortFunc(out, compare)
	return slices.Compact(out)
}

// Level names the set of removals that apply to a data plane of version
// dpVersion: "" when none applies, else "<" followed by the lowest version
// of the table newer than the data plane (such as "<1.1.0"). Two data
// planes with the same level get the same fields removed.
func (t Table) Level(dpVersion string) string {
	th := t.thresholds(dpVersion)
	if len(th) == 0 {
		return ""
	}
	return "<" + format(th[0])
}

// Rules returns the merged removals for a data plane of version dpVersion,
// or nil when none applies (a nil *Rules removes nothing). Build it once per
// data plane and use it for every entity.
func (t Table) Rules(dpVersion string) *Rules {
	th := t.thresholds(dpVersion)
	if len(th) == 0 {
		return nil
	}
	r := &Rules{level: "<" + format(th[0]), entities: map[string][][]string{}, plugins: map[string][][]string{}}
	for _, rm := range t {
		v, err := version.Parse(rm.Version)
		if err != nil || less(v, th[0]) {
			continue
		}
		for typ, paths := range rm.Entities {
			r.entities[typ] = appendPaths(r.entities[typ], paths)
		}
		for name, paths := range rm.Plugins {
			n := pluginKey(name)
			r.plugins[n] = appendPaths(r.plugins[n], paths)
		}
	}
	return r
}

// Strip returns entity without the fields that a data plane of version
// dpVersion does not know, and the dotted paths it removed ("config.<path>"
// for plugin fields). It returns entity itself, uncopied, when nothing is
// removed; otherwise a copy that shares everything it did not change.
// entity is never modified. For many entities, use [Table.Rules] once.
func (t Table) Strip(dpVersion, typ string, entity map[string]any) (map[string]any, []string) {
	return t.Rules(dpVersion).Strip(typ, entity)
}

// Validate reports an entry whose version does not parse, or whose paths
// are empty or have an empty segment.
func (t Table) Validate() error {
	for _, r := range t {
		if _, err := version.Parse(r.Version); err != nil {
			return err
		}
		for _, group := range []map[string][]string{r.Entities, r.Plugins} {
			for _, key := range slices.Sorted(maps.Keys(group)) {
				for _, p := range group[key] {
					if slices.Contains(strings.Split(p, "."), "") {
						return &pathError{version: r.Version, key: key, path: p}
					}
				}
			}
		}
	}
	return nil
}

type pathError struct{ version, key, path string }

func (e *pathError) Error() string {
	return "compat table " + e.version + ": " + e.key + ": invalid field path " + `"` + e.path + `"`
}

// Rules are the merged removals for one level. A nil *Rules removes
// nothing. Rules are read-only and safe for concurrent use.
type Rules struct {
	level    string
	entities map[string][][]string // type → split paths
	plugins  map[string][][]string // plugin key (underscores) → split paths
}

// Level is the level the rules stand for ("" for nil rules).
func (r *Rules) Level() string {
	if r == nil {
		return ""
	}
	return r.level
}

// Strip is [Table.Strip] for the data plane the rules were built for.
func (r *Rules) Strip(typ string, entity map[string]any) (map[string]any, []string) {
	if r == nil || entity == nil {
		return entity, nil
	}
	out := entity
	copied := false // out is a copy this call owns
	var changed []string
	for _, path := range r.entities[typ] {
		if next, ok := without(out, path); ok {
			out, copied = next, true
			changed = append(changed, strings.Join(path, "."))
		}
	}
	if typ != "plugins" || len(r.plugins) == 0 {
		return out, changed
	}
	name, _ := out["name"].(string)
	config, _ := out["config"].(map[string]any)
	paths := r.plugins[pluginKey(name)]
	if config == nil || len(paths) == 0 {
		return out, changed
	}
	stripped, strippedAny := config, false
	for _, path := range paths {
		if next, ok := without(stripped, path); ok {
			stripped, strippedAny = next, true
			changed = append(changed, "config."+strings.Join(path, "."))
		}
	}
	if strippedAny {
		if !copied {
			out = maps.Clone(out)
		}
		out["config"] = stripped
	}
	return out, changed
}

// Warning is the line Kong's control plane logs (at warn level) for a field
// removed from an entity by Strip, without Kong's "[clustering] " prefix:
//   - for a plugin's config: "<plugin> plugin contains configuration
//     '<field>' which is incompatible with dataplane and will be ignored",
//     where <plugin> is the name with dashes as underscores (as Kong's table
//     writes it) and <field> the path inside config;
//   - for another field: "<type> entity contains field '<field>' which is
//     incompatible with dataplane and will be ignored".
func Warning(typ string, entity map[string]any, path string) string {
	if rest, ok := strings.CutPrefix(path, "config."); ok && typ == "plugins" {
		name, _ := entity["name"].(string)
		return pluginKey(name) + " plugin contains configuration '" + rest +
			"' which is incompatible with dataplane and will be ignored"
	}
	return typ + " entity contains field '" + path + "' which is incompatible with dataplane and will be ignored"
}

// without returns m without the value at path, copying m and the objects on
// the way to it; ok is false (and m returned as is) when there is no
// non-null value there.
func without(m map[string]any, path []string) (map[string]any, bool) {
	v, present := m[path[0]]
	if !present || v == nil {
		return m, false
	}
	if len(path) == 1 {
		c := maps.Clone(m)
		delete(c, path[0])
		return c, true
	}
	sub, isMap := v.(map[string]any)
	if !isMap {
		return m, false
	}
	next, ok := without(sub, path[1:])
	if !ok {
		return m, false
	}
	c := maps.Clone(m)
	c[path[0]] = next
	return c, true
}

func appendPaths(dst [][]string, paths []string) [][]string {
	for _, p := range paths {
		split := strings.Split(p, ".")
		if slices.Contains(split, "") {
			continue
		}
		if !slices.ContainsFunc(dst, func(q []string) bool { return slices.Equal(q, split) }) {
			dst = append(dst, split)
		}
	}
	return dst
}

// pluginKey normalises a plugin name as Kong's removed_fields.lua writes
// it: dashes become underscores.
func pluginKey(name string) string { return strings.ReplaceAll(name, "-", "_") }

func less(a, b version.Semver) bool { return compare(a, b) < 0 }

func compare(a, b version.Semver) int {
	switch {
	case a.Major != b.Major:
		return a.Major - b.Major
	case a.Minor != b.Minor:
		return a.Minor - b.Minor
	}
	return a.Patch - b.Patch
}

func format(v version.Semver) string {
	return strconv.Itoa(v.Major) + "." + strconv.Itoa(v.Minor) + "." + strconv.Itoa(v.Patch)
}
