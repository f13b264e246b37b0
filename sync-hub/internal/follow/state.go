package follow

import (
	"sort"
	"time"

	"gatehouse.dev/shared/configset"
	"gatehouse.dev/shared/protocol"
)

// Revision is one ingested revision: the changes it made, the config hash
// right after it, and where it came from.
type Revision struct {
	// Revision is the revision number.
	Revision int64
	// Hash is the config hash after the revision; "" when unknown
	// (revisions read from the database for a data plane far behind).
	Hash string
	// Changes are the revision's entity changes, in commit order.
	Changes []protocol.Change
	// Trace is the W3C trace context of the request that made it.
	Trace map[string]string
	// Committed is when the revision was written.
	Committed time.Time
}

// State is one published configuration. A State and everything it holds
// are immutable: any number of goroutines may read them.
type State struct {
	// Revision is the revision the configuration is at.
	Revision int64
	// Set is the configuration. Callers must not modify it.
	Set *configset.Set
	// Hash is the config hash at Revision.
	Hash string
	// Trace is the W3C trace context of the change that produced Revision
	// (nil when unknown).
	Trace map[string]string
	// Committed is when Revision was written (zero when unknown, as after a
	// snapshot load).
	Committed time.Time
	// Plugins are the names of the configured plugins (those the
	// configuration's plugins entities use), sorted.
	Plugins []string

	// base is the revision from which the history covers every revision up
	// to Revision, and baseHash the hash at base.
	base     int64
	baseHash string
	// history holds the revisions after base, oldest first. States share
	// its backing array; a State's slice is never written after publishing.
	history []Revision
	// next is closed when a newer State is published.
	next chan struct{}
}

// Superseded is closed when a newer State has been published: a session
// waits on it to learn there is news.
func (s *State) Superseded() <-chan struct{} { return s.next }

// Base is the oldest revision from which the in-memory history covers every
// change up to Revision.
func (s *State) Base() int64 { return s.base }

// HashAt returns the config hash at rev, when rev is Base or a revision of
// the in-memory history.
func (s *State) HashAt(rev int64) (string, bool) {
	if rev == s.base {
		return s.baseHash, true
	}
	i := s.search(rev)
	if i < len(s.history) && s.history[i].Revision == rev {
		return s.history[i].Hash, true
	}
	return "", false
}

// Since returns the revisions after from, up to Revision, from the
// in-memory history; ok is false when the history does not reach back to
// from (from < Base) or from is beyond Revision. The slice is shared:
// callers must not modify it.
func (s *State) Since(from int64) ([]Revision, bool) {
	if from < s.base || from > s.Revision {
		return nil, false
	}
	return s.history[s.search(from+1):], true
}

// search returns the index of the first history entry at or after rev.
func (s *State) search(rev int64) int {
	return sort.Search(len(s.history), func(i int) bool { return s.history[i].Revision >= rev })
}

// HistoryLen is the number of revisions held in memory.
func (s *State) HistoryLen() int { return len(s.history) }

// Coalesce merges the changes of revs, in order, into at most one change
// per entity: the last operation on each entity wins. The result may be
// applied in any order.
func Coalesce(revs []Revision) []protocol.Change {
	type key struct{ typ, id string }
	n := 0
	for _, r := range revs {
		n += len(r.Changes)
	}
	if len(revs) == 1 && !hasDuplicates(revs[0].Changes) {
		return revs[0].Changes
	}
	index := make(map[key]int, n)
	out := make([]protocol.Change, 0, n)
	for _, r := range revs {
		for _, c := range r.Changes {
			k := key{c.Type, c.ID}
			if i, seen := index[k]; seen {
				out[i] = c
				continue
			}
			index[k] = len(out)
			out = append(out, c)
		}
	}
	return out
}

func hasDuplicates(changes []protocol.Change) bool {
	if len(changes) < 2 {
		return false
	}
	type key struct{ typ, id string }
	seen := make(map[key]struct{}, len(changes))
	for _, c := range changes {
		k := key{c.Type, c.ID}
		if _, dup := seen[k]; dup {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}
