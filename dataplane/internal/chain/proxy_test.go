package chain_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"gatehouse.dev/dataplane/internal/chain"
	"gatehouse.dev/dataplane/internal/gateway"
	"gatehouse.dev/dataplane/internal/pdk"
	"gatehouse.dev/dataplane/internal/plugins/acl"
	"gatehouse.dev/dataplane/internal/plugins/basicauth"
	"gatehouse.dev/dataplane/internal/plugins/keyauth"
	"gatehouse.dev/dataplane/internal/plugins/requesttermination"
	"gatehouse.dev/dataplane/internal/proxy"
	"gatehouse.dev/dataplane/internal/proxy/proxytest"
	"gatehouse.dev/shared/entity"
)

// serve runs the real proxy on the configuration c, with the auth
// plugins and request-termination, and returns its address.
func serve(t *testing.T, c *config) string {
	t.Helper()
	mgr := proxytest.Balancers(t)
	b := gateway.NewBuilder(catalog(), proxy.RouterExtension(nil), proxy.TLSExtension(nil), proxy.BalancerExtension(mgr),
		chain.NewExtension(chain.Options{Factories: []pdk.Factory{
			keyauth.Factory{}, basicauth.Factory{}, acl.Factory{}, requesttermination.Factory{},
		}}))
	rt, err := b.Build(context.Background(), c.set, c.set.Hash())
	if err != nil {
		t.Fatal(err)
	}
	return proxytest.Serve(t, gateway.NewHolder(rt), nil)
}

// upstreamEcho answers with the request headers it received, as JSON.
func upstreamEcho(t *testing.T) string {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"headers": r.Header, "uri": r.RequestURI})
	}))
	t.Cleanup(s.Close)
	return s.URL
}

type proxied struct {
	status  int
	header  http.Header
	message string              // an error body's message
	seen    map[string][]string // headers the upstream received
	uri     string
	// requestID: the body's request_id is the response's request id
	// (Kong's error bodies carry it).
	requestID bool
}

func send(t *testing.T, addr, path string, headers ...string) proxied {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	p := proxied{status: resp.StatusCode, header: resp.Header}
	var body struct {
		Message   string              `json:"message"`
		RequestID string              `json:"request_id"`
		Headers   map[string][]string `json:"headers"`
		URI       string              `json:"uri"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatalf("%s: body %q: %v", path, data, err)
	}
	p.message, p.seen, p.uri = body.Message, body.Headers, body.URI
	p.requestID = body.RequestID == resp.Header.Get("X-Kong-Request-Id") && body.RequestID != ""
	return p
}

// authConfig: a service behind the echo upstream; route /one with
// key-auth (hiding credentials) and an acl allowing "dev"; route /two
// with basic-auth; alice (acl "dev", key "alice-key", password "pw") and
// bob (acl "ops", key "bob-key"); a request-termination scoped to bob.
func authConfig(t *testing.T, upstream string) *config {
	t.Helper()
	c := newConfig(t)
	c.put(entity.Services, map[string]any{"id": serviceID, "name": "svc", "url": upstream})
	bob := "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
	c.put(entity.Consumers, map[string]any{"id": bob, "username": "bob"})
	for i, k := range [][3]string{{consumerID, "alice-key", "dev"}, {bob, "bob-key", "ops"}} {
		c.put(entity.KeyAuthCredentials, map[string]any{"id": keyIDs[i], "consumer": ref(k[0]), "key": k[1]})
		c.put(entity.ACLs, map[string]any{"consumer": ref(k[0]), "group": k[2]})
	}
	c.put(entity.BasicAuthCredentials, map[string]any{"consumer": ref(consumerID), "username": "alice", "password": "pw"})
	c.plugin("key-auth", map[string]any{"hide_credentials": true}, routeID)
	c.plugin("acl", map[string]any{"allow": []any{"dev"}}, routeID)
	c.plugin("basic-auth", map[string]any{}, otherRoute)
	c.plugin("request-termination", map[string]any{"status_code": 418, "message": "not for bob"}, "", "", bob)
	return c
}

var keyIDs = []string{"d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "e2f3a4b5-c6d7-4e8f-9a01-b2c3d4e5f6a7"}

func TestAuthPluginsThroughTheProxy(t *testing.T) {
	t.Parallel()
	addr := serve(t, authConfig(t, upstreamEcho(t)))

	r := send(t, addr, "/one")
	if r.status != 401 || r.message != "No API key found in request" || r.header.Get("WWW-Authenticate") != "Key" || !r.requestID {
		t.Errorf("no key: %d %q %v", r.status, r.message, r.header)
	}
	r = send(t, addr, "/one", "apikey", "wrong")
	if r.status != 401 || r.message != "Unauthorized" {
		t.Errorf("wrong key: %d %q", r.status, r.message)
	}
	r = send(t, addr, "/one?apikey=alice-key&x=1")
	if r.status != 200 || r.seen["X-Consumer-Username"][0] != "alice" || r.seen["X-Consumer-Groups"][0] != "dev" ||
		r.seen["X-Credential-Identifier"][0] != keyIDs[0] || r.uri != "/?x=1" {
		t.Errorf("alice: %d, upstream saw %s %v", r.status, r.uri, r.seen)
	}
	if _, sent := r.seen["Apikey"]; sent {
		t.Error("the key went upstream")
	}
	// bob authenticates, then the acl refuses him: the consumer-scoped
	// request-termination (lower priority) never runs.
	r = send(t, addr, "/one", "apikey", "bob-key")
	if r.status != 403 || r.message != "You cannot consume this service" || !r.requestID {
		t.Errorf("bob on /one: %d %q", r.status, r.message)
	}

	r = send(t, addr, "/two")
	if r.status != 401 || r.message != "Unauthorized" || r.header.Get("WWW-Authenticate") != `Basic realm="service"` || !r.requestID {
		t.Errorf("no credentials: %d %q %v", r.status, r.message, r.header)
	}
	r = send(t, addr, "/two", "Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:pw")))
	if r.status != 200 || r.seen["X-Consumer-Id"][0] != consumerID || r.seen["Authorization"] == nil {
		t.Errorf("alice on /two: %d %v", r.status, r.seen)
	}
}

func TestConsumerScopedPluginThroughTheProxy(t *testing.T) {
	t.Parallel()
	c := authConfig(t, upstreamEcho(t))
	third := "f3a4b5c6-d7e8-4f90-a1b2-c3d4e5f6a7b8"
	c.put(entity.Routes, map[string]any{"id": third, "paths": []any{"/three"}, "service": ref(serviceID)})
	c.plugin("key-auth", map[string]any{}, third)
	addr := serve(t, c)
	// key-auth (priority 1250) authenticates bob before
	// request-termination (2) resolves its configuration: bob's applies.
	if r := send(t, addr, "/three", "apikey", "bob-key"); r.status != 418 || r.message != "not for bob" {
		t.Errorf("bob: %d %q", r.status, r.message)
	}
	if r := send(t, addr, "/three", "apikey", "alice-key"); r.status != 200 || r.seen["X-Consumer-Username"][0] != "alice" {
		t.Errorf("alice: %d %v", r.status, r.seen)
	}
}
