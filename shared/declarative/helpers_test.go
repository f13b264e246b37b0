package declarative_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"sync"
	"testing"
	"time"

	"gatehouse.dev/shared/declarative"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
)

// now is the time every test parses with, so timestamps are stable.
var now = time.Unix(1700000000, 0)

var testCatalog = sync.OnceValues(func() (*entity.Catalog, error) {
	set, err := plugin.Load("bundled")
	if err != nil {
		return nil, err
	}
	return entity.New(set)
})

func catalog(tb testing.TB) *entity.Catalog {
	tb.Helper()
	cat, err := testCatalog()
	if err != nil {
		tb.Fatalf("catalog: %v", err)
	}
	return cat
}

func parse(tb testing.TB, src string) *declarative.Config {
	tb.Helper()
	cfg, err := declarative.Parse([]byte(src), catalog(tb), declarative.Options{Now: now})
	if err != nil {
		tb.Fatalf("Parse: %s", errorJSON(tb, err))
	}
	return cfg
}

// parseError parses src, which must fail, and returns the error.
func parseError(tb testing.TB, src string, opts declarative.Options) *schema.Error {
	tb.Helper()
	if opts.Now.IsZero() {
		opts.Now = now
	}
	_, err := declarative.Parse([]byte(src), catalog(tb), opts)
	if err == nil {
		tb.Fatalf("Parse succeeded, want an error")
	}
	var serr *schema.Error
	if !errors.As(err, &serr) {
		tb.Fatalf("Parse error is %T, want *schema.Error", err)
	}
	if serr.Code != schema.CodeDeclarativeConfig || serr.Name != "invalid declarative configuration" {
		tb.Fatalf("error code %d name %q, want 14 and invalid declarative configuration", serr.Code, serr.Name)
	}
	return serr
}

func errorJSON(tb testing.TB, err error) string {
	tb.Helper()
	b, jerr := json.Marshal(err)
	if jerr != nil {
		return err.Error()
	}
	return string(b)
}

// canonical re-encodes JSON text or a value as compact JSON with sorted
// keys, so that documents compare by content.
func canonical(tb testing.TB, v any) string {
	tb.Helper()
	if s, ok := v.(string); ok {
		var decoded any
		if err := json.Unmarshal([]byte(s), &decoded); err != nil {
			tb.Fatalf("invalid JSON %q: %v", s, err)
		}
		v = decoded
	}
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	var decoded any
	if err := json.Unmarshal(b, &decoded); err != nil {
		tb.Fatalf("unmarshal: %v", err)
	}
	b, err = json.Marshal(decoded)
	if err != nil {
		tb.Fatalf("marshal: %v", err)
	}
	return string(b)
}

// byName returns the entity of type typ whose field is value.
func byName(tb testing.TB, cfg *declarative.Config, typ, field string, value any) map[string]any {
	tb.Helper()
	for _, e := range cfg.Entities(typ) {
		if schema.Equal(e[field], value) {
			return e
		}
	}
	tb.Fatalf("no %s with %s=%v", typ, field, value)
	return nil
}

func fkID(tb testing.TB, e map[string]any, field string) string {
	tb.Helper()
	m, ok := e[field].(map[string]any)
	if !ok {
		tb.Fatalf("%s is %#v, want {id: ...}", field, e[field])
	}
	id, _ := m["id"].(string)
	return id
}

// testCert is a self-signed ECDSA certificate and its key, in PEM.
var testCert = sync.OnceValues(func() (string, string) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.com"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		DNSNames:     []string{"example.com"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		panic(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
})
