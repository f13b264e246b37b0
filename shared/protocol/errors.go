package protocol

import (
	"errors"
	"fmt"
)

// Errors returned by [Codec.Encode] and [Codec.Decode], wrapped with details.
// Match them with [errors.Is].
var (
	// ErrTooLarge reports a frame, or its decompressed JSON, larger than the
	// codec's limit.
	ErrTooLarge = errors.New("message too large")

	// ErrUnsupportedProtocol reports a message whose protocol version is
	// higher than [ProtocolVersion]: the peer is newer than this side.
	ErrUnsupportedProtocol = errors.New("unsupported protocol version")

	// ErrMalformed reports a frame that is not a valid message: bad gzip, bad
	// JSON, trailing data, a missing or mistyped member, or a value that fails
	// validation. Encoding an invalid message returns it too.
	ErrMalformed = errors.New("malformed message")

	// ErrUnknownType reports a message whose "type" this side does not know.
	// An error that matches it also matches [ErrMalformed].
	ErrUnknownType = errors.New("unknown message type")
)

// malformed returns an error wrapping ErrMalformed with a formatted detail.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
