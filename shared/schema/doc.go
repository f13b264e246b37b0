// Package schema is Gatehouse's version of Kong's schema library
// (kong/db/schema): declarative descriptions of entities and plugin
// configurations, from which come defaults, validation with Kong's error
// model, partial-update merging and the JSON that Kong's /schemas endpoints
// serve.
//
// Values are JSON values held in Go types: nil (JSON null), bool, string,
// numbers (int, int64, float64 or json.Number on input; int64 for integer
// fields and float64 for number fields after Process), []any and
// map[string]any. A key absent from a map is Lua's nil ("not given"); a key
// present with a nil value is Kong's ngx.null ("explicitly null").
//
// The usual order for a write, as in Kong's DAO:
//
//	out := s.Process(in, schema.Insert, now) // ids, timestamps, defaults
//	if errs := s.Validate(out, schema.Full); errs != nil {
//		return schema.SchemaViolation(errs)
//	}
package schema
