package config_test

import (
	"strings"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/config"
)

func TestProxySettings(t *testing.T) {
	t.Parallel()
	cfg, _, err := config.Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.ProxyAccessLog || cfg.ClientMaxBodySize != 0 || cfg.ClientBodyBufferSize != 1<<20 ||
		cfg.ClientMaxHeaderSize != 16<<10 || cfg.UpstreamKeepalivePoolSize != 512 ||
		cfg.UpstreamKeepaliveMaxRequests != 10000 || cfg.UpstreamKeepaliveIdleTimeout != time.Minute {
		t.Errorf("defaults %+v", cfg)
	}
	cfg, _, err = config.Load([]string{
		"--proxy-access-log=off", "--client-max-body-size", "10m",
		"--client-body-buffer-size", "64k", "--client-max-header-size", "32k",
	}, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ProxyAccessLog || cfg.ClientMaxBodySize != 10<<20 || cfg.ClientBodyBufferSize != 64<<10 || cfg.ClientMaxHeaderSize != 32<<10 {
		t.Errorf("flags %+v", cfg)
	}
}

func TestProxySettingErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GATEHOUSE_CLIENT_MAX_BODY_SIZE": "ten"}, "client_max_body_size must be a size such as 8192, 512k or 10m (got 'ten')"},
		{map[string]string{"GATEHOUSE_CLIENT_BODY_BUFFER_SIZE": "0"}, "client_body_buffer_size must be at least 1 bytes (got '0')"},
		{map[string]string{"GATEHOUSE_CLIENT_MAX_HEADER_SIZE": "1k"}, "client_max_header_size must be between 4096 and 1048576 bytes (got '1k')"},
		{map[string]string{"GATEHOUSE_CLIENT_MAX_HEADER_SIZE": "2m"}, "client_max_header_size must be between 4096 and 1048576 bytes (got '2m')"},
		{map[string]string{"GATEHOUSE_SSL_CERT": "/etc/cert.pem"}, "ssl_cert and ssl_cert_key must be given together"},
		{map[string]string{"GATEHOUSE_UPSTREAM_KEEPALIVE_POOL_SIZE": "-1"}, "upstream_keepalive_pool_size must be 0 or greater"},
		{map[string]string{"GATEHOUSE_UPSTREAM_KEEPALIVE_MAX_REQUESTS": "-5"}, "upstream_keepalive_max_requests must be 0 or greater"},
		{map[string]string{"GATEHOUSE_UPSTREAM_KEEPALIVE_IDLE_TIMEOUT": "0"}, "upstream_keepalive_idle_timeout must be greater than 0"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Load(nil, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
	}{{"0", 0}, {"8192", 8192}, {"8k", 8 << 10}, {"8K", 8 << 10}, {"10m", 10 << 20}, {"1g", 1 << 30}, {"\t2k ", 2 << 10}}
	for _, tt := range tests {
		if got, err := config.ParseSize(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "k", "-1", "1.5m", "1t", "99999999999999999999"} {
		if _, err := config.ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
}
