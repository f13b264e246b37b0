package entity_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/schema"
)

// now is the fixed time of every write in these tests.
var now = time.Unix(1700000000, 123000000)

// Fixed ids used across the tests.
const (
	id1        = "6e4d2b1a-1c3f-4a5b-9c7d-0e1f2a3b4c5d"
	serviceID  = "5f6c1a7e-3b1d-4c8e-9a51-0d2b7f3e9c11"
	routeID    = "7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
	consumerID = "8b2c3d4e-5f6a-4b7c-9d8e-0f1a2b3c4d5e"
	groupID    = "9c3d4e5f-6a7b-4c8d-8e9f-1a2b3c4d5e6f"
	upstreamID = "0d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a"
	certID     = "1e5f6a7b-8c9d-4e0f-8a1b-3c4d5e6f7a8b"
)

// fakePlugins is a PluginSchemas with two plugins shaped like Kong's
// key-auth (which may not be scoped to a consumer) and rate-limiting.
type fakePlugins map[string]*schema.Schema

func (p fakePlugins) PluginSchema(name string) *schema.Schema { return p[name] }

func testPlugins() fakePlugins {
	return fakePlugins{
		"key-auth": {Name: "key-auth", Fields: []*schema.Field{
			schema.ForeignKey("consumer", "consumers").With(func(f *schema.Field) { f.EqNull = true }),
			schema.ProtocolsHTTP(),
			{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
				{Name: "key_names", Type: schema.Array, Required: true, Default: []any{"apikey"}, Elements: schema.HeaderName()},
				{Name: "hide_credentials", Type: schema.Boolean, Required: true, Default: false},
				{Name: "anonymous", Type: schema.String},
			}},
		}},
		"rate-limiting": {Name: "rate-limiting", Fields: []*schema.Field{
			schema.Protocols(),
			{Name: "config", Type: schema.Record, Required: true, Fields: []*schema.Field{
				{Name: "minute", Type: schema.Number, Gt: new(0.0)},
				{Name: "hour", Type: schema.Number, Gt: new(0.0)},
				{Name: "policy", Type: schema.String, Default: "local", OneOf: []any{"local", "redis"}},
				{Name: "redis", Type: schema.Record, Required: true, Fields: []*schema.Field{
					schema.Host("host"),
					schema.Port("port").With(func(f *schema.Field) { f.Default = int64(6379) }),
				}},
			}, EntityChecks: []schema.Check{{AtLeastOneOf: []string{"minute", "hour"}}}},
		}},
	}
}

// newCatalog returns a catalog with the fake plugins.
func newCatalog(tb testing.TB) *entity.Catalog {
	tb.Helper()
	c, err := entity.New(testPlugins())
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// mustJSON decodes a JSON object the way the Admin API does (numbers as
// json.Number).
func mustJSON(tb testing.TB, s string) map[string]any {
	tb.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		tb.Fatalf("bad test JSON %s: %v", s, err)
	}
	return m
}

// canonJSON re-encodes a JSON text so that two texts compare equal when
// their values do.
func canonJSON(tb testing.TB, s string) string {
	tb.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		tb.Fatalf("bad JSON %s: %v", s, err)
	}
	return marshal(tb, v)
}

func marshal(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// Certificates for the tests: generated once per run (key generation is
// slow under -race), except the fixed CA in testdata/pem that golden
// files pin.

var (
	keysOnce sync.Once
	keysErr  error
	rsaKey   *rsa.PrivateKey
	ecKey    *ecdsa.PrivateKey
	ecKey2   *ecdsa.PrivateKey
)

// testKeys returns an RSA key and two distinct ECDSA keys.
func testKeys(tb testing.TB) (*rsa.PrivateKey, *ecdsa.PrivateKey, *ecdsa.PrivateKey) {
	tb.Helper()
	keysOnce.Do(func() {
		if rsaKey, keysErr = rsa.GenerateKey(rand.Reader, 2048); keysErr != nil {
			return
		}
		if ecKey, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); keysErr != nil {
			return
		}
		ecKey2, keysErr = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	})
	if keysErr != nil {
		tb.Fatal(keysErr)
	}
	return rsaKey, ecKey, ecKey2
}

type certOptions struct {
	isCA     bool
	notAfter time.Time
}

// selfSigned returns a PEM certificate for key and the PEM of key.
func selfSigned(tb testing.TB, key crypto.Signer, opts certOptions) (certPEM, keyPEM string) {
	tb.Helper()
	if opts.notAfter.IsZero() {
		opts.notAfter = time.Now().Add(24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(2),
		Subject:               pkix.Name{CommonName: "test"},
		NotBefore:             opts.notAfter.Add(-48 * time.Hour),
		NotAfter:              opts.notAfter,
		IsCA:                  opts.isCA,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// fixedCA returns the CA certificate and key of testdata/pem (valid until
// 2125).
func fixedCA(tb testing.TB) (certPEM, keyPEM string) {
	tb.Helper()
	c, err := os.ReadFile("testdata/pem/ca.pem")
	if err != nil {
		tb.Fatal(err)
	}
	k, err := os.ReadFile("testdata/pem/ca-key.pem")
	if err != nil {
		tb.Fatal(err)
	}
	return string(c), string(k)
}
