// Package requesttermination is Kong's request-termination plugin: it
// answers every request itself, with status_code and either a message
// ({"message": ...}, Kong's default text for the status when none is
// configured) or body with content_type, or, with echo, a JSON copy of
// the request. With trigger set it answers only requests carrying that
// header or query argument, and lets the others through.
package requesttermination

import (
	"net/http"
	"strings"

	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/internal/conf"
)

// Name is the plugin's name.
const Name = "request-termination"

// defaultMessages are Kong's messages for statuses configured without
// one.
var defaultMessages = map[int]string{
	401: "Unauthorized",
	404: "Not found",
	405: "Method not allowed",
	500: "An unexpected error occurred",
	502: "Bad Gateway",
	503: "Service unavailable",
}

// Factory makes request-termination instances.
type Factory struct{}

// Name returns "request-termination".
func (Factory) Name() string { return Name }

// New reads one plugin entity's configuration.
func (Factory) New(cfg pdk.Config) (pdk.Instance, error) {
	c := cfg.Config
	in := &instance{status: http.StatusServiceUnavailable, echo: conf.Bool(c, "echo"), trigger: conf.String(c, "trigger"), env: cfg.Env}
	in.triggerDashed = strings.ReplaceAll(in.trigger, "_", "-")
	if s, ok := conf.Int(c, "status_code"); ok {
		in.status = int(s)
	}
	msg, hasMsg := c["message"].(string)
	if !hasMsg {
		msg, hasMsg = defaultMessages[in.status]
	}
	if hasMsg {
		in.message = &msg
		in.messageBody = map[string]string{"message": msg}
	}
	if body, ok := c["body"].(string); ok {
		in.body = &body
		if ct, ok := c["content_type"].(string); ok {
			in.bodyHeaders = map[string]string{"Content-Type": ct}
		}
	}
	return in, nil
}

// instance is one configured request-termination.
type instance struct {
	status  int
	message *string // config.message, else Kong's default for status
	// messageBody is {"message": message}, built once.
	messageBody map[string]string
	body        *string
	bodyHeaders map[string]string
	echo        bool
	// trigger (the query argument), and trigger with "_" read as "-"
	// (the header).
	trigger, triggerDashed string
	env                    pdk.Env
}

var _ pdk.Accesser = (*instance)(nil)

// Access answers the request, unless a trigger is configured and absent.
func (p *instance) Access(ctx pdk.Context) error {
	if p.trigger != "" && !p.triggered(ctx.Request()) {
		return nil
	}
	switch {
	case p.echo:
		ctx.Exit(p.status, p.echoBody(ctx), nil)
	case p.body != nil:
		ctx.Exit(p.status, *p.body, p.bodyHeaders)
	case p.messageBody != nil:
		ctx.Exit(p.status, p.messageBody, nil)
	default:
		ctx.Exit(p.status, nil, nil)
	}
	return nil
}

// triggered reports whether the request carries the trigger as a header
// or as a query argument. Kong's header table looks the name up
// lower-cased with "_" read as "-", and only so: trigger "x_stop" is the
// X-Stop header, never an X_stop one (which nginx drops).
func (p *instance) triggered(r pdk.Request) bool {
	if len(r.HeaderValues(p.triggerDashed)) > 0 {
		return true
	}
	_, ok := r.Query(p.trigger)
	return ok
}
