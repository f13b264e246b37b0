package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
)

// peerCN dials the TLS listener with sni and returns the certificate's
// common name.
func peerCN(t *testing.T, addr, sni string) string {
	t.Helper()
	d := tls.Dialer{Config: &tls.Config{ServerName: sni, InsecureSkipVerify: true}} //nolint:gosec // reads the certificate only
	c, err := d.DialContext(t.Context(), "tcp", addr)
	if err != nil {
		t.Fatalf("dial with SNI %q: %v", sni, err)
	}
	defer func() { _ = c.Close() }()
	return c.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName
}

func TestTLSTerminationBySNI(t *testing.T) {
	t.Parallel()
	h := start(t)
	ca := newCA(t)
	for _, name := range []string{"api.example.com", "*.wild.example.com", "www.example.*"} {
		c, k, _ := ca.issue(t, strings.ReplaceAll(name, "*", "star"), x509.ExtKeyUsageServerAuth)
		id := h.add(entity.Certificates, map[string]any{"cert": c, "key": k})
		h.add(entity.SNIs, map[string]any{"name": name, "certificate": map[string]any{"id": id}})
	}
	up := echoServer(t, "a")
	h.service(up.URL, nil, map[string]any{"paths": []any{"/sni"}, "snis": []any{"api.example.com"}})
	h.apply()

	tests := []struct{ sni, want string }{
		{"api.example.com", "api.example.com"},
		{"x.wild.example.com", "star.wild.example.com"},
		{"www.example.org", "www.example.star"},
		{"other.test", "localhost"}, // the default, self-signed
		{"", "localhost"},
	}
	for _, tt := range tests {
		if got := peerCN(t, h.secure, tt.sni); got != tt.want {
			t.Errorf("SNI %q: certificate %q, want %q", tt.sni, got, tt.want)
		}
	}

	// The route's snis are checked over TLS.
	for sni, want := range map[string]int{"api.example.com": http.StatusOK, "x.wild.example.com": http.StatusNotFound} {
		c := tlsClient(sni, false)
		resp, _ := do(t, c, mustRequest(t, http.MethodGet, "https://"+h.secure+"/sni", nil))
		if resp.StatusCode != want {
			t.Errorf("SNI %s: status %d, want %d", sni, resp.StatusCode, want)
		}
	}
}

// tlsClient talks to the TLS listener with sni, over HTTP/2 when h2.
func tlsClient(sni string, h2 bool) *http.Client {
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true} //nolint:gosec // the proxy's test certificates
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: h2, DisableCompression: true}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func mustRequest(tb testing.TB, method, url string, body io.Reader) *http.Request {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), method, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	return req
}

func TestHTTP2OverTLS(t *testing.T) {
	t.Parallel()
	h := start(t)
	up := echoServer(t, "a")
	h.service(up.URL, nil, map[string]any{"paths": []any{"/h2"}})
	h.apply()
	c := tlsClient("localhost", true)
	resp, body := do(t, c, mustRequest(t, http.MethodPost, "https://"+h.secure+"/h2/x?y=1", strings.NewReader("hello over h2")))
	if resp.ProtoMajor != 2 {
		t.Fatalf("protocol %s, want HTTP/2", resp.Proto)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	e := decodeEcho(t, body)
	if e.URI != "/x?y=1" || e.Body != len("hello over h2") || e.Method != http.MethodPost {
		t.Errorf("upstream saw %+v", e)
	}
	if got := header(e, "X-Forwarded-Proto"); got != "https" {
		t.Errorf("X-Forwarded-Proto %q", got)
	}
	if got := header(e, "Via"); !strings.HasPrefix(got, "2 gatehouse/") {
		t.Errorf("Via %q, want the client's HTTP/2", got)
	}
	if resp.Header.Get("X-Kong-Request-Id") == "" || resp.Header.Get("Via") == "" {
		t.Errorf("Kong's headers missing: %v", resp.Header)
	}
	// Errors too.
	resp, body = do(t, c, mustRequest(t, http.MethodGet, "https://"+h.secure+"/none", nil))
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "no Route matched") {
		t.Errorf("h2 404: %d %s", resp.StatusCode, body)
	}
}

// tlsUpstream starts an echo upstream serving cert; clientCAs, when set,
// require a client certificate they signed.
func tlsUpstream(t *testing.T, cert tls.Certificate, clientCAs *x509.CertPool) string {
	t.Helper()
	s := httptest.NewUnstartedServer(echoHandler("tls"))
	s.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.Config.ErrorLog = log.New(io.Discard, "", 0)
	if clientCAs != nil {
		s.TLS.ClientCAs = clientCAs
		s.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	}
	s.StartTLS()
	t.Cleanup(s.Close)
	_, port, _ := net.SplitHostPort(s.Listener.Addr().String())
	return "https://127.0.0.1:" + port
}

func TestUpstreamTLS(t *testing.T) {
	t.Parallel()
	h := start(t)
	ca := newCA(t)
	_, _, serverCert := ca.issue(t, "127.0.0.1", x509.ExtKeyUsageServerAuth)
	plainTLS := tlsUpstream(t, serverCert, nil)
	mutual := tlsUpstream(t, serverCert, ca.pool())
	caID := h.add(entity.CACertificates, map[string]any{"cert": ca.PEM})
	cc, ck, _ := ca.issue(t, "gatehouse-client", x509.ExtKeyUsageClientAuth)
	clientID := h.add(entity.Certificates, map[string]any{"cert": cc, "key": ck})
	verify := map[string]any{"tls_verify": true, "ca_certificates": []any{caID}, "retries": int64(0)}
	clone := func(m map[string]any, extra map[string]any) map[string]any {
		out := maps.Clone(m)
		maps.Copy(out, extra)
		return out
	}
	h.service(plainTLS, clone(verify, nil), map[string]any{"paths": []any{"/verified"}})
	h.service(plainTLS, map[string]any{"tls_verify": true, "retries": int64(0)}, map[string]any{"paths": []any{"/system-roots"}})
	h.service(plainTLS, clone(verify, map[string]any{"tls_verify_depth": int64(0)}), map[string]any{"paths": []any{"/too-deep"}})
	h.service(plainTLS, map[string]any{"retries": int64(0)}, map[string]any{"paths": []any{"/unverified"}})
	h.service(mutual, clone(verify, map[string]any{"client_certificate": map[string]any{"id": clientID}}), map[string]any{"paths": []any{"/mtls"}})
	h.service(mutual, clone(verify, nil), map[string]any{"paths": []any{"/no-client-cert"}})
	h.apply()

	tests := []struct {
		path string
		want int
	}{
		{"/verified", 200},
		{"/system-roots", 502},
		{"/too-deep", 502},
		{"/unverified", 200},
		{"/mtls", 200},
		{"/no-client-cert", 502},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			t.Parallel()
			resp, body := get(t, h.url(tt.path))
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 200 && !decodeEcho(t, body).TLS {
				t.Error("the upstream did not see TLS")
			}
		})
	}
}
