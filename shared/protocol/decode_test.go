package protocol_test

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gatehouse.dev/shared/protocol"
)

// members returns the JSON members of msg's uncompressed encoding.
func members(t *testing.T, msg protocol.Message) map[string]json.RawMessage {
	t.Helper()
	frame, err := protocol.Codec{CompressThreshold: -1}.Encode(msg)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(frame, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func marshal(t *testing.T, m map[string]json.RawMessage) []byte {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeRequiredMembers(t *testing.T) {
	t.Parallel()
	optional := map[protocol.Type][]string{
		protocol.TypeHello:    {"labels"},
		protocol.TypeSnapshot: {"trace"},
		protocol.TypeDelta:    {"trace"},
		protocol.TypeNack:     {"fields"},
	}
	for _, msg := range sampleMessages() {
		base := members(t, msg)
		for _, key := range slices.Sorted(maps.Keys(base)) {
			for _, how := range []string{"absent", "null"} {
				t.Run(string(msg.Type())+"/"+key+" "+how, func(t *testing.T) {
					t.Parallel()
					m := maps.Clone(base)
					if how == "absent" {
						delete(m, key)
					} else {
						m[key] = json.RawMessage("null")
					}
					got, err := protocol.Decode(marshal(t, m), 0)
					if slices.Contains(optional[msg.Type()], key) {
						if err != nil {
							t.Fatalf("Decode without optional %s: %v", key, err)
						}
						if got.Type() != msg.Type() {
							t.Fatalf("Decode = %s, want %s", got.Type(), msg.Type())
						}
						return
					}
					if !errors.Is(err, protocol.ErrMalformed) {
						t.Fatalf("Decode without %s = %v, %v; want ErrMalformed", key, got, err)
					}
					if want := key + " is missing"; !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not contain %q", err, want)
					}
				})
			}
		}
	}
}

func TestDecodeIgnoresUnknownMembers(t *testing.T) {
	t.Parallel()
	for _, msg := range sampleMessages() {
		t.Run(string(msg.Type()), func(t *testing.T) {
			t.Parallel()
			m := members(t, msg)
			m["added_in_a_later_release"] = json.RawMessage(`{"x":[1,2,3]}`)
			m["Revision"] = json.RawMessage(`"keys match exactly, so this is unknown"`)
			got, err := protocol.Decode(marshal(t, m), 0)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, msg) {
				t.Errorf("Decode = %#v, want %#v", got, msg)
			}
		})
	}
}

func TestDecodeKeepsBigIntegers(t *testing.T) {
	t.Parallel()
	const big = "123456789012345678901234567890"
	frame := `{"type":"snapshot","protocol":1,"revision":9007199254740993,"config_hash":"` + testHash +
		`","digest":"` + testHash + `","entities":{"services":[{"id":"a","port":` + big + `,"ratio":0.1}]},"timestamp":1}`
	msg, err := protocol.Decode([]byte(frame), 0)
	if err != nil {
		t.Fatal(err)
	}
	s := msg.(*protocol.Snapshot)
	if s.Revision != 9007199254740993 {
		t.Errorf("revision = %d, want 9007199254740993", s.Revision)
	}
	svc := s.Entities["services"][0]
	if svc["port"] != json.Number(big) || svc["ratio"] != json.Number("0.1") {
		t.Errorf("numbers = %#v, %#v; want json.Number %s and 0.1", svc["port"], svc["ratio"], big)
	}
}

// frame builds a message from JSON members written as text.
func frame(typ string, body string) []byte {
	s := `{"type":"` + typ + `","protocol":1`
	if body != "" {
		s += "," + body
	}
	return []byte(s + "}")
}

func TestDecodeErrors(t *testing.T) {
	t.Parallel()
	const (
		h       = `"` + testHash + `"`
		ack     = `"revision":1,"config_hash":` + h + `,"digest":` + h
		helloOK = `"node_id":"` + testNodeID + `","hostname":"dp","version":"1.0.0","revision":0,"config_hash":` + h
		snapOK  = `"revision":1,"config_hash":` + h + `,"digest":` + h + `,"timestamp":1`
		deltaOK = `"from_revision":1,"revision":2,"config_hash":` + h + `,"digest":` + h + `,"timestamp":1`
	)
	route := func(id string) string { return `{"id":"` + id + `","paths":["/"]}` }
	tests := []struct {
		name    string
		data    []byte
		wantErr error
		wantMsg string
	}{
		// Framing.
		{"empty input", nil, protocol.ErrMalformed, "json: unexpected end of input"},
		{"not JSON", []byte("hello"), protocol.ErrMalformed, "json:"},
		{"truncated JSON", []byte(`{"type":"ack"`), protocol.ErrMalformed, "json:"},
		{"array", []byte(`[1,2]`), protocol.ErrMalformed, "json:"},
		{"null", []byte(`null`), protocol.ErrMalformed, "not an object"},
		{"string", []byte(`"ack"`), protocol.ErrMalformed, "json:"},
		{"trailing object", append(frame("ack", ack), `{}`...), protocol.ErrMalformed, "trailing data"},
		{"trailing garbage", append(frame("ack", ack), `x`...), protocol.ErrMalformed, "trailing data"},
		{"gzip magic then junk", []byte{0x1f, 0x8b, 1, 2, 3}, protocol.ErrMalformed, "gzip"},
		{"gzip magic only", []byte{0x1f, 0x8b}, protocol.ErrMalformed, "gzip"},
		{"gzip of non-JSON", gzipBytes(t, []byte("not json")), protocol.ErrMalformed, "json:"},
		{"gzip of gzip", gzipBytes(t, gzipBytes(t, frame("ack", ack))), protocol.ErrMalformed, "json:"},
		{"gzip with trailing junk", append(gzipBytes(t, frame("ack", ack)), "junk"...), protocol.ErrMalformed, "gzip"},
		{"gzip truncated", gzipBytes(t, frame("ack", ack))[:20], protocol.ErrMalformed, "gzip"},

		// Envelope.
		{"missing type", []byte(`{"protocol":1,` + ack + `}`), protocol.ErrMalformed, "type is missing"},
		{"type not a string", []byte(`{"type":7,"protocol":1}`), protocol.ErrMalformed, "type: json: cannot unmarshal number"},
		{"unknown type", frame("reconfigure", ack), protocol.ErrUnknownType, `unknown message type "reconfigure"`},
		{"unknown type is malformed too", frame("basic_info", ""), protocol.ErrMalformed, "unknown message type"},
		{"type in the wrong case", frame("ACK", ack), protocol.ErrUnknownType, `"ACK"`},
		{"missing protocol", []byte(`{"type":"ack",` + ack + `}`), protocol.ErrMalformed, "protocol is missing"},
		{"protocol zero", []byte(`{"type":"ack","protocol":0,` + ack + `}`), protocol.ErrMalformed, "protocol 0 is not a version"},
		{"protocol negative", []byte(`{"type":"ack","protocol":-1,` + ack + `}`), protocol.ErrMalformed, "protocol -1"},
		{"protocol as a string", []byte(`{"type":"ack","protocol":"1",` + ack + `}`), protocol.ErrMalformed, "protocol: json: cannot unmarshal string"},
		{"protocol fractional", []byte(`{"type":"ack","protocol":1.5,` + ack + `}`), protocol.ErrMalformed, "protocol: json: cannot unmarshal number 1.5"},
		{
			"higher protocol", []byte(`{"type":"ack","protocol":2,` + ack + `}`), protocol.ErrUnsupportedProtocol,
			"unsupported protocol version: the message speaks protocol 2, this side speaks up to 1",
		},
		{"higher protocol with an unknown type", []byte(`{"type":"new_thing","protocol":7}`), protocol.ErrUnsupportedProtocol, "protocol 7"},

		// Wrong types.
		{"revision as a string", frame("ack", `"revision":"1","config_hash":`+h+`,"digest":`+h), protocol.ErrMalformed, "revision: json: cannot unmarshal string"},
		{"revision fractional", frame("ack", `"revision":1.5,"config_hash":`+h+`,"digest":`+h), protocol.ErrMalformed, "revision: json: cannot unmarshal number 1.5"},
		{"revision overflows", frame("ack", `"revision":99999999999999999999,"config_hash":`+h+`,"digest":`+h), protocol.ErrMalformed, "revision: json: cannot unmarshal number"},
		{"node_id as a number", frame("hello", `"node_id":5,"hostname":"dp","version":"1.0.0","plugins":[],"revision":0,"config_hash":`+h), protocol.ErrMalformed, "node_id: json: cannot unmarshal number"},
		{"plugins as an object", frame("hello", helloOK+`,"plugins":{}`), protocol.ErrMalformed, "plugins: json: cannot unmarshal object"},
		{"label value as a number", frame("hello", helloOK+`,"plugins":[],"labels":{"a":1}`), protocol.ErrMalformed, "labels: json: cannot unmarshal number"},
		{"entities as a list", frame("snapshot", snapOK+`,"entities":[]`), protocol.ErrMalformed, "entities: json: cannot unmarshal array"},
		{"entity as a string", frame("snapshot", snapOK+`,"entities":{"services":["x"]}`), protocol.ErrMalformed, "entities: json: cannot unmarshal string"},
		{"changes as an object", frame("delta", deltaOK+`,"changes":{}`), protocol.ErrMalformed, "changes: json: cannot unmarshal object"},

		// Hello values.
		{"node_id not a UUID", frame("hello", `"node_id":"node-1","hostname":"dp","version":"1.0.0","plugins":[],"revision":0,"config_hash":`+h), protocol.ErrMalformed, `node_id "node-1" is not a UUID`},
		{"node_id with braces", frame("hello", `"node_id":"{`+testNodeID[1:35]+`}","hostname":"dp","version":"1.0.0","plugins":[],"revision":0,"config_hash":`+h), protocol.ErrMalformed, "is not a UUID"},
		{"empty hostname", frame("hello", `"node_id":"`+testNodeID+`","hostname":"","version":"1.0.0","plugins":[],"revision":0,"config_hash":`+h), protocol.ErrMalformed, "hostname is empty"},
		{"empty version", frame("hello", `"node_id":"`+testNodeID+`","hostname":"dp","version":"","plugins":[],"revision":0,"config_hash":`+h), protocol.ErrMalformed, "version is empty"},
		{"negative revision", frame("hello", `"node_id":"`+testNodeID+`","hostname":"dp","version":"1.0.0","plugins":[],"revision":-1,"config_hash":`+h), protocol.ErrMalformed, "revision -1 is negative"},
		{"upper-case hash", frame("hello", helloOK[:len(helloOK)-len(h)]+`"`+strings.ToUpper(testHash)+`","plugins":[]`), protocol.ErrMalformed, "is not 32 lower-case hex characters"},
		{"short hash", frame("ping", `"revision":1,"config_hash":"abc"`), protocol.ErrMalformed, `config_hash "abc" is not 32 lower-case hex characters`},
		{"empty plugin name", frame("hello", helloOK+`,"plugins":[{"name":"","version":"1.0.0"}]`), protocol.ErrMalformed, "plugins[0].name is empty"},
		{"null plugin", frame("hello", helloOK+`,"plugins":[null]`), protocol.ErrMalformed, "plugins[0].name is empty"},
		{"duplicate plugin", frame("hello", helloOK+`,"plugins":[{"name":"acl"},{"name":"acl"}]`), protocol.ErrMalformed, `plugins[1]: plugin "acl" is listed twice`},
		{"long plugin version", frame("hello", helloOK+`,"plugins":[{"name":"acl","version":"`+strings.Repeat("1", 65)+`"}]`), protocol.ErrMalformed, "plugins[0].version is 65 bytes"},
		{"too many labels", frame("hello", helloOK+`,"plugins":[],"labels":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1","j":"1","k":"1"}`), protocol.ErrMalformed, "labels: 11 entries, at most 10"},
		{"long label key", frame("hello", helloOK+`,"plugins":[],"labels":{"`+strings.Repeat("k", 64)+`":"v"}`), protocol.ErrMalformed, "must have between 1 and 63 characters"},
		{"empty label value", frame("hello", helloOK+`,"plugins":[],"labels":{"region":""}`), protocol.ErrMalformed, `label value "" of "region"`},
		{"empty label key", frame("hello", helloOK+`,"plugins":[],"labels":{"":"v"}`), protocol.ErrMalformed, `label key ""`},

		// Snapshot values.
		{"entity without id", frame("snapshot", snapOK+`,"entities":{"services":[{"name":"a"}]}`), protocol.ErrMalformed, "entities.services[0]: entity has no id"},
		{"entity id a number", frame("snapshot", snapOK+`,"entities":{"services":[{"id":5}]}`), protocol.ErrMalformed, "entity id is a json.Number, not a string"},
		{"entity id empty", frame("snapshot", snapOK+`,"entities":{"services":[{"id":""}]}`), protocol.ErrMalformed, "entity id is empty"},
		{"null entity", frame("snapshot", snapOK+`,"entities":{"services":[null]}`), protocol.ErrMalformed, "entities.services[0]: entity is null"},
		{"duplicate entity id", frame("snapshot", snapOK+`,"entities":{"routes":[`+route("r")+`,`+route("r")+`]}`), protocol.ErrMalformed, `entities.routes[1]: id "r" is listed twice`},
		{"bad entity type", frame("snapshot", snapOK+`,"entities":{"Services":[]}`), protocol.ErrMalformed, `entity type "Services"`},
		{"negative timestamp", frame("snapshot", `"revision":1,"config_hash":`+h+`,"digest":`+h+`,"timestamp":-5,"entities":{}`), protocol.ErrMalformed, "timestamp -5 is negative"},
		{"bad digest", frame("snapshot", `"revision":1,"config_hash":`+h+`,"digest":"nope","timestamp":1,"entities":{}`), protocol.ErrMalformed, `digest "nope"`},
		{"too many trace entries", frame("snapshot", snapOK+`,"entities":{},"trace":{"a":"1","b":"1","c":"1","d":"1","e":"1","f":"1","g":"1","h":"1","i":"1"}`), protocol.ErrMalformed, "trace: 9 entries"},
		{"empty trace value", frame("snapshot", snapOK+`,"entities":{},"trace":{"traceparent":""}`), protocol.ErrMalformed, `trace["traceparent"] is empty`},

		// Delta values.
		{"from_revision equal to revision", frame("delta", `"from_revision":2,"revision":2,"config_hash":`+h+`,"digest":`+h+`,"timestamp":1,"changes":[]`), protocol.ErrMalformed, "from_revision 2 is not before revision 2"},
		{"from_revision negative", frame("delta", `"from_revision":-1,"revision":2,"config_hash":`+h+`,"digest":`+h+`,"timestamp":1,"changes":[]`), protocol.ErrMalformed, "from_revision -1 is negative"},
		{"unknown op", frame("delta", deltaOK+`,"changes":[{"op":"patch","type":"routes","id":"r","entity":`+route("r")+`}]`), protocol.ErrMalformed, `changes[0]: op "patch": want "upsert" or "delete"`},
		{"missing op", frame("delta", deltaOK+`,"changes":[{"type":"routes","id":"r","entity":`+route("r")+`}]`), protocol.ErrMalformed, `changes[0]: op ""`},
		{"upsert without entity", frame("delta", deltaOK+`,"changes":[{"op":"upsert","type":"routes","id":"r"}]`), protocol.ErrMalformed, "changes[0]: upsert: entity is null"},
		{"upsert entity not an object", frame("delta", deltaOK+`,"changes":[{"op":"upsert","type":"routes","id":"r","entity":[1]}]`), protocol.ErrMalformed, "changes: json: cannot unmarshal array"},
		{"upsert id mismatch", frame("delta", deltaOK+`,"changes":[{"op":"upsert","type":"routes","id":"r","entity":`+route("s")+`}]`), protocol.ErrMalformed, `entity id "s" differs from change id "r"`},
		{"upsert entity without id", frame("delta", deltaOK+`,"changes":[{"op":"upsert","type":"routes","id":"r","entity":{"paths":[]}}]`), protocol.ErrMalformed, "upsert: entity has no id"},
		{"delete with entity", frame("delta", deltaOK+`,"changes":[{"op":"delete","type":"routes","id":"r","entity":`+route("r")+`}]`), protocol.ErrMalformed, "delete carries an entity"},
		{"change without id", frame("delta", deltaOK+`,"changes":[{"op":"delete","type":"routes"}]`), protocol.ErrMalformed, "changes[0]: id is empty"},
		{"change without type", frame("delta", deltaOK+`,"changes":[{"op":"delete","id":"r"}]`), protocol.ErrMalformed, "changes[0]: type is empty"},
		{"entity changed twice", frame("delta", deltaOK+`,"changes":[{"op":"delete","type":"routes","id":"r"},{"op":"upsert","type":"routes","id":"r","entity":`+route("r")+`}]`), protocol.ErrMalformed, `changes[1]: routes "r" is changed twice`},

		// Other messages.
		{"nack empty error", frame("nack", `"revision":1,"error":""`), protocol.ErrMalformed, "error is empty"},
		{"nack long error", frame("nack", `"revision":1,"error":"`+strings.Repeat("e", protocol.MaxTextLen+1)+`"`), protocol.ErrMalformed, "error is 4097 bytes, at most 4096"},
		{"nack empty field message", frame("nack", `"revision":1,"error":"bad","fields":{"routes.paths":""}`), protocol.ErrMalformed, `fields["routes.paths"] is empty`},
		{"snapshot_request without reason", frame("snapshot_request", `"revision":1,"reason":""`), protocol.ErrMalformed, "reason is empty"},
		{"error code with spaces", frame("error", `"code":"bad code","message":"m"`), protocol.ErrMalformed, `code "bad code"`},
		{"error code too long", frame("error", `"code":"`+strings.Repeat("c", 65)+`","message":"m"`), protocol.ErrMalformed, "code is 65 bytes"},
		{"error without message", frame("error", `"code":"bad_message","message":""`), protocol.ErrMalformed, "message is empty"},
		{"pong negative revision", frame("pong", `"revision":-3,"config_hash":`+h), protocol.ErrMalformed, "revision -3 is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, err := protocol.Decode(tt.data, 0)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Decode = %#v, %v; want error %v", msg, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeAcceptsKongLabels(t *testing.T) {
	t.Parallel()
	// The labels of Kong's "DP sends labels" case: the control plane stores
	// what the data plane sends; the character rules are the data plane's.
	labels := map[string]string{"some_key": "some_value", "b": "aA090).zZ", "a-._123z": "Zz1.-_aA"}
	hello := &protocol.Hello{
		NodeID: testNodeID, Hostname: "dp", Version: "1.0.0-enterprise-version",
		Labels: labels, ConfigHash: protocol.EmptyHash,
	}
	frame, err := protocol.Encode(hello)
	if err != nil {
		t.Fatal(err)
	}
	got, err := protocol.Decode(frame, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.(*protocol.Hello).Labels, labels) {
		t.Errorf("labels = %v, want %v", got.(*protocol.Hello).Labels, labels)
	}
}

func TestDecodeAcceptsUnparsableVersion(t *testing.T) {
	t.Parallel()
	// CheckVersion reports it with Kong's message; the codec must let it in.
	hello := &protocol.Hello{NodeID: strings.ToUpper(testNodeID), Hostname: "dp", Version: "banana", ConfigHash: protocol.EmptyHash}
	frame, err := protocol.Encode(hello)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := protocol.Decode(frame, 0); err != nil {
		t.Errorf("Decode: %v", err)
	}
}

func TestNewNack(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", protocol.MaxTextLen) // 2 bytes a rune
	fields := map[string]string{"": "no path", "empty": ""}
	for i := range protocol.MaxNackFields + 5 {
		fields["routes."+string(rune('a'+i/26))+string(rune('a'+i%26))] = long
	}
	n := protocol.NewNack(7, long, fields)
	if len(n.Error) > protocol.MaxTextLen || !strings.HasSuffix(n.Error, "...") {
		t.Errorf("error is %d bytes ending %q; want at most %d ending ...", len(n.Error), n.Error[len(n.Error)-5:], protocol.MaxTextLen)
	}
	if !strings.HasPrefix(n.Error, "ééé") || strings.ContainsRune(n.Error, '\uFFFD') {
		t.Error("truncation split a rune")
	}
	if len(n.Fields) != protocol.MaxNackFields {
		t.Errorf("%d fields, want %d", len(n.Fields), protocol.MaxNackFields)
	}
	if _, ok := n.Fields["routes.aa"]; !ok {
		t.Error("the first field in path order was dropped")
	}
	if _, ok := n.Fields["routes.dz"]; ok {
		t.Error("a field beyond the limit in path order was kept")
	}
	frame, err := protocol.Encode(n)
	if err != nil {
		t.Fatalf("Encode(NewNack(...)): %v", err)
	}
	if got, err := protocol.Decode(frame, 0); err != nil || !reflect.DeepEqual(got, protocol.Message(n)) {
		t.Errorf("round trip = %v, %v", got, err)
	}
	if got := protocol.NewNack(1, "", nil); got.Error != "unknown error" || got.Fields != nil {
		t.Errorf("NewNack(1, \"\", nil) = %#v", got)
	}
}

func TestIsHashAndIsUUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s          string
		hash, uuid bool
	}{
		{testHash, true, false},
		{protocol.EmptyHash, true, false},
		{strings.ToUpper(testHash), false, false},
		{testHash[:31], false, false},
		{testHash + "0", false, false},
		{"0123456789abcdef0123456789abcdeg", false, false},
		{testNodeID, false, true},
		{strings.ToUpper(testNodeID), false, true},
		{strings.ReplaceAll(testNodeID, "-", ""), true, false},
		{testNodeID[:35] + "g", false, false},
		{"5a2b0a4c-3d1e-4f6a-9b8c_7d6e5f4a3b2c", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := protocol.IsHash(tt.s); got != tt.hash {
			t.Errorf("IsHash(%q) = %v, want %v", tt.s, got, tt.hash)
		}
		if got := protocol.IsUUID(tt.s); got != tt.uuid {
			t.Errorf("IsUUID(%q) = %v, want %v", tt.s, got, tt.uuid)
		}
	}
}

func TestDecodeMemberOrder(t *testing.T) {
	t.Parallel()
	// Encode writes "type" and "protocol" first and Decode reads such a frame
	// in one pass; a peer may write members in any order.
	const h = `"` + testHash + `"`
	frames := map[string]string{
		"type first":      `{"type":"ack","protocol":1,"revision":7,"config_hash":` + h + `,"digest":` + h + `}`,
		"type last":       `{"revision":7,"config_hash":` + h + `,"digest":` + h + `,"protocol":1,"type":"ack"}`,
		"type in between": `{"revision":7,"type":"ack","config_hash":` + h + `,"protocol":1,"digest":` + h + `}`,
		"with whitespace": " \n{ \"protocol\" : 1 ,\t\"type\":\"ack\", \"revision\":7,\"config_hash\":" + h + `,"digest":` + h + "}\r\n ",
	}
	want := &protocol.Ack{Revision: 7, ConfigHash: testHash, Digest: testHash}
	for name, f := range frames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			got, err := protocol.Decode([]byte(f), 0)
			if err != nil || !reflect.DeepEqual(got, protocol.Message(want)) {
				t.Errorf("Decode = %#v, %v; want %#v", got, err, want)
			}
		})
	}
}
