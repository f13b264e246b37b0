package protocol_test

import (
	"errors"
	"io/fs"
	"os"
	"reflect"
	"testing"

	"gatehouse.dev/shared/protocol"
)

// FuzzDecode checks that Decode never panics, that gzip framing changes
// nothing, and that anything it accepts encodes and decodes back to an equal
// message.
func FuzzDecode(f *testing.F) {
	testdata := os.DirFS("testdata")
	goldens, err := fs.Glob(testdata, "*.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range goldens {
		data, err := fs.ReadFile(testdata, name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, msg := range sampleMessages() {
		zipped, err := protocol.Codec{CompressThreshold: 1}.Encode(msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(zipped)
	}
	f.Add([]byte(`{"type":"ack","protocol":2}`))
	f.Add([]byte(`{"type":"delta","protocol":1,"from_revision":1,"revision":2,"config_hash":"00000000000000000000000000000000","digest":"00000000000000000000000000000000","changes":[{"op":"upsert","type":"routes","id":"r","entity":{"id":"r","n":1e400}}],"timestamp":0}`))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0xff})

	const limit = 1 << 20
	decoder := protocol.Codec{MaxSize: limit}
	// Re-encoding may grow the JSON (escaping, U+FFFD for invalid UTF-8), so
	// the second leg allows more.
	roundTrip := protocol.Codec{MaxSize: 64 * limit}

	f.Fuzz(func(t *testing.T, data []byte) {
		msg, err := decoder.Decode(data)
		if len(data) > 0 && len(data) < limit/2 && data[0] != 0x1f {
			zmsg, zerr := decoder.Decode(gzipBytes(t, data))
			if (err == nil) != (zerr == nil) || !reflect.DeepEqual(zmsg, msg) {
				t.Fatalf("gzip framing changed the result: %v, %v; uncompressed: %v, %v", zmsg, zerr, msg, err)
			}
		}
		if err != nil {
			if !errors.Is(err, protocol.ErrMalformed) && !errors.Is(err, protocol.ErrTooLarge) &&
				!errors.Is(err, protocol.ErrUnsupportedProtocol) {
				t.Fatalf("Decode error %v matches no sentinel", err)
			}
			if msg != nil {
				t.Fatalf("Decode returned %#v with error %v", msg, err)
			}
			return
		}
		frame, err := roundTrip.Encode(msg)
		if err != nil {
			t.Fatalf("Encode(%#v) of a decoded message: %v", msg, err)
		}
		again, err := roundTrip.Decode(frame)
		if err != nil {
			t.Fatalf("Decode(Encode(msg)): %v\nframe: %q", err, frame)
		}
		if !reflect.DeepEqual(again, msg) {
			t.Fatalf("round trip changed the message\nfirst:  %#v\nsecond: %#v", msg, again)
		}
	})
}
