// Package settings declares a service's settings once and reads them from
// defaults, GATEHOUSE_* environment variables and command-line flags, in
// that order of precedence (a flag beats the environment). The same
// declarations produce --help, the redacted view GET / shows, and the
// configuration reference in docs/, which a test keeps in step.
package settings

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Setting describes one setting.
type Setting struct {
	// Env is the environment variable (GATEHOUSE_ADMIN_LISTEN); Flag the
	// flag name derived from it (admin-listen).
	Env, Flag string
	// Default is the default, as text; Usage one sentence.
	Default, Usage string
	// Secret settings are never printed: Redacted shows "******".
	Secret bool
	// Kind names the value's type for the documentation.
	Kind string
}

// Registry is the settings of one service.
type Registry struct {
	service  string
	fs       *flag.FlagSet
	settings []*Setting
	values   map[string]flag.Value
}

// New starts a registry for a service ("admin-api").
func New(service string) *Registry {
	fs := flag.NewFlagSet(service, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &Registry{service: service, fs: fs, values: map[string]flag.Value{}}
}

// FlagName derives a flag name from an environment variable name:
// GATEHOUSE_ADMIN_LISTEN becomes admin-listen.
func FlagName(env string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(env, "GATEHOUSE_")), "_", "-")
}

func (r *Registry) add(v flag.Value, env, def, usage, kind string, secret bool) {
	s := &Setting{Env: env, Flag: FlagName(env), Default: def, Usage: usage, Secret: secret, Kind: kind}
	r.settings = append(r.settings, s)
	r.values[env] = v
	r.fs.Var(v, s.Flag, usage)
}

// String declares a string setting.
func (r *Registry) String(p *string, env, def, usage string) {
	*p = def
	r.add((*stringValue)(p), env, def, usage, "string", false)
}

// Secret declares a string setting that is never printed.
func (r *Registry) Secret(p *string, env, def, usage string) {
	*p = def
	r.add((*stringValue)(p), env, def, usage, "string", true)
}

// Int declares an integer setting.
func (r *Registry) Int(p *int, env string, def int, usage string) {
	*p = def
	r.add((*intValue)(p), env, strconv.Itoa(def), usage, "integer", false)
}

// Bool declares a boolean setting (true/false, on/off, yes/no, 1/0).
func (r *Registry) Bool(p *bool, env string, def bool, usage string) {
	*p = def
	r.add((*boolValue)(p), env, formatBool(def), usage, "boolean", false)
}

// Duration declares a duration setting. Values are Go durations ("90s",
// "14d" is not one) or plain numbers of seconds, as Kong's settings are.
func (r *Registry) Duration(p *time.Duration, env string, def time.Duration, usage string) {
	*p = def
	r.add((*durationValue)(p), env, def.String(), usage, "duration", false)
}

// List declares a comma-separated list setting.
func (r *Registry) List(p *[]string, env string, def []string, usage string) {
	*p = def
	r.add((*listValue)(p), env, strings.Join(def, ","), usage, "list", false)
}

// Parse reads the environment through getenv, then the flags in args,
// and returns the arguments left after the flags. Errors name the
// variable or flag and the value's problem, never a secret's value.
func (r *Registry) Parse(args []string, getenv func(string) string) ([]string, error) {
	for _, s := range r.settings {
		raw := getenv(s.Env)
		if raw == "" {
			continue
		}
		if err := r.values[s.Env].Set(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Env, r.describe(s, raw, err))
		}
	}
	if err := r.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, r.flagError(err)
	}
	return r.fs.Args(), nil
}

func (r *Registry) describe(s *Setting, raw string, err error) error {
	if s.Secret {
		return fmt.Errorf("invalid value: %w", err)
	}
	return fmt.Errorf("invalid value %q: %w", raw, err)
}

func (r *Registry) flagError(err error) error {
	msg := err.Error()
	for _, s := range r.settings {
		if s.Secret && strings.Contains(msg, "-"+s.Flag) {
			return fmt.Errorf("invalid value for flag -%s", s.Flag)
		}
	}
	return err
}

// Settings lists the declared settings in declaration order.
func (r *Registry) Settings() []Setting {
	out := make([]Setting, len(r.settings))
	for i, s := range r.settings {
		out[i] = *s
	}
	return out
}

// Redacted maps each environment variable to its current value, secrets
// (when set) replaced by "******".
func (r *Registry) Redacted() map[string]string {
	out := make(map[string]string, len(r.settings))
	for _, s := range r.settings {
		v := r.values[s.Env].String()
		if s.Secret && v != "" {
			v = "******"
		}
		out[s.Env] = v
	}
	return out
}

// WriteUsage writes the settings for --help, sorted by name.
func (r *Registry) WriteUsage(w io.Writer) {
	list := r.Settings()
	sort.Slice(list, func(i, j int) bool { return list[i].Env < list[j].Env })
	for _, s := range list {
		def := s.Default
		if def == "" {
			def = "(none)"
		}
		_, _ = fmt.Fprintf(w, "  %s, --%s\n      %s Default: %s\n", s.Env, s.Flag, s.Usage, def)
	}
}

type stringValue string

func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) String() string     { return string(*v) }

type intValue int

func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return errors.New("expected an integer")
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) String() string { return strconv.Itoa(int(*v)) }

type boolValue bool

func (v *boolValue) Set(s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "on", "yes", "1":
		*v = true
	case "false", "off", "no", "0":
		*v = false
	default:
		return errors.New("expected true or false (or on/off)")
	}
	return nil
}
func (v *boolValue) String() string   { return formatBool(bool(*v)) }
func (v *boolValue) IsBoolFlag() bool { return true }

func formatBool(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

type durationValue time.Duration

func (v *durationValue) Set(s string) error {
	s = strings.TrimSpace(s)
	if secs, err := strconv.ParseFloat(s, 64); err == nil {
		if secs < 0 {
			return errors.New("must not be negative")
		}
		*v = durationValue(time.Duration(secs * float64(time.Second)))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("expected a duration such as 30s, 5m, 336h, or a number of seconds")
	}
	if d < 0 {
		return errors.New("must not be negative")
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) String() string { return time.Duration(*v).String() }

type listValue []string

func (v *listValue) Set(s string) error {
	var out []string
	for part := range strings.SplitSeq(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	*v = out
	return nil
}
func (v *listValue) String() string { return strings.Join(*v, ",") }
