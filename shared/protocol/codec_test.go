package protocol_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"gatehouse.dev/shared/protocol"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	codecs := []struct {
		name  string
		codec protocol.Codec
	}{
		{"default", protocol.Codec{}},
		{"never compress", protocol.Codec{CompressThreshold: -1}},
		{"always compress", protocol.Codec{CompressThreshold: 1}},
	}
	for _, c := range codecs {
		for _, msg := range sampleMessages() {
			t.Run(c.name+"/"+string(msg.Type()), func(t *testing.T) {
				t.Parallel()
				frame, err := c.codec.Encode(msg)
				if err != nil {
					t.Fatalf("Encode: %v", err)
				}
				got, err := c.codec.Decode(frame)
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if !reflect.DeepEqual(got, msg) {
					t.Errorf("round trip changed the message\n got: %#v\nwant: %#v", got, msg)
				}
			})
		}
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	// Golden files hold the uncompressed encoding: gzip output may change
	// between Go releases, the JSON must not.
	codec := protocol.Codec{CompressThreshold: -1}
	samples := sampleMessages()
	if len(samples) != len(protocol.Types()) {
		t.Fatalf("sampleMessages has %d messages, want one of each of the %d types", len(samples), len(protocol.Types()))
	}
	for i, msg := range samples {
		if msg.Type() != protocol.Types()[i] {
			t.Fatalf("sample %d is a %s, want %s", i, msg.Type(), protocol.Types()[i])
		}
		t.Run(string(msg.Type()), func(t *testing.T) {
			t.Parallel()
			name := string(msg.Type()) + ".json"
			path := filepath.Join("testdata", name)
			got, err := codec.Encode(msg)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if *update {
				writeTestdata(t, name, append(got, '\n'))
			}
			want, err := fs.ReadFile(os.DirFS("testdata"), name)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			want = bytes.TrimSuffix(want, []byte("\n"))
			if !bytes.Equal(got, want) {
				t.Errorf("encoding differs from %s\n got: %s\nwant: %s", path, got, want)
			}
			// The golden bytes are what older and newer peers send: they must
			// keep decoding to the same message.
			decoded, err := codec.Decode(want)
			if err != nil {
				t.Fatalf("Decode(%s): %v", path, err)
			}
			if !reflect.DeepEqual(decoded, msg) {
				t.Errorf("Decode(%s) = %#v, want %#v", path, decoded, msg)
			}
		})
	}
}

func TestEncodeWritesTypeAndProtocolFirst(t *testing.T) {
	t.Parallel()
	frame, err := protocol.Codec{CompressThreshold: -1}.Encode(&protocol.Ping{Revision: 3, ConfigHash: testHash})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"type":"ping","protocol":1,"revision":3,"config_hash":"` + testHash + `"}`
	if string(frame) != want {
		t.Errorf("Encode = %s, want %s", frame, want)
	}
}

func TestEncodeNilCollectionsAsEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  protocol.Message
		want string
	}{
		{"hello plugins", &protocol.Hello{NodeID: testNodeID, Hostname: "h", Version: "1.0.0", ConfigHash: protocol.EmptyHash}, `"plugins":[]`},
		{"snapshot entities", &protocol.Snapshot{ConfigHash: protocol.EmptyHash, Digest: protocol.EmptyHash}, `"entities":{}`},
		{"delta changes", &protocol.Delta{Revision: 1, ConfigHash: testHash, Digest: testHash}, `"changes":[]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frame, err := protocol.Codec{CompressThreshold: -1}.Encode(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(frame, []byte(tt.want)) {
				t.Errorf("Encode = %s, want it to contain %s", frame, tt.want)
			}
			got, err := protocol.Decode(frame, 0)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("round trip: got %#v, want %#v", got, tt.msg)
			}
		})
	}
}

func TestDecodeEmptyCollectionsAreNil(t *testing.T) {
	t.Parallel()
	frame := `{"type":"snapshot","protocol":1,"revision":0,"config_hash":"` + protocol.EmptyHash +
		`","digest":"` + protocol.EmptyHash + `","entities":{},"trace":{},"timestamp":5}`
	msg, err := protocol.Decode([]byte(frame), 0)
	if err != nil {
		t.Fatal(err)
	}
	s := msg.(*protocol.Snapshot)
	if s.Entities != nil || s.Trace != nil {
		t.Errorf("entities = %#v, trace = %#v; want both nil", s.Entities, s.Trace)
	}
}

func TestCompressionChosenBySize(t *testing.T) {
	t.Parallel()
	ack := &protocol.Ack{Revision: 1, ConfigHash: testHash, Digest: testDigest}
	raw, err := protocol.Codec{CompressThreshold: -1}.Encode(ack)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		threshold  int
		msg        protocol.Message
		compressed bool
	}{
		{"small message, default threshold", 0, ack, false},
		{"large snapshot, default threshold", 0, &protocol.Snapshot{
			Revision: 1, ConfigHash: testHash, Digest: testDigest, Entities: generateEntities(100),
		}, true},
		{"JSON exactly at the threshold", len(raw), ack, false},
		{"JSON one byte over the threshold", len(raw) - 1, ack, true},
		{"negative threshold", -1, &protocol.Snapshot{
			Revision: 1, ConfigHash: testHash, Digest: testDigest, Entities: generateEntities(100),
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			codec := protocol.Codec{CompressThreshold: tt.threshold}
			frame, err := codec.Encode(tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if got := isGzip(frame); got != tt.compressed {
				t.Errorf("compressed = %v, want %v (frame of %d bytes)", got, tt.compressed, len(frame))
			}
			if got, err := codec.Decode(frame); err != nil || !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("Decode = %v, %v; want the message back", got, err)
			}
		})
	}
}

func TestEncodeSnapshot(t *testing.T) {
	t.Parallel()
	small := &protocol.Snapshot{ConfigHash: protocol.EmptyHash, Digest: protocol.EmptyHash}
	tests := []struct {
		name       string
		codec      protocol.Codec
		compressed bool
	}{
		{"compresses below the threshold", protocol.Codec{}, true},
		{"negative threshold keeps it raw", protocol.Codec{CompressThreshold: -1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frame, err := tt.codec.EncodeSnapshot(small)
			if err != nil {
				t.Fatal(err)
			}
			if got := isGzip(frame); got != tt.compressed {
				t.Errorf("compressed = %v, want %v", got, tt.compressed)
			}
			got, err := tt.codec.Decode(frame)
			if err != nil || !reflect.DeepEqual(got, protocol.Message(small)) {
				t.Errorf("Decode = %#v, %v; want %#v", got, err, small)
			}
		})
	}
}

func TestEncodeSnapshotFrameIsReusable(t *testing.T) {
	t.Parallel()
	s := sampleMessages()[1].(*protocol.Snapshot)
	frame, err := protocol.Codec{}.EncodeSnapshot(s)
	if err != nil {
		t.Fatal(err)
	}
	kept := bytes.Clone(frame)
	for range 3 {
		if _, err := protocol.Decode(frame, 0); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(frame, kept) {
		t.Error("decoding modified the shared frame")
	}
}

func TestEncodeErrors(t *testing.T) {
	t.Parallel()
	big := &protocol.Snapshot{Revision: 1, ConfigHash: testHash, Digest: testDigest, Entities: generateEntities(200)}
	tests := []struct {
		name    string
		codec   protocol.Codec
		msg     protocol.Message
		wantErr error
		wantMsg string
	}{
		{"nil interface", protocol.Codec{}, nil, protocol.ErrMalformed, "nil message"},
		{"nil pointer", protocol.Codec{}, (*protocol.Ack)(nil), protocol.ErrMalformed, "nil message"},
		{
			"invalid message",
			protocol.Codec{},
			&protocol.Ack{Revision: -1, ConfigHash: testHash, Digest: testHash},
			protocol.ErrMalformed, "encode ack: malformed message: revision -1 is negative",
		},
		{
			"unencodable entity value",
			protocol.Codec{},
			&protocol.Snapshot{
				ConfigHash: testHash, Digest: testHash,
				Entities: protocol.Entities{"services": {{"id": "a", "port": json.Number("eighty")}}},
			},
			protocol.ErrMalformed, "encode snapshot: malformed message",
		},
		{
			"JSON over the decoded limit",
			protocol.Codec{MaxSize: 1 << 20, MaxDecodedSize: 1000},
			big,
			protocol.ErrTooLarge, "encode snapshot: message too large: JSON is",
		},
		{
			"frame over the limit",
			protocol.Codec{MaxSize: 1000, MaxDecodedSize: 1 << 20},
			big,
			protocol.ErrTooLarge, "encode snapshot: message too large: frame is",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			frame, err := tt.codec.Encode(tt.msg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Encode = %q, %v; want error %v", frame, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
		})
	}
}

func TestDecodeSizeLimits(t *testing.T) {
	t.Parallel()
	snapshot := &protocol.Snapshot{Revision: 1, ConfigHash: testHash, Digest: testDigest, Entities: generateEntities(100)}
	raw, err := protocol.Codec{CompressThreshold: -1}.Encode(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := protocol.Codec{CompressThreshold: 1}.Encode(snapshot)
	if err != nil {
		t.Fatal(err)
	}
	jsonSize, zipSize := int64(len(raw)), int64(len(zipped))
	tests := []struct {
		name    string
		frame   []byte
		codec   protocol.Codec
		wantErr error
		wantMsg string
	}{
		{"raw at the limit", raw, protocol.Codec{MaxSize: jsonSize}, nil, ""},
		{"raw over the limit", raw, protocol.Codec{MaxSize: jsonSize - 1}, protocol.ErrTooLarge, "frame is"},
		{"raw over the decoded limit", raw, protocol.Codec{MaxSize: jsonSize, MaxDecodedSize: jsonSize - 1}, protocol.ErrTooLarge, "JSON is"},
		{"gzip at both limits", zipped, protocol.Codec{MaxSize: zipSize, MaxDecodedSize: jsonSize}, nil, ""},
		{"gzip frame over the limit", zipped, protocol.Codec{MaxSize: zipSize - 1, MaxDecodedSize: jsonSize}, protocol.ErrTooLarge, "frame is"},
		{"gzip decompressed over the limit", zipped, protocol.Codec{MaxSize: zipSize, MaxDecodedSize: jsonSize - 1}, protocol.ErrTooLarge, "decompressed JSON exceeds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			msg, err := tt.codec.Decode(tt.frame)
			if tt.wantErr == nil {
				if err != nil || !reflect.DeepEqual(msg, protocol.Message(snapshot)) {
					t.Fatalf("Decode = %v, %v; want the snapshot", msg, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Fatalf("Decode error = %v; want %v containing %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}
	// Decode's single limit applies to the frame and to the decompressed JSON.
	if _, err := protocol.Decode(zipped, jsonSize-1); !errors.Is(err, protocol.ErrTooLarge) {
		t.Errorf("Decode(gzip, limit below the JSON size) = %v, want ErrTooLarge", err)
	}
	if _, err := protocol.Decode(zipped, jsonSize); err != nil {
		t.Errorf("Decode(gzip, limit = JSON size) = %v, want success", err)
	}
}

// TestDecodeRejectsGzipBomb is not parallel: it measures allocation while
// nothing else runs.
func TestDecodeRejectsGzipBomb(t *testing.T) {
	// 256 MiB of spaces after a valid start, in about 256 KiB: gzip
	// members concatenate, so one compressed MiB of spaces is repeated.
	spaces := gzipBytes(t, bytes.Repeat([]byte(" "), 1<<20))
	bomb := gzipBytes(t, []byte(`{"type":"ping","protocol":1,"revision":1,"config_hash":"`+testHash+`"`))
	for range 256 {
		bomb = append(bomb, spaces...)
	}
	bomb = append(bomb, gzipBytes(t, []byte("}"))...)
	const limit = 1 << 20

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := protocol.Decode(bomb, limit)
	runtime.ReadMemStats(&after)

	if !errors.Is(err, protocol.ErrTooLarge) {
		t.Fatalf("Decode(bomb of %d bytes) = %v, want ErrTooLarge", len(bomb), err)
	}
	// The decoder must stop at the limit instead of inflating 256 MiB.
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 16*limit {
		t.Errorf("Decode allocated %d bytes for a %d-byte limit", allocated, limit)
	}
}

// writeTestdata writes a file under testdata/, which it cannot leave.
func writeTestdata(t *testing.T, name string, data []byte) {
	t.Helper()
	root, err := os.OpenRoot("testdata")
	if err != nil {
		t.Fatal(err)
	}
	if err := root.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := root.Close(); err != nil {
		t.Fatal(err)
	}
}

func isGzip(frame []byte) bool {
	return len(frame) >= 2 && frame[0] == 0x1f && frame[1] == 0x8b
}

func gzipBytes(t *testing.T, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
