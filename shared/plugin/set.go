package plugin

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"gatehouse.dev/shared/schema"
)

// The special values of a plugin spec (GATEHOUSE_PLUGINS).
const (
	// SpecBundled loads every bundled plugin; it may appear in a list.
	SpecBundled = "bundled"
	// SpecOff loads no plugin; it must be the whole spec.
	SpecOff = "off"
)

// Set is the set of plugins a process has loaded. It is read-only once
// built and safe for concurrent use. A nil *Set is an empty set.
type Set struct {
	byName map[string]*Plugin
	sorted []*Plugin
}

// Load builds the set a plugin spec names, as Kong reads its `plugins`
// setting: "bundled" (or an empty spec) loads every bundled plugin, "off" none, and a
// comma-separated list loads the plugins it names, where "bundled" stands
// for all of them (e.g. "bundled" or "key-auth, rate-limiting"). Spaces
// and empty items are ignored and names may repeat. A name that is not a
// bundled plugin is an error that lists the bundled plugins.
func Load(spec string) (*Set, error) {
	available := Bundled()
	byName := make(map[string]*Plugin, len(available))
	for _, p := range available {
		byName[p.Name] = p
	}
	var names []string
	for item := range strings.SplitSeq(spec, ",") {
		if name := strings.TrimSpace(item); name != "" {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		names = []string{SpecBundled}
	}
	chosen := map[string]*Plugin{}
	var unknown []string
	for _, name := range names {
		switch name {
		case SpecOff:
			if len(names) > 1 {
				return nil, errors.New(`plugins: "off" cannot be combined with other plugins`)
			}
			return NewSet(), nil
		case SpecBundled:
			for _, p := range available {
				chosen[p.Name] = p
			}
		default:
			p, ok := byName[name]
			if !ok {
				if !slices.Contains(unknown, name) {
					unknown = append(unknown, name)
				}
				continue
			}
			chosen[name] = p
		}
	}
	if len(unknown) > 0 {
		return nil, unknownError(unknown, available)
	}
	list := make([]*Plugin, 0, len(chosen))
	for _, p := range chosen {
		list = append(list, p)
	}
	return NewSet(list...), nil
}

func unknownError(unknown []string, available []*Plugin) error {
	names := make([]string, len(available))
	for i, p := range available {
		names[i] = p.Name
	}
	quoted := make([]string, len(unknown))
	for i, u := range unknown {
		quoted[i] = "'" + u + "'"
	}
	verb := "plugin %s is"
	if len(unknown) > 1 {
		verb = "plugins %s are"
	}
	return fmt.Errorf(verb+" not available; bundled plugins are: %s",
		strings.Join(quoted, ", "), strings.Join(names, ", "))
}

// NewSet returns the set of the given plugins. When two have the same
// name, the first one is kept.
func NewSet(plugins ...*Plugin) *Set {
	s := &Set{byName: make(map[string]*Plugin, len(plugins))}
	for _, p := range plugins {
		if _, dup := s.byName[p.Name]; dup {
			continue
		}
		s.byName[p.Name] = p
		s.sorted = append(s.sorted, p)
	}
	slices.SortFunc(s.sorted, func(a, b *Plugin) int { return cmp.Compare(a.Name, b.Name) })
	return s
}

// Get returns the loaded plugin called name, or nil.
func (s *Set) Get(name string) *Plugin {
	if s == nil {
		return nil
	}
	return s.byName[name]
}

// List returns the loaded plugins sorted by name, in a new slice.
func (s *Set) List() []*Plugin {
	if s == nil {
		return nil
	}
	return slices.Clone(s.sorted)
}

// Names returns the names of the loaded plugins, sorted.
func (s *Set) Names() []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s.sorted))
	for i, p := range s.sorted {
		out[i] = p.Name
	}
	return out
}

// PluginSchema returns the subschema of the loaded plugin called name, or
// nil when no such plugin is loaded. It is what the plugins entity uses to
// select a subschema (entity.PluginSchemas).
func (s *Set) PluginSchema(name string) *schema.Schema {
	if p := s.Get(name); p != nil {
		return p.Schema
	}
	return nil
}

// Availability is how GET / describes a loaded plugin under
// plugins.available_on_server.
type Availability struct {
	Version  string `json:"version"`
	Priority int    `json:"priority"`
}

// AvailableOnServer returns the loaded plugins as GET / reports them under
// plugins.available_on_server: name → version and priority. The map is
// new; the caller may modify it.
func (s *Set) AvailableOnServer() map[string]Availability {
	out := map[string]Availability{}
	if s == nil {
		return out
	}
	for _, p := range s.sorted {
		out[p.Name] = Availability{Version: p.Version, Priority: p.Priority}
	}
	return out
}
