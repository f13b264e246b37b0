// Package confighash computes the configuration hash that the control plane
// reports for a configuration and that data planes check after applying a
// snapshot or a delta (DESIGN.md, "Config hash").
//
// A configuration is a set of entities grouped by entity type ("services",
// "routes", "plugins", "consumers", ...). An entity is a map[string]any record
// of JSON values, and within a type each entity has a unique string "id".
// The hash is an order-independent sum of per-entity digests kept per entity
// type, so [Index] keeps it current in time proportional to a change.
//
// Everything below is part of the cluster contract: the control plane and
// data planes of different Gatehouse versions must compute the same hash for
// the same configuration. Any change to it is a protocol change and must be
// made deliberately, together with testdata/golden.json.
//
// # Canonical encoding (version 1)
//
// [Canonical] encodes a value as JSON text without insignificant whitespace:
//
//   - nil, a nil map[string]any and a nil []any encode as null; true and
//     false as themselves.
//   - A string must be valid UTF-8 ([ErrInvalidUTF8] otherwise). It is
//     written between double quotes with these escapes and no others:
//     '"' as \", '\' as \\, U+0008 as \b, U+0009 as \t, U+000A as \n,
//     U+000C as \f, U+000D as \r, and the other code points below U+0020 as
//     \u00xx with lower-case hex digits. Every other code point, including
//     '/', '<', '>', '&', U+007F, U+2028 and U+2029, is written as its raw
//     UTF-8 bytes (no HTML escaping).
//   - A map[string]any encodes as an object. Members whose value encodes as
//     null are omitted, recursively; this lets an older data plane that does
//     not know a new nullable field compute the same digest while the field
//     is null. The remaining members are sorted by key in ascending byte
//     order (for valid UTF-8 this is code point order; it is not the UTF-16
//     order of RFC 8785). An object whose members are all omitted is {}.
//   - A []any encodes as an array in its own order; null elements are kept.
//   - Numbers are described below.
//   - Any other Go type is an error ([ErrUnsupportedType]), float32
//     included (encoding/json writes float32(0.1) as 0.1, which reads back
//     as a different float64), as is nesting deeper than 10000 maps and
//     arrays ([ErrTooDeep]; this also stops a map that contains itself).
//
// Numbers encode the same way whatever Go type holds the same value:
//
//   - int, int8, int16, int32, int64, uint, uint8, uint16, uint32 and uint64
//     encode as decimal integers: an optional '-', then digits with no
//     leading zeros.
//   - A float64 that is NaN or infinite is an error ([ErrNonFinite]). Any
//     other float64 encodes exactly as encoding/json writes it: the shortest
//     decimal that parses back to it, in plain form for magnitudes in
//     [1e-6, 1e21) and in exponent form otherwise (5 → 5, 0.5 → 0.5,
//     1700000000.123 → 1700000000.123, 1e20 → 100000000000000000000,
//     1e21 → 1e+21, 1e-7 → 1e-07 → 1e-7 after encoding/json's exponent
//     clean-up), and -0 as 0.
//   - A json.Number must match the JSON number grammar ([ErrInvalidNumber]
//     otherwise). An integer literal (no fraction, no exponent) encodes as
//     itself, whatever its size, except that -0 encodes as 0. Any other
//     literal is parsed with strconv.ParseFloat(s, 64) and encodes as that
//     float64 does (so "5.0" and "5e0" encode as 5; "1e400" is
//     [ErrNonFinite]).
//
// Because floats are written the way encoding/json writes them, a value
// encoded by one side and read back by the other with UseNumber hashes the
// same whatever its magnitude: the integer literal that encoding/json
// writes for 1e20 is encoded verbatim, and equals the float's encoding.
// Every Gatehouse decoder of entities uses UseNumber; a decoder that makes
// float64s loses integers beyond 2^53 and with them the hash.
//
// # Entity digest
//
// [EntityDigest] is the first 16 bytes of SHA-256 over the entity type's
// bytes, one 0x00 byte, and the canonical encoding of the entity. The type
// must be non-empty and must not contain 0x00 ([ErrInvalidType]). The id is
// part of the entity, so equal contents under different ids differ.
//
// # Set hash
//
// [State] keeps, per entity type, the number of entities (mod 2^64) and the
// sum of their digests, each read as a 128-bit big-endian unsigned integer,
// mod 2^128. A type whose count and sum are both zero is absent. The hash is
// 32 lower-case hex characters:
//
//   - "00000000000000000000000000000000" ([Empty]) when no type is present;
//   - otherwise the first 16 bytes of SHA-256 over, for each present type in
//     ascending byte order of its name: the name's length as an unsigned
//     LEB128 varint (encoding/binary.AppendUvarint), the name's bytes, the
//     count as 8 bytes big-endian, and the sum as 16 bytes big-endian.
//
// [State.TypeHash] is the same computation over one type's record alone, so
// for a configuration holding a single type it equals the hash.
//
// The hash detects accidental divergence between a control plane and a data
// plane. It is not collision resistant against someone who chooses entity
// contents on purpose (sums of digests yield to generalised birthday
// attacks), so it must never be used to authenticate a configuration.
package confighash
