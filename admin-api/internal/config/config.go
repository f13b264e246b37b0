// Package config reads admin-api's settings: GATEHOUSE_* environment
// variables named after Kong's kong.conf keys, each also a command-line
// flag (shared/settings), and checks them with clear start-up errors.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/settings"
)

// Service is the name the settings are declared for.
const Service = "admin-api"

// Off is the value that turns a listener off.
const Off = "off"

// Config is admin-api's configuration, checked by Load.
type Config struct {
	// PGURL is the Postgres connection URL.
	PGURL string
	// PGTimeout bounds each connection attempt, so that requests fail
	// fast with 503 while Postgres is unreachable.
	PGTimeout time.Duration
	// PGPoolSize caps the connection pool (0: pgx's default).
	PGPoolSize int

	// Listen and SSLListen are the plain and TLS listeners (nil when off).
	Listen, SSLListen []Listener
	// SSLCert and SSLCertKey are the PEM files of the TLS listener.
	SSLCert, SSLCertKey string
	// Token, when set, must be sent in the Kong-Admin-Token header.
	Token string
	// MaxBodySize is the largest request body accepted, in bytes.
	MaxBodySize int64

	// ChangeLogKeepRevisions and ChangeLogMaxAge bound the change-log
	// history (0 disables a bound); MaintenanceInterval is how often the
	// log is trimmed and expired credentials are removed.
	ChangeLogKeepRevisions int
	ChangeLogMaxAge        time.Duration
	MaintenanceInterval    time.Duration

	// Plugins is the plugin spec (GATEHOUSE_PLUGINS).
	Plugins string
	// LogLevel is the slog level parsed from GATEHOUSE_LOG_LEVEL, and
	// LogLevelName the name given.
	LogLevel     slog.Level
	LogLevelName string
	// MigrateOnStart applies the migrations when the server starts.
	MigrateOnStart bool
	// NodeID is the node id GET / reports (random when not set).
	NodeID string
	// ShutdownTimeout bounds the graceful shutdown.
	ShutdownTimeout time.Duration

	reg *settings.Registry
}

// Listener is one address the Admin API listens on.
type Listener struct {
	// Addr is host:port; an empty host means every interface.
	Addr string
}

// Loopback reports whether the listener is reachable only from this
// machine: a loopback IP address or "localhost".
func (l Listener) Loopback() bool {
	host, err := splitHostPort(l.Addr)
	if err != nil {
		return false
	}
	return isLoopbackHost(host)
}

// LevelNotice is Kong's "notice" log level: between info and warn.
const LevelNotice = slog.LevelInfo + 2

// The defaults.
const (
	DefaultPGURL                  = "postgres://postgres@127.0.0.1:5432/gatehouse?sslmode=disable"
	DefaultListen                 = "127.0.0.1:8001"
	DefaultMaxBodySize            = "16m"
	DefaultChangeLogKeepRevisions = 10000
	DefaultChangeLogMaxAge        = 7 * 24 * time.Hour
	DefaultMaintenanceInterval    = 30 * time.Second
)

// raw holds the settings as declared, before Load interprets them.
type raw struct {
	pgURL, listen, sslListen, sslCert, sslKey, token, maxBody string
	plugins, logLevel, nodeID                                 string
	pgTimeout, maxAge, interval, shutdown                     time.Duration
	pgPool, keep                                              int
	migrate                                                   bool
}

// declare registers every setting in a new registry.
func declare(r *raw) *settings.Registry {
	reg := settings.New(Service)
	reg.String(&r.pgURL, "GATEHOUSE_PG_URL", DefaultPGURL,
		"Postgres connection URL (a password in it is never shown).")
	reg.Duration(&r.pgTimeout, "GATEHOUSE_PG_TIMEOUT", 3*time.Second,
		"Timeout of each Postgres connection attempt; requests answer 503 at most this late while Postgres is down.")
	reg.Int(&r.pgPool, "GATEHOUSE_PG_POOL_SIZE", 0,
		"Maximum Postgres connections (0: the larger of 4 and the number of CPUs).")
	reg.String(&r.listen, "GATEHOUSE_ADMIN_LISTEN", DefaultListen,
		"Admin API address(es), comma-separated host:port, or off.")
	reg.String(&r.sslListen, "GATEHOUSE_ADMIN_SSL_LISTEN", Off,
		"Admin API TLS address(es), comma-separated host:port, or off.")
	reg.String(&r.sslCert, "GATEHOUSE_ADMIN_SSL_CERT", "",
		"PEM certificate (chain) of the TLS listener.")
	reg.String(&r.sslKey, "GATEHOUSE_ADMIN_SSL_CERT_KEY", "",
		"PEM private key of the TLS listener.")
	reg.Secret(&r.token, "GATEHOUSE_ADMIN_TOKEN", "",
		"Token every request must carry in Kong-Admin-Token; required when a listener binds beyond loopback.")
	reg.String(&r.maxBody, "GATEHOUSE_ADMIN_MAX_BODY_SIZE", DefaultMaxBodySize,
		"Largest request body accepted: bytes, or a number with k, m or g.")
	reg.Int(&r.keep, "GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS", DefaultChangeLogKeepRevisions,
		"Revisions of change log kept for data planes to catch up with (0: no count bound).")
	reg.Duration(&r.maxAge, "GATEHOUSE_CHANGE_LOG_MAX_AGE", DefaultChangeLogMaxAge,
		"Oldest change-log history kept (0: no age bound).")
	reg.Duration(&r.interval, "GATEHOUSE_MAINTENANCE_INTERVAL", DefaultMaintenanceInterval,
		"How often the change log is trimmed and expired credentials are removed.")
	reg.String(&r.plugins, "GATEHOUSE_PLUGINS", "bundled",
		"Plugins to load: bundled, off, or a comma list of names (bundled stands for all).")
	reg.String(&r.logLevel, "GATEHOUSE_LOG_LEVEL", "notice",
		"Log level: debug, info, notice, warn or error.")
	reg.Bool(&r.migrate, "GATEHOUSE_MIGRATE_ON_START", false,
		"Apply the database migrations when the server starts.")
	reg.String(&r.nodeID, "GATEHOUSE_NODE_ID", "",
		"Node id reported by GET / (a UUID; random at each start when empty).")
	reg.Duration(&r.shutdown, "GATEHOUSE_SHUTDOWN_TIMEOUT", 10*time.Second,
		"How long a shutdown waits for requests in flight.")
	return reg
}

// Settings lists the declared settings, for documentation.
func Settings() []settings.Setting {
	var r raw
	return declare(&r).Settings()
}

// WriteUsage writes the settings for --help.
func WriteUsage(w io.Writer) {
	var r raw
	declare(&r).WriteUsage(w)
}

// ErrHelp is returned by Load when the arguments ask for help.
var ErrHelp = flag.ErrHelp

// Load reads the settings from getenv and the flags in args (a flag beats
// the environment), checks them, and returns the configuration and the
// arguments left after the flags. Errors name the setting and say what is
// wrong; they never contain a secret.
func Load(args []string, getenv func(string) string) (*Config, []string, error) {
	var r raw
	reg := declare(&r)
	rest, err := reg.Parse(args, getenv)
	if err != nil {
		return nil, nil, err
	}
	c := &Config{
		PGURL:                  strings.TrimSpace(r.pgURL),
		PGTimeout:              r.pgTimeout,
		PGPoolSize:             r.pgPool,
		SSLCert:                r.sslCert,
		SSLCertKey:             r.sslKey,
		Token:                  r.token,
		ChangeLogKeepRevisions: r.keep,
		ChangeLogMaxAge:        r.maxAge,
		MaintenanceInterval:    r.interval,
		Plugins:                r.plugins,
		LogLevelName:           strings.ToLower(strings.TrimSpace(r.logLevel)),
		MigrateOnStart:         r.migrate,
		NodeID:                 strings.ToLower(strings.TrimSpace(r.nodeID)),
		ShutdownTimeout:        r.shutdown,
		reg:                    reg,
	}
	var errs []error
	add := func(env string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env, err))
		}
	}
	add("GATEHOUSE_PG_URL", checkPGURL(c.PGURL))
	if c.PGTimeout <= 0 {
		add("GATEHOUSE_PG_TIMEOUT", errors.New("must be positive"))
	}
	if c.PGPoolSize < 0 || c.PGPoolSize > 10000 {
		add("GATEHOUSE_PG_POOL_SIZE", errors.New("must be between 0 and 10000"))
	}
	c.Listen, err = ParseListen(r.listen)
	add("GATEHOUSE_ADMIN_LISTEN", err)
	c.SSLListen, err = ParseListen(r.sslListen)
	add("GATEHOUSE_ADMIN_SSL_LISTEN", err)
	c.MaxBodySize, err = ParseSize(r.maxBody)
	add("GATEHOUSE_ADMIN_MAX_BODY_SIZE", err)
	if c.ChangeLogKeepRevisions < 0 {
		add("GATEHOUSE_CHANGE_LOG_KEEP_REVISIONS", errors.New("must not be negative"))
	}
	if c.MaintenanceInterval <= 0 {
		add("GATEHOUSE_MAINTENANCE_INTERVAL", errors.New("must be positive"))
	}
	c.LogLevel, err = ParseLevel(c.LogLevelName)
	add("GATEHOUSE_LOG_LEVEL", err)
	if c.NodeID != "" && !schema.IsUUID(c.NodeID) {
		add("GATEHOUSE_NODE_ID", fmt.Errorf("%q is not a UUID", c.NodeID))
	}
	errs = append(errs, c.checkListeners()...)
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return c, rest, nil
}

// checkListeners applies the rules across listener settings: at least
// one listener, TLS files for the TLS listener, and a token whenever a
// listener is reachable beyond loopback.
func (c *Config) checkListeners() []error {
	var errs []error
	if len(c.Listen) == 0 && len(c.SSLListen) == 0 {
		errs = append(errs, errors.New("GATEHOUSE_ADMIN_LISTEN and GATEHOUSE_ADMIN_SSL_LISTEN are both off: the Admin API would not listen anywhere"))
	}
	if len(c.SSLListen) > 0 && (c.SSLCert == "" || c.SSLCertKey == "") {
		errs = append(errs, errors.New("GATEHOUSE_ADMIN_SSL_LISTEN is set: GATEHOUSE_ADMIN_SSL_CERT and GATEHOUSE_ADMIN_SSL_CERT_KEY are required"))
	}
	if (c.SSLCert == "") != (c.SSLCertKey == "") {
		errs = append(errs, errors.New("GATEHOUSE_ADMIN_SSL_CERT and GATEHOUSE_ADMIN_SSL_CERT_KEY must be set together"))
	}
	if c.Token == "" {
		for _, l := range append(append([]Listener(nil), c.Listen...), c.SSLListen...) {
			if !l.Loopback() {
				errs = append(errs, fmt.Errorf(
					"GATEHOUSE_ADMIN_TOKEN is required: the Admin API listens on %s, beyond loopback; set a token, or listen on 127.0.0.1", l.Addr))
				break
			}
		}
	}
	return errs
}

// Redacted returns the settings as GET / shows them under
// "configuration", keyed like kong.conf (admin_listen, pg_url, ...):
// secrets are "******" and a password in the Postgres URL is masked.
func (c *Config) Redacted() map[string]string {
	out := map[string]string{}
	for env, v := range c.reg.Redacted() {
		key := strings.ToLower(strings.TrimPrefix(env, "GATEHOUSE_"))
		out[key] = v
	}
	out["pg_url"] = RedactURL(c.PGURL)
	return out
}

// RedactURL masks the password of a URL with "******".
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "******")
	}
	s := u.String()
	return strings.Replace(s, "%2A%2A%2A%2A%2A%2A", "******", 1)
}

func checkPGURL(s string) error {
	if s == "" {
		return errors.New("must not be empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a valid URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return fmt.Errorf("the scheme must be postgres://, not %q", u.Scheme+"://")
	}
	return nil
}

// ParseLevel reads a log level: debug, info, notice (Kong's default,
// between info and warn), warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "notice", "":
		return LevelNotice, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error", "crit", "alert", "emerg":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("%q is not a log level (debug, info, notice, warn, error)", s)
}
