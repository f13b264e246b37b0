package proxy

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"gatehouse.dev/dataplane/internal/balancer"
	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/proxy/tlsterm"
	"gatehouse.dev/dataplane/internal/router"
)

// view is a runtime with its parts looked up once: the proxy keeps the
// view of the runtime it last saw and builds a new one when the runtime
// changes.
type view struct {
	rt        *gateway.Runtime
	router    *router.Router
	balancers *balancer.Set
	certs     *tlsterm.Store
	chains    *chain.Chains
	services  sync.Map // *router.Service → *serviceInfo
}

func newView(rt *gateway.Runtime) *view {
	v := &view{rt: rt}
	v.router, _ = rt.Part(RouterPart).(*router.Router)
	v.balancers, _ = rt.Part(BalancerPart).(*balancer.Set)
	v.certs, _ = rt.Part(TLSPart).(*tlsterm.Store)
	v.chains, _ = rt.Part(chain.PartName).(*chain.Chains)
	return v
}

// service returns what the proxy needs of svc, decoded once per runtime.
func (v *view) service(svc *router.Service) *serviceInfo {
	if si, ok := v.services.Load(svc); ok {
		return si.(*serviceInfo)
	}
	si, _ := v.services.LoadOrStore(svc, newServiceInfo(svc))
	return si.(*serviceInfo)
}

// Kong's service defaults.
const (
	defaultTimeout = 60 * time.Second
	defaultRetries = 5
)

// serviceInfo is a service's upstream settings.
type serviceInfo struct {
	svc                                       *router.Service
	https                                     bool
	connectTimeout, writeTimeout, readTimeout time.Duration
	retries                                   int
	tlsVerify                                 bool
	tlsVerifyDepth                            int // -1: no limit
	caIDs                                     []string
	clientCert                                string
	tlsConfigs                                sync.Map // tlsKey → *tlsEntry
}

func newServiceInfo(svc *router.Service) *serviceInfo {
	rec := svc.Record
	si := &serviceInfo{
		svc:            svc,
		https:          svc.Protocol == "https",
		connectTimeout: millis(rec["connect_timeout"]),
		writeTimeout:   millis(rec["write_timeout"]),
		readTimeout:    millis(rec["read_timeout"]),
		retries:        defaultRetries,
		tlsVerifyDepth: -1,
	}
	if n, ok := toInt(rec["retries"]); ok {
		si.retries = n
	}
	si.tlsVerify, _ = rec["tls_verify"].(bool)
	if n, ok := toInt(rec["tls_verify_depth"]); ok {
		si.tlsVerifyDepth = n
	}
	if list, ok := rec["ca_certificates"].([]any); ok {
		for _, id := range list {
			if s, ok := id.(string); ok {
				si.caIDs = append(si.caIDs, s)
			}
		}
	}
	if ref, ok := rec["client_certificate"].(map[string]any); ok {
		si.clientCert, _ = ref["id"].(string)
	}
	return si
}

// millis reads a timeout in milliseconds; absent is Kong's default.
func millis(v any) time.Duration {
	n, ok := toInt(v)
	if !ok {
		return defaultTimeout
	}
	return time.Duration(n) * time.Millisecond
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		return int(n), true
	case json.Number:
		i, err := strconv.ParseInt(string(n), 10, 64)
		return int(i), err == nil
	}
	return 0, false
}

// tlsKey identifies an upstream TLS configuration.
type tlsKey struct{ serverName, clientCert string }

// tlsEntry is an upstream TLS configuration and its pool identity.
type tlsEntry struct {
	cfg  *tls.Config
	pool string
	err  error
}

// upstreamTLS returns the TLS configuration to reach serverName for svc:
// verification per tls_verify (with the service's ca_certificates, else
// the system roots) and tls_verify_depth, the client certificate clientCert
// (an upstream's, else the service's). Configurations are cached per
// runtime.
func (si *serviceInfo) upstreamTLS(certs *tlsterm.Store, serverName, upstreamCert string) *tlsEntry {
	cert := si.clientCert
	if upstreamCert != "" {
		cert = upstreamCert
	}
	k := tlsKey{serverName: serverName, clientCert: cert}
	if e, ok := si.tlsConfigs.Load(k); ok {
		return e.(*tlsEntry)
	}
	e := si.buildTLS(certs, k)
	actual, _ := si.tlsConfigs.LoadOrStore(k, e)
	return actual.(*tlsEntry)
}

func (si *serviceInfo) buildTLS(certs *tlsterm.Store, k tlsKey) *tlsEntry {
	cfg := &tls.Config{
		ServerName:         k.serverName,
		InsecureSkipVerify: !si.tlsVerify, //nolint:gosec // Kong's default: upstream certificates are verified only with tls_verify.
		NextProtos:         []string{"http/1.1"},
		MinVersion:         tls.VersionTLS12,
	}
	var pool strings.Builder
	fmt.Fprintf(&pool, "sni=%s verify=%t depth=%d", k.serverName, si.tlsVerify, si.tlsVerifyDepth)
	if si.tlsVerify {
		if len(si.caIDs) > 0 {
			if certs == nil {
				return &tlsEntry{err: errors.New("no TLS material for ca_certificates")}
			}
			roots, err := certs.CAPool(si.caIDs)
			if err != nil {
				return &tlsEntry{err: err}
			}
			cfg.RootCAs = roots
			fmt.Fprintf(&pool, " ca=%s", strings.Join(si.caIDs, ","))
		}
		if depth := si.tlsVerifyDepth; depth >= 0 {
			cfg.VerifyConnection = func(cs tls.ConnectionState) error {
				for _, chain := range cs.VerifiedChains {
					if len(chain)-1 <= depth {
						return nil
					}
				}
				return fmt.Errorf("certificate chain too long (tls_verify_depth %d)", depth)
			}
		}
	}
	if k.clientCert != "" {
		if certs == nil {
			return &tlsEntry{err: errors.New("no TLS material for client_certificate")}
		}
		c, ok := certs.ClientCertificate(k.clientCert)
		if !ok {
			return &tlsEntry{err: fmt.Errorf("client certificate %s not found", k.clientCert)}
		}
		cfg.Certificates = []tls.Certificate{*c}
		fmt.Fprintf(&pool, " cert=%s", k.clientCert)
	}
	return &tlsEntry{cfg: cfg, pool: pool.String()}
}
