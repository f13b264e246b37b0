package protocol

// ProtocolVersion is the version of this wire protocol. Encoders write it in
// every message; decoders accept messages whose version is lower or equal and
// refuse higher ones with [ErrUnsupportedProtocol].
const ProtocolVersion = 1

// EmptyHash is the configuration hash and digest of the empty configuration,
// and what a data plane that holds no configuration reports.
const EmptyHash = "00000000000000000000000000000000"

// Type is the "type" discriminator of a message.
type Type string

// The message types.
const (
	TypeHello           Type = "hello"            // DP→CP, first message
	TypeSnapshot        Type = "snapshot"         // CP→DP
	TypeDelta           Type = "delta"            // CP→DP
	TypeAck             Type = "ack"              // DP→CP
	TypeNack            Type = "nack"             // DP→CP
	TypeSnapshotRequest Type = "snapshot_request" // DP→CP
	TypeError           Type = "error"            // CP→DP
	TypePing            Type = "ping"             // DP→CP
	TypePong            Type = "pong"             // CP→DP
)

// Types lists every message type, in the order of the protocol's
// description.
func Types() []Type {
	return []Type{
		TypeHello, TypeSnapshot, TypeDelta, TypeAck, TypeNack,
		TypeSnapshotRequest, TypeError, TypePing, TypePong,
	}
}

// Message is one protocol message. It is implemented only by pointers to
// the message types of this package ([*Hello], [*Snapshot], [*Delta], [*Ack],
// [*Nack], [*SnapshotRequest], [*ErrorMessage], [*Ping], [*Pong]); callers
// branch on a decoded message with a type switch.
type Message interface {
	// Type reports the message's "type" discriminator.
	Type() Type

	// validate checks the message's values; it returns a plain error.
	validate() error
	// fields lists the message's JSON members, bound to its fields.
	fields() []field
	// normalize makes decoded empty collections nil.
	normalize()
	// wire returns the value to marshal: the message itself, or a shallow
	// copy whose nil required collections are empty, so they encode as [] or
	// {} instead of null.
	wire() any
}

// newMessage returns an empty message of type t, or nil for an unknown type.
func newMessage(t Type) Message {
	switch t {
	case TypeHello:
		return new(Hello)
	case TypeSnapshot:
		return new(Snapshot)
	case TypeDelta:
		return new(Delta)
	case TypeAck:
		return new(Ack)
	case TypeNack:
		return new(Nack)
	case TypeSnapshotRequest:
		return new(SnapshotRequest)
	case TypeError:
		return new(ErrorMessage)
	case TypePing:
		return new(Ping)
	case TypePong:
		return new(Pong)
	}
	return nil
}

// Entities is a configuration grouped by entity type: type name (such as
// "services", "routes", "plugins") to the entities of that type. Every
// entity is a JSON object with a string "id" unique within its type.
type Entities = map[string][]map[string]any

// PluginInfo names a plugin loaded on a node and the version it shipped in (a
// Gatehouse semver string; empty when unknown).
type PluginInfo struct {
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
}

// Hello is the data plane's first message.
//
// Validation: NodeID is a UUID; Hostname and Version are non-empty (Version
// need not parse: [CheckVersion] reports unparsable versions with Kong's
// message); Plugins have unique non-empty names; at most 10 Labels with keys
// and values of 1 to 63 characters; Revision ≥ 0; ConfigHash is 32 lower-case
// hex characters. Every member except labels must be present.
type Hello struct {
	// NodeID is the data plane's persistent identity (a UUID).
	NodeID string `json:"node_id"`
	// Hostname is the data plane's host name.
	Hostname string `json:"hostname"`
	// Version is the data plane's Gatehouse version.
	Version string `json:"version"`
	// Plugins lists every plugin the data plane loaded.
	Plugins []PluginInfo `json:"plugins"`
	// Labels are the data plane's labels (GATEHOUSE_CLUSTER_DP_LABELS).
	Labels map[string]string `json:"labels,omitempty"`
	// Revision is the revision the data plane holds, 0 for none.
	Revision int64 `json:"revision"`
	// ConfigHash is the hash the data plane reports, [EmptyHash] for none.
	ConfigHash string `json:"config_hash"`
}

// Snapshot is a whole configuration: the data plane replaces what it holds
// with Entities.
//
// Validation: Revision and Timestamp ≥ 0; ConfigHash and Digest are 32
// lower-case hex characters; entity type names match [a-z][a-z0-9_]*; every
// entity is an object with a non-empty string "id", unique within its type;
// Trace holds at most 8 short entries. Every member except trace must be
// present.
type Snapshot struct {
	// Revision is the revision the configuration is at.
	Revision int64 `json:"revision"`
	// ConfigHash is the control plane's hash of its configuration at
	// Revision; the data plane reports it back.
	ConfigHash string `json:"config_hash"`
	// Digest is the hash of exactly Entities, which differs from ConfigHash
	// when fields were removed for an older data plane. The data plane checks
	// it.
	Digest string `json:"digest"`
	// Entities is the configuration.
	Entities Entities `json:"entities"`
	// Trace is the W3C trace context carrier (traceparent, tracestate) of the
	// change that produced Revision.
	Trace map[string]string `json:"trace,omitempty"`
	// Timestamp is when the control plane sent the message, in Unix
	// milliseconds.
	Timestamp int64 `json:"timestamp"`
}

// Op is the operation of a [Change].
type Op string

// The change operations.
const (
	OpUpsert Op = "upsert"
	OpDelete Op = "delete"
)

// Change is one entity change in a [Delta].
type Change struct {
	// Op is upsert or delete.
	Op Op `json:"op"`
	// Type is the entity type, such as "routes".
	Type string `json:"type"`
	// ID is the entity's id.
	ID string `json:"id"`
	// Entity is the entity after the change: an object whose "id" equals
	// ID for an upsert, nil for a delete.
	Entity map[string]any `json:"entity"`
}

// Delta takes a data plane from FromRevision to Revision. It holds at most one
// change per entity, so the changes may be applied in any order.
//
// Validation: 0 ≤ FromRevision < Revision; Timestamp ≥ 0; ConfigHash and
// Digest are 32 lower-case hex characters; each change has a known Op, a valid
// type name and a non-empty id, no two changes name the same entity, an upsert
// carries an object whose "id" equals the change's id and a delete carries no
// entity. Every member except trace must be present.
type Delta struct {
	// FromRevision is the revision the data plane must hold to apply the
	// delta.
	FromRevision int64 `json:"from_revision"`
	// Revision is the revision the data plane holds after applying it.
	Revision int64 `json:"revision"`
	// ConfigHash is the control plane's hash at Revision.
	ConfigHash string `json:"config_hash"`
	// Digest is the hash of the entity set the data plane must hold after
	// applying the delta.
	Digest string `json:"digest"`
	// Changes are the entity changes.
	Changes []Change `json:"changes"`
	// Trace is the W3C trace context carrier of the change that produced
	// Revision.
	Trace map[string]string `json:"trace,omitempty"`
	// Timestamp is when the control plane sent the message, in Unix
	// milliseconds.
	Timestamp int64 `json:"timestamp"`
}

// Ack tells the control plane that the data plane applied a configuration.
//
// Validation: Revision ≥ 0; ConfigHash and Digest are 32 lower-case hex
// characters. All members must be present.
type Ack struct {
	// Revision is the revision the data plane now holds.
	Revision int64 `json:"revision"`
	// ConfigHash is the hash the data plane now reports.
	ConfigHash string `json:"config_hash"`
	// Digest is the digest of the entities the data plane now holds.
	Digest string `json:"digest"`
}

// Nack tells the control plane that the data plane refused a configuration;
// it keeps serving what it held before. [NewNack] builds one within the
// limits.
//
// Validation: Revision ≥ 0; Error is non-empty and at most [MaxTextLen] bytes;
// at most [MaxNackFields] Fields, each with a path of 1 to 256 bytes and a
// non-empty message of at most [MaxTextLen] bytes. Revision and error must be
// present.
type Nack struct {
	// Revision is the revision the data plane refused.
	Revision int64 `json:"revision"`
	// Error says why, for people.
	Error string `json:"error"`
	// Fields maps a field path (such as "routes.<id>.paths") to what is wrong
	// with it.
	Fields map[string]string `json:"fields,omitempty"`
}

// SnapshotRequest asks the control plane for a full snapshot, after a delta
// left the data plane with a digest that does not match.
//
// Validation: Revision ≥ 0; Reason is non-empty and at most [MaxTextLen]
// bytes. All members must be present.
type SnapshotRequest struct {
	// Revision is the revision the data plane holds.
	Revision int64 `json:"revision"`
	// Reason says why, for people.
	Reason string `json:"reason"`
}

// Error codes other than the [SyncStatus] values, for [ErrorMessage].
const (
	// CodeBadMessage: the control plane could not decode or accept a message
	// and will close the connection.
	CodeBadMessage = "bad_message"
	// CodeUnsupportedProtocol: the data plane speaks a newer protocol.
	CodeUnsupportedProtocol = "unsupported_protocol"
)

// ErrorMessage tells the data plane why configuration is withheld or why the
// connection is about to close. Its JSON type is "error".
//
// Validation: Code matches [a-z][a-z0-9_]* and is at most 64 bytes; Message is
// non-empty and at most [MaxTextLen] bytes. All members must be present.
type ErrorMessage struct {
	// Code is a [SyncStatus] value (such as "plugin_set_incompatible") or
	// another short code such as [CodeBadMessage].
	Code string `json:"code"`
	// Message is the explanation, with Kong's texts for compatibility
	// failures.
	Message string `json:"message"`
}

// Ping reports what the data plane holds; the control plane answers with a
// [Pong].
//
// Validation: Revision ≥ 0; ConfigHash is 32 lower-case hex characters. All
// members must be present.
type Ping struct {
	// Revision is the revision the data plane holds, 0 for none.
	Revision int64 `json:"revision"`
	// ConfigHash is the hash the data plane reports, [EmptyHash] for none.
	ConfigHash string `json:"config_hash"`
}

// Pong reports what the control plane has, so a data plane learns it is
// behind.
//
// Validation: as [Ping].
type Pong struct {
	// Revision is the control plane's newest revision.
	Revision int64 `json:"revision"`
	// ConfigHash is the control plane's hash at Revision.
	ConfigHash string `json:"config_hash"`
}

// Type reports [TypeHello].
func (*Hello) Type() Type { return TypeHello }

// Type reports [TypeSnapshot].
func (*Snapshot) Type() Type { return TypeSnapshot }

// Type reports [TypeDelta].
func (*Delta) Type() Type { return TypeDelta }

// Type reports [TypeAck].
func (*Ack) Type() Type { return TypeAck }

// Type reports [TypeNack].
func (*Nack) Type() Type { return TypeNack }

// Type reports [TypeSnapshotRequest].
func (*SnapshotRequest) Type() Type { return TypeSnapshotRequest }

// Type reports [TypeError].
func (*ErrorMessage) Type() Type { return TypeError }

// Type reports [TypePing].
func (*Ping) Type() Type { return TypePing }

// Type reports [TypePong].
func (*Pong) Type() Type { return TypePong }

func (h *Hello) wire() any {
	if h.Plugins != nil {
		return h
	}
	c := *h
	c.Plugins = []PluginInfo{}
	return &c
}

func (s *Snapshot) wire() any {
	if s.Entities != nil {
		return s
	}
	c := *s
	c.Entities = Entities{}
	return &c
}

func (d *Delta) wire() any {
	if d.Changes != nil {
		return d
	}
	c := *d
	c.Changes = []Change{}
	return &c
}

func (a *Ack) wire() any             { return a }
func (n *Nack) wire() any            { return n }
func (r *SnapshotRequest) wire() any { return r }
func (e *ErrorMessage) wire() any    { return e }
func (p *Ping) wire() any            { return p }
func (p *Pong) wire() any            { return p }
