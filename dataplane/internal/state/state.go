// Package state keeps what the data plane reports about itself, for the
// status API: the configuration it serves (revision, hash), its last sync
// and error, its connection to the control plane, its readiness, and its
// identity. The sync client writes it; readers take a Status, a copy.
package state

import (
	"sync"
	"time"

	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/shared/protocol"
)

// Kong's readiness texts (kong/status/ready.lua) for a data plane without
// a configuration to serve.
const (
	ReasonNotInitialized = "no configuration available (configuration hash is not initialized)"
	ReasonEmpty          = "no configuration available (empty configuration present)"
)

// Source is what the status API reads.
type Source interface {
	// Status returns the current state.
	Status() Status
}

// ControlPlane is the data plane's connection to its control plane.
type ControlPlane struct {
	// Connected reports an open session; Address is the control plane
	// connected to, or last tried; Since is when Connected last changed.
	Connected bool
	Address   string
	Since     time.Time
	// LastError is why the last session ended or could not start; it is
	// kept after a reconnection.
	LastError string
}

// Status is a copy of the state at one moment.
type Status struct {
	// NodeID, Hostname and Labels identify the data plane.
	NodeID   string
	Hostname string
	Labels   map[string]string
	// Standalone is true when no control plane is configured.
	Standalone bool
	// Revision and ConfigHash describe the configuration served
	// (ConfigHash "" when none is loaded); Entities counts its entities.
	Revision   int64
	ConfigHash string
	Entities   int
	// Source says where the configuration served came from: "cache",
	// "declarative", "control_plane", or "" for none.
	Origin string
	// LastSync is when a configuration from the control plane was last
	// applied (or found current); LastSyncError and LastSyncErrorAt the
	// last failure to apply one, cleared by the next success.
	LastSync        time.Time
	LastSyncError   string
	LastSyncErrorAt time.Time
	// ControlPlane is the connection.
	ControlPlane ControlPlane
	// Ready and Reason are the readiness and, when not ready, why in
	// Kong's words.
	Ready  bool
	Reason string
}

// Origins of the configuration served.
const (
	OriginCache        = "cache"
	OriginDeclarative  = "declarative"
	OriginControlPlane = "control_plane"
)

// State is the data plane's state. It is safe for concurrent use.
type State struct {
	holder *gateway.Holder

	mu sync.Mutex
	st Status
}

var _ Source = (*State)(nil)

// New returns the state of a data plane with its identity, reading the
// configuration served from holder.
func New(holder *gateway.Holder, nodeID, hostname string, labels map[string]string, standalone bool) *State {
	return &State{holder: holder, st: Status{NodeID: nodeID, Hostname: hostname, Labels: labels, Standalone: standalone}}
}

// Status returns a copy of the state; readiness is worked out from the
// runtime served at that moment.
func (s *State) Status() Status {
	s.mu.Lock()
	st := s.st
	s.mu.Unlock()
	rt := s.holder.Load()
	st.Revision = rt.Revision()
	st.ConfigHash = rt.ConfigHash()
	st.Entities = rt.Set().Len()
	switch {
	case !rt.Loaded():
		st.Reason = ReasonNotInitialized
	case rt.ConfigHash() == protocol.EmptyHash || rt.Set().Len() == 0:
		st.Reason = ReasonEmpty
	default:
		st.Ready = true
	}
	return st
}

// Loaded records where the configuration now served came from.
func (s *State) Loaded(origin string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Origin = origin
}

// Synced records a configuration from the control plane applied, or found
// current, at t.
func (s *State) Synced(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.Origin = OriginControlPlane
	s.st.LastSync = t
	s.st.LastSyncError = ""
	s.st.LastSyncErrorAt = time.Time{}
}

// SyncFailed records a configuration that could not be applied.
func (s *State) SyncFailed(t time.Time, err string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.LastSyncError = err
	s.st.LastSyncErrorAt = t
}

// Connecting records an attempt to reach address.
func (s *State) Connecting(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.ControlPlane.Address = address
}

// Connected records a session open with address since t.
func (s *State) Connected(address string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.ControlPlane = ControlPlane{Connected: true, Address: address, Since: t, LastError: s.st.ControlPlane.LastError}
}

// Disconnected records the end of a session (or a failed attempt) at t,
// and why.
func (s *State) Disconnected(t time.Time, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.ControlPlane.Connected || s.st.ControlPlane.Since.IsZero() {
		s.st.ControlPlane.Since = t
	}
	s.st.ControlPlane.Connected = false
	s.st.ControlPlane.LastError = reason
}
