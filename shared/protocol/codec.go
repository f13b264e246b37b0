package protocol

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"sync"
)

// Codec defaults.
const (
	// DefaultMaxSize is the default limit on a frame and on its decompressed
	// JSON: 16 MiB, Kong's default cluster_max_payload.
	DefaultMaxSize int64 = 16 << 20

	// DefaultCompressThreshold is the JSON size above which frames are
	// gzip-compressed by default.
	DefaultCompressThreshold = 4 << 10
)

// gzipMagic starts every gzip stream (RFC 1952); a JSON object never starts
// with it.
var gzipMagic = []byte{0x1f, 0x8b}

// maxDeflateRatio bounds what a deflate stream of n bytes can expand to
// (about 1032:1); it caps the buffer pre-sized from a gzip trailer.
const maxDeflateRatio = 1032

// Codec encodes and decodes frames. The zero value uses the defaults. A Codec
// is a value with no state, safe for concurrent use.
type Codec struct {
	// MaxSize limits a frame's size in bytes; 0 means DefaultMaxSize.
	MaxSize int64

	// MaxDecodedSize limits the size of a frame's JSON after decompression;
	// 0 means the same as MaxSize.
	MaxDecodedSize int64

	// CompressThreshold is the JSON size in bytes above which Encode
	// compresses; 0 means DefaultCompressThreshold and a negative value
	// never compresses.
	CompressThreshold int
}

// Encode encodes msg with the default codec.
func Encode(msg Message) ([]byte, error) {
	return Codec{}.Encode(msg)
}

// Decode decodes a frame with the default codec and limit (≤ 0 meaning
// DefaultMaxSize) applied to the frame and to its decompressed JSON.
func Decode(data []byte, limit int64) (Message, error) {
	return Codec{MaxSize: limit}.Decode(data)
}

func (c Codec) maxSize() int64 {
	if c.MaxSize > 0 {
		return c.MaxSize
	}
	return DefaultMaxSize
}

func (c Codec) maxDecodedSize() int64 {
	if c.MaxDecodedSize > 0 {
		return c.MaxDecodedSize
	}
	return c.maxSize()
}

func (c Codec) threshold() int {
	if c.CompressThreshold == 0 {
		return DefaultCompressThreshold
	}
	return c.CompressThreshold
}

// Encode validates msg and returns its frame: the JSON object with "type" and
// "protocol" first, gzip-compressed when the JSON is larger than the
// threshold. It returns an error wrapping ErrMalformed for an invalid
// message and ErrTooLarge when the frame or the JSON exceeds the codec's
// limits. The returned bytes are never modified by this package: the same
// frame may be written to any number of connections.
func (c Codec) Encode(msg Message) ([]byte, error) {
	return c.encode(msg, false)
}

// EncodeSnapshot encodes s like Encode, for a frame built once per revision
// and written to many data planes (sync-hub caches it per revision and
// compatibility level). It compresses regardless of the threshold unless
// the threshold is negative, since a snapshot is almost always large and the
// cost is paid once.
func (c Codec) EncodeSnapshot(s *Snapshot) ([]byte, error) {
	return c.encode(s, c.threshold() >= 0)
}

func (c Codec) encode(msg Message, forceCompress bool) ([]byte, error) {
	if msg == nil || reflect.ValueOf(msg).IsNil() {
		return nil, fmt.Errorf("encode: %w: nil message", ErrMalformed)
	}
	t := msg.Type()
	if err := msg.validate(); err != nil {
		return nil, fmt.Errorf("encode %s: %w: %w", t, ErrMalformed, err)
	}
	body, err := json.Marshal(msg.wire())
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w: %w", t, ErrMalformed, err)
	}
	// Put "type" and "protocol" first, so Decode reads the frame in one pass
	// (and a person sees them at once): {"type":"t","protocol":1 then a comma
	// and the struct's members.
	head := make([]byte, 0, 48)
	head = append(head, `{"type":`...)
	head = strconv.AppendQuote(head, string(t))
	head = append(head, `,"protocol":`...)
	head = strconv.AppendInt(head, ProtocolVersion, 10)
	rest := body[1:] // drop the struct's opening brace
	if len(rest) > 1 {
		head = append(head, ',')
	}
	size := len(head) + len(rest)
	if int64(size) > c.maxDecodedSize() {
		return nil, fmt.Errorf("encode %s: %w: JSON is %d bytes, limit %d", t, ErrTooLarge, size, c.maxDecodedSize())
	}
	var frame []byte
	if forceCompress || (c.threshold() >= 0 && size > c.threshold()) {
		frame, err = compress(head, rest)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", t, err)
		}
	} else {
		frame = slices.Concat(head, rest)
	}
	if int64(len(frame)) > c.maxSize() {
		return nil, fmt.Errorf("encode %s: %w: frame is %d bytes, limit %d", t, ErrTooLarge, len(frame), c.maxSize())
	}
	return frame, nil
}

// Decode decodes and validates one frame. It returns an error wrapping
// ErrTooLarge when the frame or its decompressed JSON exceeds the codec's
// limits (reading at most the limit), ErrUnsupportedProtocol when the message
// is from a newer protocol, ErrUnknownType (which also matches ErrMalformed)
// for an unknown "type", and ErrMalformed for anything else that is wrong.
// Unknown members are ignored. Decode never panics.
func (c Codec) Decode(data []byte) (Message, error) {
	if n := int64(len(data)); n > c.maxSize() {
		return nil, fmt.Errorf("decode: %w: frame is %d bytes, limit %d", ErrTooLarge, n, c.maxSize())
	}
	if bytes.HasPrefix(data, gzipMagic) {
		var err error
		if data, err = c.decompress(data); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
	} else if n := int64(len(data)); n > c.maxDecodedSize() {
		return nil, fmt.Errorf("decode: %w: JSON is %d bytes, limit %d", ErrTooLarge, n, c.maxDecodedSize())
	}
	return decodeJSON(data)
}

var (
	gzipWriters sync.Pool // *gzip.Writer
	gzipReaders sync.Pool // *gzip.Reader
)

// compress returns the gzip compression of head followed by rest.
func compress(head, rest []byte) ([]byte, error) {
	var buf bytes.Buffer
	// JSON configuration compresses about tenfold; avoid regrowing for most.
	buf.Grow((len(head)+len(rest))/8 + 64)
	zw, _ := gzipWriters.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(&buf)
	} else {
		zw.Reset(&buf)
	}
	defer gzipWriters.Put(zw)
	if _, err := zw.Write(head); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if _, err := zw.Write(rest); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return buf.Bytes(), nil
}

// decompress inflates a gzip frame, reading at most the decoded-size limit
// plus one byte, so a compression bomb costs no more than the limit.
func (c Codec) decompress(data []byte) ([]byte, error) {
	limit := c.maxDecodedSize()
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(data))
	} else {
		err = zr.Reset(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	defer gzipReaders.Put(zr)

	// The trailer holds the uncompressed size mod 2^32: a hint for the
	// buffer, bounded by the limit and by what deflate can expand to.
	var hint int64
	if len(data) >= 4 {
		hint = int64(binary.LittleEndian.Uint32(data[len(data)-4:]))
	}
	hint = min(hint, limit, int64(len(data))*maxDeflateRatio)
	var buf bytes.Buffer
	buf.Grow(int(hint) + bytes.MinRead)
	n, err := buf.ReadFrom(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrMalformed, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: decompressed JSON exceeds the limit of %d bytes", ErrTooLarge, limit)
	}
	return buf.Bytes(), nil
}
