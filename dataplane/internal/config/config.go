// Package config is the data plane's static configuration: every
// GATEHOUSE_* setting it reads, declared once with shared/settings, with
// its default, and checked at start-up with Kong's messages (kong.conf
// names, so "cluster_max_payload" for GATEHOUSE_CLUSTER_MAX_PAYLOAD).
//
// Settings that later parts of the data plane use (the proxy and status
// listeners, client addresses) are declared here too, so this package is
// the one place that lists them.
package config

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"gatehouse.dev/shared/clustertls"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/settings"
)

// Defaults that others refer to.
const (
	// DefaultPrefix is where the data plane keeps its node id and cache
	// when GATEHOUSE_PREFIX is not set.
	DefaultPrefix = "/var/lib/gatehouse"
	// DefaultMaxPayload is Kong's cluster_max_payload default (16 MiB).
	DefaultMaxPayload = 16 << 20
	// MinMaxPayload is the smallest cluster_max_payload Kong accepts.
	MinMaxPayload = 4 << 20
	// Off disables a listener.
	Off = "off"
)

// LogLevels are the accepted GATEHOUSE_LOG_LEVEL values, in Kong's order.
var LogLevels = []string{"debug", "info", "notice", "warn", "error"}

// Config is the data plane's configuration.
type Config struct {
	// Prefix is the working directory: node_id, the cache.
	Prefix string
	// ControlPlanes are sync-hub addresses (host:port), tried in turn;
	// none means standalone.
	ControlPlanes []string
	// ClusterCert and ClusterCertKey are the cluster certificate and key
	// (a file path, PEM text or base64 PEM).
	ClusterCert, ClusterCertKey string
	// ClusterMTLS is "shared" or "pki".
	ClusterMTLS string
	// ClusterCACert is the CA certificate that signs sync-hub's
	// certificate in pki mode.
	ClusterCACert string
	// ClusterServerName is the name sync-hub's certificate must carry in
	// pki mode (default: the host dialled).
	ClusterServerName string
	// Labels are the data plane's labels, from GATEHOUSE_CLUSTER_DP_LABELS.
	Labels map[string]string
	// MaxPayload limits a websocket message from sync-hub, in bytes.
	MaxPayload int
	// DeclarativeConfig is a declarative configuration file to start from
	// when the cache holds none.
	DeclarativeConfig string
	// CacheEncryptionKeyFile holds the key that encrypts the cache.
	CacheEncryptionKeyFile string
	// Plugins is the plugin spec (GATEHOUSE_PLUGINS) and PluginSet what it
	// loads.
	Plugins   string
	PluginSet *plugin.Set
	// LogLevel is one of LogLevels.
	LogLevel string
	// ProxyListen, ProxySSLListen and StatusListen are host:port or "off".
	ProxyListen, ProxySSLListen, StatusListen string
	// StatusToken authorises POST /status/ready from beyond loopback.
	StatusToken string
	// TrustedIPs are the addresses and CIDR blocks trusted to set the
	// client address (and "unix:").
	TrustedIPs []string
	// RealIPHeader is the header that carries the client address.
	RealIPHeader string
	// RealIPRecursive skips trusted addresses in RealIPHeader.
	RealIPRecursive bool
	// ProxyAccessLog turns the proxy's JSON access log (stdout) on.
	ProxyAccessLog bool
	// SSLCert and SSLCertKey are the default certificate of the proxy's
	// TLS listener (a file, PEM text or base64 PEM); empty makes a
	// self-signed one at start, as Kong does.
	SSLCert, SSLCertKey string
	// ClientMaxBodySize bounds request bodies, in bytes (0: no limit).
	ClientMaxBodySize int64
	// ClientBodyBufferSize bounds what a plugin may read of a request
	// body, in bytes.
	ClientBodyBufferSize int64
	// ClientMaxHeaderSize bounds a request's line and headers, in bytes.
	ClientMaxHeaderSize int
	// UpstreamKeepalivePoolSize, UpstreamKeepaliveMaxRequests and
	// UpstreamKeepaliveIdleTimeout tune upstream keep-alive connections.
	UpstreamKeepalivePoolSize    int
	UpstreamKeepaliveMaxRequests int
	UpstreamKeepaliveIdleTimeout time.Duration

	reg    *settings.Registry
	labels []string
	// The size settings as given.
	clientMaxBodySize, clientBodyBufferSize, clientMaxHeaderSize string
}

// registry declares every setting, bound to c's fields.
func (c *Config) registry() *settings.Registry {
	r := settings.New("dataplane")
	r.String(&c.Prefix, "GATEHOUSE_PREFIX", DefaultPrefix,
		"Working directory: holds node_id (the node's identity) and cache/ (the last configuration).")
	r.List(&c.ControlPlanes, "GATEHOUSE_CLUSTER_CONTROL_PLANE", nil,
		"sync-hub addresses (host:port), a comma list tried in turn; none runs standalone from GATEHOUSE_DECLARATIVE_CONFIG.")
	r.String(&c.ClusterCert, "GATEHOUSE_CLUSTER_CERT", "",
		"Cluster certificate: a file, PEM text or base64 PEM. Required with a control plane.")
	r.String(&c.ClusterCertKey, "GATEHOUSE_CLUSTER_CERT_KEY", "",
		"Key of the cluster certificate, in the same forms. Required with a control plane.")
	r.String(&c.ClusterMTLS, "GATEHOUSE_CLUSTER_MTLS", string(clustertls.Shared),
		"Cluster mutual TLS mode: shared (one certificate everywhere) or pki (certificates signed by GATEHOUSE_CLUSTER_CA_CERT).")
	r.String(&c.ClusterCACert, "GATEHOUSE_CLUSTER_CA_CERT", "",
		"CA certificate that sync-hub's certificate must chain to, in pki mode.")
	r.String(&c.ClusterServerName, "GATEHOUSE_CLUSTER_SERVER_NAME", "",
		"Name sync-hub's certificate must carry in pki mode; when empty, the host of the control plane address.")
	r.List(&c.labels, "GATEHOUSE_CLUSTER_DP_LABELS", nil,
		"Labels reported to the control plane: a comma list of key:value (at most 10, Kong's rules).")
	r.Int(&c.MaxPayload, "GATEHOUSE_CLUSTER_MAX_PAYLOAD", DefaultMaxPayload,
		"Largest message accepted from sync-hub, in bytes (at least 4194304).")
	r.String(&c.DeclarativeConfig, "GATEHOUSE_DECLARATIVE_CONFIG", "",
		"Declarative configuration file (YAML or JSON) to serve when the cache holds no configuration.")
	r.String(&c.CacheEncryptionKeyFile, "GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE", "",
		"File holding the key that encrypts the cache at rest: 32 raw bytes, 64 hex or 44 base64 characters.")
	r.String(&c.Plugins, "GATEHOUSE_PLUGINS", plugin.SpecBundled,
		"Plugins to load: bundled, off, or a comma list.")
	r.String(&c.LogLevel, "GATEHOUSE_LOG_LEVEL", "notice",
		"Log level: debug, info, notice, warn or error.")
	r.String(&c.ProxyListen, "GATEHOUSE_PROXY_LISTEN", "0.0.0.0:8000",
		"Proxy address (host:port), or off.")
	r.String(&c.ProxySSLListen, "GATEHOUSE_PROXY_SSL_LISTEN", "0.0.0.0:8443",
		"Proxy TLS address (host:port), or off.")
	r.String(&c.StatusListen, "GATEHOUSE_STATUS_LISTEN", "0.0.0.0:8100",
		"Status API and /metrics address (host:port), or off.")
	r.Secret(&c.StatusToken, "GATEHOUSE_STATUS_TOKEN", "",
		"Token that authorises POST /status/ready from beyond loopback.")
	r.List(&c.TrustedIPs, "GATEHOUSE_TRUSTED_IPS", nil,
		"Addresses and CIDR blocks (or unix:) trusted to set the client address.")
	r.String(&c.RealIPHeader, "GATEHOUSE_REAL_IP_HEADER", "X-Real-IP",
		"Header that carries the client address from trusted addresses.")
	r.Bool(&c.RealIPRecursive, "GATEHOUSE_REAL_IP_RECURSIVE", false,
		"Skip trusted addresses in the real IP header, from the right.")
	r.Bool(&c.ProxyAccessLog, "GATEHOUSE_PROXY_ACCESS_LOG", true,
		"Write a JSON access log line per proxied request to stdout: on or off.")
	r.String(&c.SSLCert, "GATEHOUSE_SSL_CERT", "",
		"Default certificate of the proxy TLS listener (file, PEM text or base64 PEM); none generates a self-signed one at start.")
	r.Secret(&c.SSLCertKey, "GATEHOUSE_SSL_CERT_KEY", "",
		"Key of GATEHOUSE_SSL_CERT, in the same forms.")
	r.String(&c.clientMaxBodySize, "GATEHOUSE_CLIENT_MAX_BODY_SIZE", "0",
		"Largest request body accepted (413 above it): bytes, or a size such as 10m or 512k; 0 means no limit.")
	r.String(&c.clientBodyBufferSize, "GATEHOUSE_CLIENT_BODY_BUFFER_SIZE", "1m",
		"Largest request body a plugin may read whole (bodies stream otherwise): bytes, or a size such as 1m.")
	r.String(&c.clientMaxHeaderSize, "GATEHOUSE_CLIENT_MAX_HEADER_SIZE", "16k",
		"Largest request line and headers together (494 above it, 414 for a request line above 8k): 4k to 1m.")
	r.Int(&c.UpstreamKeepalivePoolSize, "GATEHOUSE_UPSTREAM_KEEPALIVE_POOL_SIZE", 512,
		"Idle keep-alive connections kept per upstream address; 0 disables upstream keep-alive.")
	r.Int(&c.UpstreamKeepaliveMaxRequests, "GATEHOUSE_UPSTREAM_KEEPALIVE_MAX_REQUESTS", 10000,
		"Requests one upstream connection serves before it is closed; 0 means no limit.")
	r.Duration(&c.UpstreamKeepaliveIdleTimeout, "GATEHOUSE_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT", 60*time.Second,
		"How long an idle upstream connection is kept.")
	return r
}

// ErrUsage marks a command line that could not be parsed (an unknown
// flag, a flag without its value).
var ErrUsage = errors.New("usage")

// Load reads the settings from getenv, then the flags in args, and checks
// them. It returns the configuration and the arguments left after the
// flags (the command). A bad command line wraps ErrUsage (and
// flag.ErrHelp for -h); the other errors read as Kong's start-up errors,
// one per line.
func Load(args []string, getenv func(string) string) (*Config, []string, error) {
	c := &Config{}
	c.reg = c.registry()
	rest, err := c.reg.Parse(args, getenv)
	if err != nil {
		if strings.HasPrefix(err.Error(), "GATEHOUSE_") {
			return nil, nil, err // a bad value in the environment
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if err := c.validate(); err != nil {
		return nil, nil, err
	}
	return c, rest, nil
}

// Settings lists every setting in declaration order.
func Settings() []settings.Setting {
	return (&Config{}).registry().Settings()
}

// WriteUsage writes the settings for --help.
func WriteUsage(w io.Writer) {
	(&Config{}).registry().WriteUsage(w)
}

// Redacted maps each setting to its value, secrets hidden, for the
// start-up log.
func (c *Config) Redacted() map[string]string { return c.reg.Redacted() }

// Standalone reports whether no control plane is configured: the data
// plane serves its declarative file (or its cache) and connects nowhere.
func (c *Config) Standalone() bool { return len(c.ControlPlanes) == 0 }

// ClusterTLS is the cluster TLS configuration to load with
// clustertls.Load.
func (c *Config) ClusterTLS() clustertls.Config {
	return clustertls.Config{
		Mode:       clustertls.Mode(c.ClusterMTLS),
		Cert:       c.ClusterCert,
		Key:        c.ClusterCertKey,
		CA:         c.ClusterCACert,
		ServerName: c.ClusterServerName,
	}
}

// validate checks the values and fills the derived fields; it reports
// every problem, one per line.
func (c *Config) validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if strings.TrimSpace(c.Prefix) == "" {
		add(errors.New("prefix must not be empty"))
	}
	for _, cp := range c.ControlPlanes {
		add(checkHostPort("cluster_control_plane", cp))
	}
	add(checkEnum("cluster_mtls", c.ClusterMTLS, []string{string(clustertls.Shared), string(clustertls.PKI)}))
	if !c.Standalone() && (c.ClusterCert == "" || c.ClusterCertKey == "") {
		add(errors.New("cluster certificate and key must be provided to use Hybrid mode"))
	}
	if c.ClusterMTLS == string(clustertls.PKI) && !c.Standalone() && c.ClusterCACert == "" {
		add(errors.New(`cluster_ca_cert must be specified when cluster_mtls = "pki"`))
	}
	labels, err := ParseLabels(c.labels)
	add(err)
	c.Labels = labels
	if c.MaxPayload < MinMaxPayload {
		add(fmt.Errorf("cluster_max_payload must be %d (4MB) or greater", MinMaxPayload))
	}
	set, err := plugin.Load(c.Plugins)
	add(err)
	c.PluginSet = set
	add(checkEnum("log_level", c.LogLevel, LogLevels))
	add(checkListen("proxy_listen", c.ProxyListen))
	add(checkListen("proxy_ssl_listen", c.ProxySSLListen))
	add(checkListen("status_listen", c.StatusListen))
	if c.ProxyListen == Off && c.ProxySSLListen == Off {
		add(errors.New(`proxy_listen must be specified when role = "data_plane"`))
	}
	for _, ip := range c.TrustedIPs {
		add(checkTrustedIP(ip))
	}
	if strings.TrimSpace(c.RealIPHeader) == "" {
		add(errors.New("real_ip_header must not be empty"))
	}
	if (c.SSLCert == "") != (c.SSLCertKey == "") {
		add(errors.New("ssl_cert and ssl_cert_key must be given together"))
	}
	var err2 error
	c.ClientMaxBodySize, err2 = checkSize("client_max_body_size", c.clientMaxBodySize, 0, 0)
	add(err2)
	c.ClientBodyBufferSize, err2 = checkSize("client_body_buffer_size", c.clientBodyBufferSize, 1, 0)
	add(err2)
	var header int64
	header, err2 = checkSize("client_max_header_size", c.clientMaxHeaderSize, 4<<10, 1<<20)
	add(err2)
	c.ClientMaxHeaderSize = int(header)
	if c.UpstreamKeepalivePoolSize < 0 {
		add(errors.New("upstream_keepalive_pool_size must be 0 or greater"))
	}
	if c.UpstreamKeepaliveMaxRequests < 0 {
		add(errors.New("upstream_keepalive_max_requests must be 0 or greater"))
	}
	if c.UpstreamKeepaliveIdleTimeout <= 0 {
		add(errors.New("upstream_keepalive_idle_timeout must be greater than 0"))
	}
	return errors.Join(errs...)
}

// ParseSize reads a size as nginx writes them: a number of bytes, or a
// number followed by k or m (case-insensitive) for KiB or MiB.
func ParseSize(s string) (int64, error) {
	s = strings.TrimSpace(s)
	mult := int64(1)
	if n := len(s); n > 0 {
		switch s[n-1] {
		case 'k', 'K':
			mult, s = 1<<10, s[:n-1]
		case 'm', 'M':
			mult, s = 1<<20, s[:n-1]
		case 'g', 'G':
			mult, s = 1<<30, s[:n-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, errors.New("not a size")
	}
	return n * mult, nil
}

// checkSize parses a size setting and checks it is within [lo, hi] (hi 0:
// no upper bound).
func checkSize(name, v string, lo, hi int64) (int64, error) {
	n, err := ParseSize(v)
	if err != nil {
		return 0, fmt.Errorf("%s must be a size such as 8192, 512k or 10m (got '%s')", name, v)
	}
	if n < lo || (hi > 0 && n > hi) {
		if hi > 0 {
			return 0, fmt.Errorf("%s must be between %d and %d bytes (got '%s')", name, lo, hi, v)
		}
		return 0, fmt.Errorf("%s must be at least %d bytes (got '%s')", name, lo, v)
	}
	return n, nil
}

// checkEnum reports a value outside values as Kong's conf loader does.
func checkEnum(name, v string, values []string) error {
	if slices.Contains(values, v) {
		return nil
	}
	return fmt.Errorf("%s has an invalid value: '%s' (%s)", name, v, strings.Join(values, ", "))
}

func checkHostPort(name, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err == nil && host != "" {
		if n, perr := strconv.Atoi(port); perr == nil && n > 0 && n < 65536 {
			return nil
		}
	}
	return fmt.Errorf("%s must be of form host:port (got '%s')", name, addr)
}

func checkListen(name, v string) error {
	if v == Off {
		return nil
	}
	host, port, err := net.SplitHostPort(v)
	if err == nil {
		if n, perr := strconv.Atoi(port); perr == nil && n >= 0 && n < 65536 {
			if host == "" || net.ParseIP(host) != nil || host == "localhost" {
				return nil
			}
		}
	}
	return fmt.Errorf("%s must be of form: off | <ip>:<port> (got '%s')", name, v)
}

func checkTrustedIP(v string) error {
	if v == "unix:" {
		return nil
	}
	if _, err := netip.ParseAddr(v); err == nil {
		return nil
	}
	if _, err := netip.ParsePrefix(v); err == nil {
		return nil
	}
	return fmt.Errorf("trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got '%s'", v)
}
