package config_test

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"gatehouse.dev/dataplane/internal/config"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestLabels runs Kong's own label cases (spec/01-unit/03-conf_loader_spec
// "Labels") and the start-up test's, with the exact messages.
func TestLabels(t *testing.T) {
	t.Parallel()
	valid := []struct {
		labels string
		want   map[string]string
	}{
		{"deployment:mycloud,region:us-east-1", map[string]string{"deployment": "mycloud", "region": "us-east-1"}},
		{"label_0_name:label-1-value,label-1-name:label_1_value", map[string]string{"label_0_name": "label-1-value", "label-1-name": "label_1_value"}},
		{"MY-LaB3L.nam_e:my_lA831..val", map[string]string{"MY-LaB3L.nam_e": "my_lA831..val"}},
		{"super_kong:yey", map[string]string{"super_kong": "yey"}},
		{"best_gateway:kong", map[string]string{"best_gateway": "kong"}},
		{"This_Key_Is_Just_The_Right_Maximum_Length_To_Pass_TheValidation:value", map[string]string{"This_Key_Is_Just_The_Right_Maximum_Length_To_Pass_TheValidation": "value"}},
		{"key:This_Val_Is_Just_The_Right_Maximum_Length_To_Pass_TheValidation", map[string]string{"key": "This_Val_Is_Just_The_Right_Maximum_Length_To_Pass_TheValidation"}},
		{"Aa-._zZ_key:Aa-._zZ_val", map[string]string{"Aa-._zZ_key": "Aa-._zZ_val"}},
		{"zone:eu:1", map[string]string{"zone": "eu:1"}},
		{"", nil},
	}
	for _, tt := range valid {
		t.Run("valid "+tt.labels, func(t *testing.T) {
			t.Parallel()
			cfg, _, err := config.Load(nil, env(map[string]string{"GATEHOUSE_CLUSTER_DP_LABELS": tt.labels}))
			if err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !maps.Equal(cfg.Labels, tt.want) {
				t.Errorf("labels = %v, want %v", cfg.Labels, tt.want)
			}
		})
	}
	const (
		keyPattern = `(?!kong)(?!konnect)(?!insomnia)(?!mesh)(?!kic)[a-z0-9]([\w\.:-]*[a-z0-9]|)$`
		valPattern = `[a-z0-9]([\w\.:-]*[a-z0-9]|)$`
	)
	invalid := []struct {
		labels, want string
	}{
		{"t:h,e:s,E:a,r:e,T:o,o:m,a:n,y:l,A:b,ee:l,S:s", "labels validation failed: count exceeded 10 max elements"},
		{"_must:start", "label key validation failed: _must is invalid. Must match pattern: " + keyPattern},
		{"and:.end", "label value validation failed: .end is invalid. Must match pattern: " + valPattern},
		{"with-:alpha", "label key validation failed: with- is invalid. Must match pattern: " + keyPattern},
		{"numeric:characters_", "label value validation failed: characters_ is invalid. Must match pattern: " + valPattern},
		{"kong_key:is_reserved", "label key validation failed: kong_key is invalid. Must match pattern: " + keyPattern},
		{"KIC:reserved_too", "label key validation failed: KIC is invalid. Must match pattern: " + keyPattern},
		{"invalid!@chars:fail", "label key validation failed: invalid!@chars is invalid. Must match pattern: " + keyPattern},
		{"the:val!dation", "label value validation failed: val!dation is invalid. Must match pattern: " + valPattern},
		{"lonelykeywithnoval:", "label value validation failed:  must have between 1 and 63 characters"},
		{
			"__look_this_key_is_way_too_long_no_way_it_will_pass_validation__:value",
			"label key validation failed: __look_this_key_is_way_too_long_no_way_it_will_pass_validation__ must have between 1 and 63 characters",
		},
		{
			"key:__look_this_val_is_way_too_long_no_way_it_will_pass_validation__",
			"label value validation failed: __look_this_val_is_way_too_long_no_way_it_will_pass_validation__ must have between 1 and 63 characters",
		},
		{"key", "label key validation failed:  must have between 1 and 63 characters"},
		// Kong's start-up test expects "Error: label key validation failed: w@".
		{"w@:_a", "label key validation failed: w@ is invalid. Must match pattern: " + keyPattern},
	}
	for _, tt := range invalid {
		t.Run("invalid "+tt.labels, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Load(nil, env(map[string]string{"GATEHOUSE_CLUSTER_DP_LABELS": tt.labels}))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v\nwant   %s", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	t.Parallel()
	cfg, rest, err := config.Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(rest) != 0 || cfg.Prefix != config.DefaultPrefix || !cfg.Standalone() || cfg.MaxPayload != 16777216 ||
		cfg.ProxyListen != "0.0.0.0:8000" || cfg.ProxySSLListen != "0.0.0.0:8443" || cfg.StatusListen != "0.0.0.0:8100" ||
		cfg.RealIPHeader != "X-Real-IP" || cfg.RealIPRecursive || cfg.LogLevel != "notice" || cfg.ClusterMTLS != "shared" ||
		len(cfg.PluginSet.Names()) == 0 {
		t.Errorf("defaults = %+v", cfg)
	}
}

func TestSettingsAndFlags(t *testing.T) {
	t.Parallel()
	cfg, rest, err := config.Load(
		[]string{"--cluster-control-plane", "cp1:8005, cp2:8005", "--real-ip-recursive", "cache", "export", "/x"},
		env(map[string]string{
			"GATEHOUSE_PREFIX":              "/tmp/p",
			"GATEHOUSE_CLUSTER_CERT":        "c.crt",
			"GATEHOUSE_CLUSTER_CERT_KEY":    "c.key",
			"GATEHOUSE_STATUS_TOKEN":        "s3cret",
			"GATEHOUSE_TRUSTED_IPS":         "10.0.0.0/8,::1,unix:",
			"GATEHOUSE_PROXY_SSL_LISTEN":    "off",
			"GATEHOUSE_CLUSTER_DP_LABELS":   "region:eu",
			"GATEHOUSE_PLUGINS":             "key-auth,acl",
			"GATEHOUSE_LOG_LEVEL":           "debug",
			"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "4194304",
		}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rest, " ") != "cache export /x" || strings.Join(cfg.ControlPlanes, "|") != "cp1:8005|cp2:8005" ||
		cfg.Standalone() || !cfg.RealIPRecursive || len(cfg.TrustedIPs) != 3 || cfg.Labels["region"] != "eu" ||
		strings.Join(cfg.PluginSet.Names(), ",") != "acl,key-auth" || cfg.MaxPayload != 4194304 {
		t.Errorf("config = %+v rest %v", cfg, rest)
	}
	if got := cfg.Redacted()["GATEHOUSE_STATUS_TOKEN"]; got != "******" {
		t.Errorf("status token redacted as %q", got)
	}
	if tls := cfg.ClusterTLS(); tls.Cert != "c.crt" || tls.Key != "c.key" || tls.Mode != "shared" {
		t.Errorf("cluster TLS = %+v", tls)
	}
}

func TestStartupErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{
			"control plane without certificate",
			map[string]string{"GATEHOUSE_CLUSTER_CONTROL_PLANE": "cp:8005"},
			nil, "cluster certificate and key must be provided to use Hybrid mode",
		},
		{
			"pki without CA",
			map[string]string{"GATEHOUSE_CLUSTER_CONTROL_PLANE": "cp:8005", "GATEHOUSE_CLUSTER_CERT": "c", "GATEHOUSE_CLUSTER_CERT_KEY": "k", "GATEHOUSE_CLUSTER_MTLS": "pki"},
			nil, `cluster_ca_cert must be specified when cluster_mtls = "pki"`,
		},
		{
			"bad mtls",
			map[string]string{"GATEHOUSE_CLUSTER_MTLS": "pki_check_cn"},
			nil, "cluster_mtls has an invalid value: 'pki_check_cn' (shared, pki)",
		},
		{
			"small payload",
			map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "1024"},
			nil, "cluster_max_payload must be 4194304 (4MB) or greater",
		},
		{
			"bad control plane",
			map[string]string{"GATEHOUSE_CLUSTER_CONTROL_PLANE": "cp", "GATEHOUSE_CLUSTER_CERT": "c", "GATEHOUSE_CLUSTER_CERT_KEY": "k"},
			nil, "cluster_control_plane must be of form host:port (got 'cp')",
		},
		{
			"no proxy listener",
			map[string]string{"GATEHOUSE_PROXY_LISTEN": "off", "GATEHOUSE_PROXY_SSL_LISTEN": "off"},
			nil, `proxy_listen must be specified when role = "data_plane"`,
		},
		{
			"bad listen",
			map[string]string{"GATEHOUSE_STATUS_LISTEN": "everywhere"},
			nil, "status_listen must be of form: off | <ip>:<port> (got 'everywhere')",
		},
		{
			"bad log level",
			map[string]string{"GATEHOUSE_LOG_LEVEL": "loud"},
			nil, "log_level has an invalid value: 'loud' (debug, info, notice, warn, error)",
		},
		{
			"bad trusted ip",
			map[string]string{"GATEHOUSE_TRUSTED_IPS": "10.0.0.0/8,nope"},
			nil, "trusted_ips must be a comma separated list in the form of IPv4 or IPv6 address or CIDR block or 'unix:', got 'nope'",
		},
		{
			"unknown plugin",
			map[string]string{"GATEHOUSE_PLUGINS": "bundled,nope"},
			nil, "plugin 'nope' is not available",
		},
		{
			"bad integer",
			map[string]string{"GATEHOUSE_CLUSTER_MAX_PAYLOAD": "big"},
			nil, `GATEHOUSE_CLUSTER_MAX_PAYLOAD: invalid value "big": expected an integer`,
		},
		{
			"two problems",
			map[string]string{"GATEHOUSE_LOG_LEVEL": "loud", "GATEHOUSE_CLUSTER_MAX_PAYLOAD": "1"},
			nil, "cluster_max_payload must be 4194304 (4MB) or greater\nlog_level has an invalid value",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := config.Load(tt.args, env(tt.env))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.want)
			}
			if errors.Is(err, config.ErrUsage) {
				t.Errorf("a configuration error reads as a usage error: %v", err)
			}
		})
	}
	if _, _, err := config.Load([]string{"--bogus"}, env(nil)); !errors.Is(err, config.ErrUsage) {
		t.Errorf("unknown flag: %v, want a usage error", err)
	}
}

func TestSettingsAreDeclaredOnce(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, s := range config.Settings() {
		if seen[s.Env] {
			t.Errorf("%s declared twice", s.Env)
		}
		seen[s.Env] = true
		if s.Usage == "" || !strings.HasSuffix(s.Usage, ".") {
			t.Errorf("%s: usage %q should be a sentence", s.Env, s.Usage)
		}
	}
	for _, want := range []string{
		"GATEHOUSE_PREFIX", "GATEHOUSE_CLUSTER_CONTROL_PLANE", "GATEHOUSE_CLUSTER_CERT", "GATEHOUSE_CLUSTER_CERT_KEY",
		"GATEHOUSE_CLUSTER_MTLS", "GATEHOUSE_CLUSTER_CA_CERT", "GATEHOUSE_CLUSTER_SERVER_NAME", "GATEHOUSE_CLUSTER_DP_LABELS",
		"GATEHOUSE_CLUSTER_MAX_PAYLOAD", "GATEHOUSE_DECLARATIVE_CONFIG", "GATEHOUSE_CACHE_ENCRYPTION_KEY_FILE", "GATEHOUSE_PLUGINS",
		"GATEHOUSE_LOG_LEVEL", "GATEHOUSE_PROXY_LISTEN", "GATEHOUSE_PROXY_SSL_LISTEN", "GATEHOUSE_STATUS_LISTEN",
		"GATEHOUSE_STATUS_TOKEN", "GATEHOUSE_TRUSTED_IPS", "GATEHOUSE_REAL_IP_HEADER", "GATEHOUSE_REAL_IP_RECURSIVE",
	} {
		if !seen[want] {
			t.Errorf("%s is not declared", want)
		}
	}
}
