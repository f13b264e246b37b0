package requesttransformer

import (
	"fmt"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/args"
)

// env is the template environment of one request: headers are read from
// the upstream request as it stands (earlier plugins' changes included,
// as Kong's get_headers sees them); query arguments are read from the
// upstream query string once, at their first use (Kong caches the table
// the same way).
type env struct {
	ctx         pdk.Context
	query       args.Args
	queryLoaded bool
}

var _ lookup = (*env)(nil)

func (e *env) get(table, key string) value {
	switch table {
	case tHeaders:
		up := e.ctx.Upstream()
		v := up.Header(key)
		if v == "" && strings.Contains(key, "_") {
			v = up.Header(strings.ReplaceAll(key, "_", "-"))
		}
		if v == "" {
			return value{}
		}
		return value{kind: valString, s: v}
	case tQueryParams:
		vs := e.queryArgs().Get(key)
		if len(vs) == 0 {
			return value{}
		}
		if vs[0].Bare {
			return value{kind: valBool, b: true}
		}
		return value{kind: valString, s: vs[0].S}
	case tURICaptures:
		if v, ok := e.ctx.Capture(key); ok {
			return value{kind: valString, s: v}
		}
		return value{}
	case tShared:
		switch v := e.ctx.Get(key).(type) {
		case nil:
			return value{}
		case string:
			return value{kind: valString, s: v}
		case bool:
			return value{kind: valBool, b: v}
		default:
			return value{kind: valString, s: fmt.Sprint(v)}
		}
	}
	return value{}
}

// queryArgs returns the upstream query's arguments, parsed at the first
// call.
func (e *env) queryArgs() args.Args {
	if !e.queryLoaded {
		e.query = args.Decode(e.ctx.Upstream().RawQuery(), args.MaxArgs)
		e.queryLoaded = true
	}
	return e.query
}
