package protocol

import "time"

// Path is the websocket path of sync-hub's cluster listener, and
// Subprotocol the websocket subprotocol both sides require.
const (
	Path        = "/v1/sync"
	Subprotocol = "gatehouse.sync.v1"
)

// Timing defaults of a session. The data plane pings every PingInterval;
// either side gives up on a peer it has heard nothing from for PingTimeout
// (Kong: 30 s and 45 s; Gatehouse pings more often so a dead control plane
// or data plane is noticed sooner).
const (
	DefaultPingInterval = 15 * time.Second
	DefaultPingTimeout  = 45 * time.Second
	// DefaultWriteTimeout bounds every websocket write.
	DefaultWriteTimeout = 10 * time.Second
)

// Websocket close codes with a meaning in this protocol (RFC 6455).
const (
	// CloseGoingAway: the hub is shutting down; reconnect at once,
	// preferably to another control plane.
	CloseGoingAway = 1001
	// ClosePolicyViolation: the data plane is incompatible (its version)
	// or sent something that breaks the protocol; retry with backoff.
	ClosePolicyViolation = 1008
	// CloseTooBig: a message exceeded the size limit.
	CloseTooBig = 1009
)

// A session, as both sides run it:
//
//  1. The data plane dials wss://<control plane><Path> with its client
//     certificate and Subprotocol, and sends Hello with the revision and
//     config hash it holds (0 and EmptyHash when it holds none).
//  2. The hub validates Hello and runs CheckVersion. An incompatible version
//     gets an ErrorMessage with code "kong_version_incompatible", then a
//     close with ClosePolicyViolation.
//  3. When the configured plugins are not all loaded, or loaded at an
//     incompatible version, on the data plane (CheckConfiguredPlugins), the
//     hub sends an ErrorMessage with the sync status as code and withholds
//     configuration; the connection stays open, pings are answered, and the
//     check runs again at every new revision.
//  4. Otherwise the hub sends what the data plane lacks: nothing but a Pong
//     when it is current; a Delta from its revision when the change log
//     still covers it; else a Snapshot. Each carries the digest of the exact
//     entity set the data plane must hold afterwards.
//  5. The data plane validates, applies to a copy, checks the digest, builds
//     its runtime, persists, swaps, and answers Ack; on any failure before
//     the swap it answers Nack and keeps its configuration. A digest
//     mismatch after a Delta is answered with SnapshotRequest (once); after
//     a Snapshot, with Nack.
//  6. The hub sends at most one configuration message at a time per data
//     plane and waits for its Ack or Nack; meanwhile new revisions coalesce,
//     and the next message is one Delta from the last acknowledged revision
//     to the newest. After a Nack it sends nothing more until a newer
//     revision exists or the data plane asks for a snapshot.
//  7. The data plane sends Ping every PingInterval and right after each
//     apply; the hub answers each with Pong carrying its newest revision and
//     hash. A peer silent for PingTimeout is dropped.
//  8. A hub that shuts down closes every session with CloseGoingAway; data
//     planes reconnect at once, trying each configured control plane in turn.
