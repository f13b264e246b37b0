package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// field is one member of a message: its JSON name (matched exactly, unlike
// encoding/json's case-insensitive struct matching), whether it is required,
// and how to decode its value into the message.
type field struct {
	name     string
	required bool
	// decode reads one JSON value; it reports present = false for null,
	// which leaves the message unchanged.
	decode func(dec *json.Decoder) (present bool, err error)
}

// req declares a required member decoded into dst.
func req[T any](name string, dst *T) field {
	return field{name: name, required: true, decode: into(dst)}
}

// opt declares an optional member decoded into dst.
func opt[T any](name string, dst *T) field {
	return field{name: name, decode: into(dst)}
}

func into[T any](dst *T) func(*json.Decoder) (bool, error) {
	return func(dec *json.Decoder) (bool, error) {
		// Decoding into a pointer tells null (nil) from a value.
		var p *T
		if err := dec.Decode(&p); err != nil {
			return false, err
		}
		if p == nil {
			return false, nil
		}
		*dst = *p
		return true, nil
	}
}

// rawMember is a member read before the message's type was known.
type rawMember struct {
	name  string
	value json.RawMessage
}

// decodeJSON decodes exactly one JSON object, with nothing but white space
// after it, into a message. It makes one pass when "type" and "protocol"
// come first, as Encode writes them; members before them are kept raw and
// decoded at the end. Numbers inside interface values decode as
// json.Number. Unknown members are ignored. Errors start with "decode:", or
// "decode <type>:" once the type is known.
func decodeJSON(data []byte) (Message, error) {
	msg, typ, err := decodeObject(data)
	if err != nil {
		if typ == "" {
			return nil, fmt.Errorf("decode: %w", err)
		}
		return nil, fmt.Errorf("decode %s: %w", typ, err)
	}
	return msg, nil
}

// decodeObject does decodeJSON's work. It returns the message's type with
// errors found once the type is known, and "" with earlier ones.
func decodeObject(data []byte) (Message, Type, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := expectDelim(dec, '{'); err != nil {
		return nil, "", err
	}
	var (
		typ                    Type
		protocol               int64
		haveType, haveProtocol bool
		msg                    Message
		fields                 map[string]*field
		present                = map[string]bool{}
		pending                []rawMember
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, "", malformed("json: %v", err)
		}
		name, _ := tok.(string) // a key is always a string
		switch {
		case name == "type":
			if haveType, err = into(&typ)(dec); err != nil {
				return nil, "", malformed("type: %v", err)
			}
		case name == "protocol":
			if haveProtocol, err = into(&protocol)(dec); err != nil {
				return nil, "", malformed("protocol: %v", err)
			}
		case msg == nil:
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, "", malformed("json: %v", err)
			}
			pending = append(pending, rawMember{name, raw})
		case fields[name] == nil:
			if err := skipValue(dec); err != nil {
				return nil, typ, err
			}
		default:
			ok, err := fields[name].decode(dec)
			if err != nil {
				return nil, typ, malformed("%s: %v", name, err)
			}
			present[name] = present[name] || ok
		}
		if msg == nil && haveType && haveProtocol {
			if msg, err = newVersioned(typ, protocol); err != nil {
				return nil, "", err
			}
			fields = fieldMap(msg)
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return nil, "", err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, "", malformed("json: trailing data after the object")
	}
	switch {
	case !haveProtocol:
		return nil, "", malformed("protocol is missing")
	case !haveType:
		return nil, "", malformed("type is missing")
	}
	for _, m := range pending {
		f := fields[m.name]
		if f == nil {
			continue
		}
		inner := json.NewDecoder(bytes.NewReader(m.value))
		inner.UseNumber()
		ok, err := f.decode(inner)
		if err != nil {
			return nil, typ, malformed("%s: %v", m.name, err)
		}
		present[m.name] = present[m.name] || ok
	}
	for _, f := range msg.fields() {
		if f.required && !present[f.name] {
			return nil, typ, malformed("%s is missing", f.name)
		}
	}
	msg.normalize()
	if err := msg.validate(); err != nil {
		return nil, typ, malformed("%v", err)
	}
	return msg, typ, nil
}

// newVersioned checks the protocol version, then returns an empty message of
// type t. The version comes first: a newer peer's unknown type is reported
// as a newer protocol.
func newVersioned(t Type, protocol int64) (Message, error) {
	if protocol < 1 {
		return nil, malformed("protocol %d is not a version", protocol)
	}
	if protocol > ProtocolVersion {
		return nil, fmt.Errorf("%w: the message speaks protocol %d, this side speaks up to %d",
			ErrUnsupportedProtocol, protocol, ProtocolVersion)
	}
	msg := newMessage(t)
	if msg == nil {
		return nil, fmt.Errorf("%w: %w %q", ErrMalformed, ErrUnknownType, clip(string(t)))
	}
	return msg, nil
}

func fieldMap(msg Message) map[string]*field {
	fs := msg.fields()
	m := make(map[string]*field, len(fs))
	for i := range fs {
		m[fs[i].name] = &fs[i]
	}
	return m
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return malformed("json: unexpected end of input")
	}
	if err != nil {
		return malformed("json: %v", err)
	}
	if tok != want {
		if want == '{' {
			return malformed("json: not an object")
		}
		return malformed("json: unexpected %v", tok)
	}
	return nil
}

// skipValue reads and drops one JSON value.
func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return malformed("json: %v", err)
	}
	return nil
}

// nilIfEmpty returns nil for an empty map, so decoded empty collections are
// nil whether or not they were present.
func nilIfEmpty[M ~map[K]V, K comparable, V any](m M) M {
	if len(m) == 0 {
		return nil
	}
	return m
}

// nilIfEmptySlice is nilIfEmpty for slices.
func nilIfEmptySlice[S ~[]E, E any](s S) S {
	if len(s) == 0 {
		return nil
	}
	return s
}

func (h *Hello) fields() []field {
	return []field{
		req("node_id", &h.NodeID),
		req("hostname", &h.Hostname),
		req("version", &h.Version),
		req("plugins", &h.Plugins),
		opt("labels", &h.Labels),
		req("revision", &h.Revision),
		req("config_hash", &h.ConfigHash),
	}
}

func (s *Snapshot) fields() []field {
	return []field{
		req("revision", &s.Revision),
		req("config_hash", &s.ConfigHash),
		req("digest", &s.Digest),
		req("entities", &s.Entities),
		opt("trace", &s.Trace),
		req("timestamp", &s.Timestamp),
	}
}

func (d *Delta) fields() []field {
	return []field{
		req("from_revision", &d.FromRevision),
		req("revision", &d.Revision),
		req("config_hash", &d.ConfigHash),
		req("digest", &d.Digest),
		req("changes", &d.Changes),
		opt("trace", &d.Trace),
		req("timestamp", &d.Timestamp),
	}
}

func (a *Ack) fields() []field {
	return []field{
		req("revision", &a.Revision),
		req("config_hash", &a.ConfigHash),
		req("digest", &a.Digest),
	}
}

func (n *Nack) fields() []field {
	return []field{
		req("revision", &n.Revision),
		req("error", &n.Error),
		opt("fields", &n.Fields),
	}
}

func (r *SnapshotRequest) fields() []field {
	return []field{
		req("revision", &r.Revision),
		req("reason", &r.Reason),
	}
}

func (e *ErrorMessage) fields() []field {
	return []field{
		req("code", &e.Code),
		req("message", &e.Message),
	}
}

func (p *Ping) fields() []field {
	return []field{
		req("revision", &p.Revision),
		req("config_hash", &p.ConfigHash),
	}
}

func (p *Pong) fields() []field {
	return []field{
		req("revision", &p.Revision),
		req("config_hash", &p.ConfigHash),
	}
}

func (h *Hello) normalize() {
	h.Plugins = nilIfEmptySlice(h.Plugins)
	h.Labels = nilIfEmpty(h.Labels)
}

func (s *Snapshot) normalize() {
	s.Entities = nilIfEmpty(s.Entities)
	s.Trace = nilIfEmpty(s.Trace)
}

func (d *Delta) normalize() {
	d.Changes = nilIfEmptySlice(d.Changes)
	d.Trace = nilIfEmpty(d.Trace)
}

func (n *Nack) normalize() { n.Fields = nilIfEmpty(n.Fields) }

func (*Ack) normalize()             {}
func (*SnapshotRequest) normalize() {}
func (*ErrorMessage) normalize()    {}
func (*Ping) normalize()            {}
func (*Pong) normalize()            {}
