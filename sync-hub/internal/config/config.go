// Package config holds sync-hub's settings: declared once with
// shared/settings, read from GATEHOUSE_* environment variables and flags,
// and validated with Kong's messages where Kong has one.
package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/protocol"
	"gatehouse.dev/shared/settings"
)

// Limits of the settings, from Kong's configuration checks.
const (
	// MinMaxPayload is the smallest GATEHOUSE_CLUSTER_MAX_PAYLOAD (Kong's
	// cluster_max_payload minimum, 4 MiB).
	MinMaxPayload = 4 << 20
	// MinPurgeDelay is the smallest GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY
	// (Kong's minimum, 60 s).
	MinPurgeDelay = 60 * time.Second
)

// Config is sync-hub's static configuration.
type Config struct {
	// PGURL is the Postgres URL (GATEHOUSE_PG_URL).
	PGURL string
	// ClusterListen is the cluster listener's address, default 0.0.0.0:8005.
	ClusterListen string
	// ClusterCert and ClusterCertKey are the cluster certificate and key: a
	// file, PEM text or base64 PEM.
	ClusterCert, ClusterCertKey string
	// ClusterMTLS is the mutual TLS mode: shared (default) or pki.
	ClusterMTLS string
	// ClusterCACert is the CA that signs data-plane certificates (pki).
	ClusterCACert string
	// ClusterCRL is a revocation list file (PEM or DER) whose certificates
	// are refused (pki).
	ClusterCRL string
	// MaxPayload is the largest websocket message in bytes, default 16 MiB,
	// at least 4 MiB.
	MaxPayload int
	// PurgeDelay is how long a data plane's row outlives its last update,
	// default 14 days, at least 60 s.
	PurgeDelay time.Duration
	// StatusListen is the status listener's address (health and metrics),
	// default 127.0.0.1:8007, or "off".
	StatusListen string
	// Plugins is the plugin spec (bundled, off or a comma list).
	Plugins string
	// LogLevel is debug, info, notice, warn or error.
	LogLevel string
	// PollInterval is how often the latest revision is polled, besides the
	// notifications, default 5 s.
	PollInterval time.Duration
	// HubID names this process in the data-plane registry; default the
	// host name and a random suffix.
	HubID string

	registry *settings.Registry
}

// New declares the settings with their defaults.
func New() *Config {
	c := &Config{registry: settings.New("sync-hub")}
	r := c.registry
	r.Secret(&c.PGURL, "GATEHOUSE_PG_URL", "postgres://postgres@127.0.0.1:5432/gatehouse?sslmode=disable",
		"Postgres connection URL (the database admin-api writes).")
	r.String(&c.ClusterListen, "GATEHOUSE_CLUSTER_LISTEN", "0.0.0.0:8005",
		"Address of the cluster listener that data planes connect to (mutual TLS, websocket).")
	r.String(&c.ClusterCert, "GATEHOUSE_CLUSTER_CERT", "",
		"Cluster certificate: a file, PEM text or base64 PEM.")
	r.Secret(&c.ClusterCertKey, "GATEHOUSE_CLUSTER_CERT_KEY", "",
		"Cluster certificate key: a file, PEM text or base64 PEM.")
	r.String(&c.ClusterMTLS, "GATEHOUSE_CLUSTER_MTLS", string(clustertls.Shared),
		"Mutual TLS mode: shared (data planes hold the cluster certificate) or pki (data-plane certificates signed by GATEHOUSE_CLUSTER_CA_CERT).")
	r.String(&c.ClusterCACert, "GATEHOUSE_CLUSTER_CA_CERT", "",
		"CA certificate that signs data-plane certificates (pki mode).")
	r.String(&c.ClusterCRL, "GATEHOUSE_CLUSTER_CRL", "",
		"Certificate revocation list file (PEM or DER); the data-plane certificates it lists are refused (pki mode).")
	r.Int(&c.MaxPayload, "GATEHOUSE_CLUSTER_MAX_PAYLOAD", int(protocol.DefaultMaxSize),
		"Largest websocket message in bytes, compressed, in either direction (at least 4194304).")
	r.Duration(&c.PurgeDelay, "GATEHOUSE_CLUSTER_DATA_PLANE_PURGE_DELAY", 14*24*time.Hour,
		"How long a data plane stays listed after its last update (a duration or seconds, at least 60 s).")
	r.String(&c.StatusListen, "GATEHOUSE_STATUS_LISTEN", "127.0.0.1:8007",
		"Address of the status listener (/status, /status/ready, /metrics), or off.")
	r.String(&c.Plugins, "GATEHOUSE_PLUGINS", plugin.SpecBundled,
		"Plugins the control plane loads, for the compatibility checks: bundled, off, or a comma list.")
	r.String(&c.LogLevel, "GATEHOUSE_LOG_LEVEL", "info",
		"Log level: debug, info, notice, warn or error.")
	r.Duration(&c.PollInterval, "GATEHOUSE_CLUSTER_POLL_INTERVAL", 5*time.Second,
		"How often the latest revision is read from Postgres besides the notifications (a notification is only a hint).")
	r.String(&c.HubID, "GATEHOUSE_CLUSTER_HUB_ID", "",
		"Name of this sync-hub in the data-plane registry (default: the host name and a random suffix).")
	return c
}

// Parse reads the environment through getenv, then the flags in args, and
// returns the arguments left after the flags. It returns flag.ErrHelp for
// -h and --help.
func (c *Config) Parse(args []string, getenv func(string) string) ([]string, error) {
	rest, err := c.registry.Parse(args, getenv)
	if err != nil {
		return nil, err
	}
	if c.HubID == "" {
		c.HubID = defaultHubID()
	}
	return rest, nil
}

// Load is New followed by Parse and Validate.
func Load(args []string, getenv func(string) string) (*Config, []string, error) {
	c := New()
	rest, err := c.Parse(args, getenv)
	if err != nil {
		return nil, nil, err
	}
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	return c, rest, nil
}

// Validate checks the values, with Kong's messages for Kong's limits.
func (c *Config) Validate() error {
	var errs []error
	if c.PGURL == "" {
		errs = append(errs, errors.New("GATEHOUSE_PG_URL must be set"))
	}
	if c.ClusterListen == "" || strings.EqualFold(c.ClusterListen, "off") {
		errs = append(errs, errors.New("cluster_listen must be specified when role = \"control_plane\""))
	}
	if c.MaxPayload < MinMaxPayload {
		errs = append(errs, errors.New("cluster_max_payload must be 4194304 (4MB) or greater"))
	}
	if c.PurgeDelay < MinPurgeDelay {
		errs = append(errs, errors.New("cluster_data_plane_purge_delay must be 60 or greater"))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, errors.New("GATEHOUSE_CLUSTER_POLL_INTERVAL must be positive"))
	}
	if _, err := ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if _, err := plugin.Load(c.Plugins); err != nil {
		errs = append(errs, fmt.Errorf("GATEHOUSE_PLUGINS: %w", err))
	}
	return errors.Join(errs...)
}

// TLS is the cluster TLS configuration.
func (c *Config) TLS() clustertls.Config {
	return clustertls.Config{
		Mode: clustertls.Mode(c.ClusterMTLS),
		Cert: c.ClusterCert,
		Key:  c.ClusterCertKey,
		CA:   c.ClusterCACert,
		CRL:  c.ClusterCRL,
	}
}

// StatusEnabled reports whether the status listener is on.
func (c *Config) StatusEnabled() bool {
	return c.StatusListen != "" && !strings.EqualFold(c.StatusListen, "off")
}

// Settings lists the declared settings in declaration order.
func (c *Config) Settings() []settings.Setting { return c.registry.Settings() }

// Redacted maps each environment variable to its value, secrets hidden.
func (c *Config) Redacted() map[string]string { return c.registry.Redacted() }

// WriteUsage writes the settings for --help.
func (c *Config) WriteUsage(w io.Writer) { c.registry.WriteUsage(w) }

// ParseLevel reads a log level: debug, info, notice (between info and warn,
// as Kong's), warn or error.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "notice":
		return protocol.LevelNotice, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("GATEHOUSE_LOG_LEVEL: expected one of: debug, info, notice, warn, error (got %q)", s)
}

// defaultHubID is the host name and six random hex digits, so two hubs on
// one host get different ids.
func defaultHubID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "sync-hub"
	}
	var b [3]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
