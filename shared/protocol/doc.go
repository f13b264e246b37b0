// Package protocol is the wire contract between sync-hub (the control plane's
// websocket server) and data planes: the messages, their codec and the
// control-plane/data-plane compatibility rules. It uses only the standard
// library; the websocket transport lives with its callers.
//
// # Messages
//
// Every message is one JSON object with a "type" discriminator and a
// "protocol" version. A data plane opens with [Hello]; the control plane
// answers with a [Snapshot] or a [Delta] that takes the data plane to its
// newest revision, an [ErrorMessage] when it withholds configuration or is
// about to close, and a [Pong] for every [Ping]. The data plane answers each
// configuration with an [Ack] or a [Nack], and sends a [SnapshotRequest] when a
// delta leaves it with a digest that does not match.
//
// Entities are JSON objects (map[string]any). Decoded numbers inside entities
// are [encoding/json.Number] values, so large integers survive unchanged.
// Decoded optional and empty collections are nil.
//
// # Frames
//
// A frame is the JSON object, or its gzip compression when the JSON is larger
// than the codec's threshold (4 KiB by default). [Codec.Decode] recognises gzip
// by its magic bytes and applies its size limit to the frame and to the
// decompressed JSON, so a compression bomb is refused after reading at most the
// limit. Decoding validates every message (see each type's documentation) and
// never panics.
//
// # Compatibility
//
// [CheckVersion], [PluginWarnings] and [CheckConfiguredPlugins] implement
// Kong's hybrid-mode rules with Kong's exact messages: major versions must be
// equal, a data plane whose minor version is newer than the control plane's is
// refused, and patch versions are ignored; the same rule applies to each
// configured plugin.
package protocol
