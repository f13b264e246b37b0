package protocol_test

import (
	"fmt"
	"testing"

	"gatehouse.dev/shared/protocol"
)

func benchSnapshot(n int) *protocol.Snapshot {
	return &protocol.Snapshot{
		Revision: 1000, ConfigHash: testHash, Digest: testDigest,
		Entities: generateEntities(n), Trace: testTrace, Timestamp: 1700000000000,
	}
}

// largeCodec lifts the limits so that the 30k-entity configuration fits.
var largeCodec = protocol.Codec{MaxSize: 256 << 20}

func BenchmarkEncodeSnapshot(b *testing.B) {
	for _, n := range []int{10_000, 30_000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			s := benchSnapshot(n)
			raw, err := protocol.Codec{MaxSize: 256 << 20, CompressThreshold: -1}.Encode(s)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var frame []byte
			for b.Loop() {
				frame, err = largeCodec.EncodeSnapshot(s)
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(frame)), "frame-bytes")
			b.ReportMetric(float64(len(raw)), "json-bytes")
		})
	}
}

func BenchmarkDecodeSnapshot(b *testing.B) {
	for _, n := range []int{10_000, 30_000} {
		b.Run(fmt.Sprintf("entities=%d", n), func(b *testing.B) {
			s := benchSnapshot(n)
			frame, err := largeCodec.EncodeSnapshot(s)
			if err != nil {
				b.Fatal(err)
			}
			raw, err := protocol.Codec{MaxSize: 256 << 20, CompressThreshold: -1}.Encode(s)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(raw))) // MB/s of JSON
			b.ReportMetric(float64(len(frame)), "frame-bytes")
			for b.Loop() {
				if _, err := largeCodec.Decode(frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchDelta() *protocol.Delta {
	return &protocol.Delta{
		FromRevision: 1000, Revision: 1001, ConfigHash: testHash, Digest: testDigest,
		Changes:   []protocol.Change{{Op: protocol.OpUpsert, Type: "routes", ID: routeID, Entity: testRoute()}},
		Trace:     testTrace,
		Timestamp: 1700000000000,
	}
}

// BenchmarkEncodeDelta encodes a one-entity delta; the goal is a frame under
// 2 KB.
func BenchmarkEncodeDelta(b *testing.B) {
	d := benchDelta()
	b.ReportAllocs()
	var frame []byte
	var err error
	for b.Loop() {
		frame, err = protocol.Encode(d)
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(frame)), "frame-bytes")
}

func BenchmarkDecodeDelta(b *testing.B) {
	frame, err := protocol.Encode(benchDelta())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := protocol.Decode(frame, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func TestOneEntityDeltaIsSmall(t *testing.T) {
	t.Parallel()
	frame, err := protocol.Encode(benchDelta())
	if err != nil {
		t.Fatal(err)
	}
	if len(frame) >= 2000 {
		t.Errorf("a one-entity delta encodes to %d bytes, want under 2000", len(frame))
	}
}
