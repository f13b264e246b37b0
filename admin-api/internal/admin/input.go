package admin

import (
	"fmt"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// Input is the body of a write.
type Input struct {
	// Fields are the decoded body. The service never modifies them.
	Fields map[string]any
	// Form says the values come from a form-urlencoded or multipart body:
	// they are strings (or lists and maps of strings) to be converted with
	// the schema (Infer) before use. JSON bodies are used as they are.
	Form bool
}

// maxTTL is the largest ttl Kong accepts, in seconds.
const maxTTL = 100000000

// writeOptions are the options Kong takes out of a write's body.
type writeOptions struct {
	// ttl is the "ttl" option of TTL types: seconds, 0 for none.
	ttl    int64
	hasTTL bool
}

// fields copies the input's fields, infers form values with t's schema
// (hint, when given, completes the input for inference, such as a stored
// plugin's name) and takes the options out.
func (in Input) fields(t *entity.Type, hint map[string]any) (map[string]any, writeOptions, error) {
	fields, _ := sanitize(in.Fields).(map[string]any)
	if fields == nil {
		fields = map[string]any{}
	}
	if in.Form {
		probe := fields
		var added []string
		for k, v := range hint {
			if _, given := fields[k]; !given {
				fields[k] = v
				added = append(added, k)
			}
		}
		Infer(t.Schema, probe)
		for _, k := range added {
			delete(fields, k)
		}
	}
	var opts writeOptions
	if t.TTL && t.Schema.Field("ttl") == nil {
		v, given := fields["ttl"]
		if given {
			delete(fields, "ttl")
			if s, ok := v.(string); ok && in.Form {
				v = inferValue(s, &schema.Field{Type: schema.Number})
			}
			n, err := ttlValue(v)
			if err != nil {
				return nil, opts, err
			}
			opts.ttl, opts.hasTTL = n, true
		}
	}
	return fields, opts, nil
}

// ttlValue checks Kong's ttl option (validate_options_value).
func ttlValue(v any) (int64, error) {
	if v == nil {
		return 0, nil
	}
	f, ok := schema.AsFloat(v)
	if !ok {
		return 0, invalidOptions("ttl", "must be a number")
	}
	if f < 0 || f > maxTTL || f != float64(int64(f)) {
		return 0, invalidOptions("ttl", fmt.Sprintf("must be an integer between 0 and %d", maxTTL))
	}
	return int64(f), nil
}

// applyTTL sets a TTL entity's expires_at from the ttl option: now + ttl,
// or null for 0. Without the option the fields are left alone.
func (o writeOptions) applyTTL(fields map[string]any, now time.Time) {
	if !o.hasTTL {
		return
	}
	if o.ttl == 0 {
		fields["expires_at"] = nil
		return
	}
	fields["expires_at"] = now.Unix() + o.ttl
}
