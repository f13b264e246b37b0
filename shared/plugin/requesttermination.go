package plugin

import (
	"errors"

	"gatehouse.dev/shared/schema"
)

// requestTermination is Kong's request-termination plugin: answers every
// request itself with a fixed status and body (or an echo of the request).
func requestTermination() *Plugin {
	return definition{
		name:     "request-termination",
		priority: 2,
		config: []*schema.Field{
			{Name: "status_code", Type: schema.Integer, Required: true, Default: int64(503), Between: schema.Range(100, 599)},
			text("message"),
			text("content_type"),
			text("body"),
			requiredBool("echo", false),
			schema.HeaderName().Named("trigger"),
		},
		configValidator: validateTermination,
	}.build()
}

// validateTermination is the plugin's custom validator: message excludes
// content_type and body, content_type needs a body, echo excludes both.
func validateTermination(v any) error {
	config, _ := v.(map[string]any)
	present := func(name string) bool {
		s, ok := config[name].(string)
		return ok && s != ""
	}
	switch {
	case present("message") && (present("content_type") || present("body")):
		return errors.New("message cannot be used with content_type or body")
	case present("content_type") && !present("body"):
		return errors.New("content_type requires a body")
	case config["echo"] == true && (present("content_type") || present("body")):
		return errors.New("echo cannot be used with content_type and body")
	}
	return nil
}
