// Package declarative reads and writes Kong's declarative configuration
// (kong/db/schema/others/declarative_config.lua, kong/db/declarative): the
// file format of decK, of a data plane's GATEHOUSE_DECLARATIVE_CONFIG and
// of POST /config, and the flattened set of entities sync-hub and the data
// planes carry.
//
// # Reading
//
// Parse accepts JSON or YAML (JSON is tried first). The document needs
// _format_version "3.0"; "1.1" and "2.1" are migrated as Kong does (the
// paths of top-level routes and of routes nested in top-level services:
// plain ones normalized, the others marked as regexes with "~"). It may
// set _transform (default true: DAO transformations such as basic-auth
// password hashing apply; false: values are stored ones and are kept), and
// _comment (a string) and _ignore (an array) at the top and in every
// record, which are dropped. Every other top-level key must be an entity
// type's table name holding an array of records; anything else is an
// "unknown field".
//
// A record may nest the entities that reference it, in an array named
// after their table, to any depth: services[].routes[].plugins[],
// consumers[].keyauth_credentials[], upstreams[].targets[],
// certificates[].snis[] (SNI records {name, ...}, not the Admin API's
// list of names), consumer_groups[].plugins[], and so on. The nested
// entity's foreign key is set from its parent (a value given there is
// ignored). Elsewhere a foreign key may be the referenced entity's
// endpoint key or id as a string ("service: my-svc"), {id: ...}, or an
// object holding its endpoint key or another unique field
// ({name: my-svc}); it must name an entity the file declares.
//
// Consumer groups are written as decK writes them: consumer_groups[] may
// hold "consumers", a list of references to consumers (a username or id
// as a string, or {username}, {id} or {custom_id}), and consumers[] may
// hold "groups", a list of references to groups (a name or id, {name} or
// {id}). Each reference declares a consumer_group_consumers membership
// between the group and the consumer; a membership declared from both
// sides counts once. Memberships may also be declared as records, at the
// top level ({consumer_group, consumer}) or nested under either side.
// A membership without an id gets entity.MembershipID of the pair, the id
// the Admin API gives it too, rather than Kong's generic derived id.
//
// Entities without an id get Kong's deterministic one (GenerateID): in
// the namespace of their table, the UUIDv5 of their cache key
// ("<table>:*:<cache key fields>", with the parent's id for the field that
// points at a nested entity's parent, and values as written, so a plugin
// referencing its service by name and one nested in that service get
// different ids, as in Kong), or for types without a cache key of their
// endpoint key. Kong's exceptions are kept: a cache key with an
// auto-generated field (keyauth_credentials' key) or a missing required
// field, a type with neither key (certificates, ca_certificates), and the
// children of an entity whose id is random, all get random ids. One
// deliberate difference: SNIs nested in a certificate get the same
// name-derived id as top-level ones (Kong gives them random ids).
//
// Each entity is then written with its type's WriteWith (Insert context,
// Options.Now): defaults are filled, timestamps stamped, and the entity is
// validated.
//
// # Errors
//
// Every failure is a *schema.Error with code 14 and a message
// "declarative config is invalid: <fields>" rendered as Kong renders Lua
// tables. The checks run in Kong's order and the first phase that fails
// is reported:
//
//  1. The document: a file that cannot be read gives {"error": "failed
//     parsing declarative configuration: ..."} (also non-objects, too
//     large inputs and too many entities, with their own messages); the
//     document's keys and every entity's schema give a tree shaped like
//     the input, arrays positioned by index with null holes:
//     {"services":[{"routes":[null,{"@entity":[...]}]}]}.
//  2. Keys and references: an endpoint key or primary key declared twice
//     puts "uniqueness violation: 'services' entity with name set to 'x'
//     already declared" (or "primary key set to '<id>'") at the entity's
//     place; a reference to an entity the file does not declare puts a
//     list ["invalid reference 'service: foo' (no such entry in
//     'services')"] there. Kong keys reference errors by the entity's
//     name; they are positioned like every other error here.
//  3. Other unique fields (consumers' custom_id...) and cache keys (a
//     plugin's name and scope, a target's upstream and address) declared
//     twice.
//
// With Options.FlattenErrors the error also carries Kong's
// flattened_errors list (POST /config?flatten_errors=1): one entry per
// entity with errors, {entity_type, entity_id, entity_name, entity_tags,
// entity, errors: [{type: "entity"|"field", field, message}]}, in Kong's
// order; fields and the message then keep only what belongs to no entity.
//
// # Writing
//
// A Config holds the entities by type, ordered by primary key. Marshal
// writes Kong's export shape (_format_version "3.0", _transform false, one
// flat array per type, foreign keys as id strings, null fields kept), in
// JSON or YAML; Parse reads it back into the same entities.
package declarative
