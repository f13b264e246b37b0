package httpapi_test

import (
	"bytes"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"testing"
)

func TestFormBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	// Types inferred from the schema: integers, booleans, sets from one
	// value or repeated keys or [] or [n], and empty strings as null.
	svc := must(t, s.form(http.MethodPost, "/services", url.Values{
		"name": {"svc"}, "host": {"a.example"}, "port": {"8080"}, "retries": {"0x0A"},
		"enabled": {"false"}, "tags[]": {"t1", "t2"}, "path": {""},
	}), http.StatusCreated)
	want := map[string]any{"port": 8080, "retries": 10, "enabled": false, "tags": []any{"t1", "t2"}, "path": nil}
	for k, v := range want {
		if !jsonEqual(svc.obj()[k], v) {
			t.Errorf("service %s = %v, want %v", k, svc.obj()[k], v)
		}
	}
	route := must(t, s.request(http.MethodPost, "/routes",
		"name=r&paths[1]=/a&paths[2]=/b&methods=GET&methods=POST&service.name=svc&strip_path=true&headers.x-foo=bar&headers[x-baz]=qux",
		"application/x-www-form-urlencoded"), http.StatusCreated)
	for k, v := range map[string]any{
		"paths": []any{"/a", "/b"}, "methods": []any{"GET", "POST"}, "strip_path": true,
		"service": map[string]any{"id": svc.id()},
		"headers": map[string]any{"x-foo": []any{"bar"}, "x-baz": []any{"qux"}},
	} {
		if !jsonEqual(route.obj()[k], v) {
			t.Errorf("route %s = %v, want %v", k, route.obj()[k], v)
		}
	}
	// A plugin's config is inferred with the plugin's schema.
	p := must(t, s.form(http.MethodPost, "/plugins", url.Values{
		"name": {"rate-limiting"}, "config.minute": {"5"}, "config.fault_tolerant": {"false"}, "config.redis.port": {"6380"},
	}), http.StatusCreated)
	cfg := p.obj()["config"].(map[string]any)
	if !jsonEqual(cfg["minute"], 5) || cfg["fault_tolerant"] != false || !jsonEqual(cfg["redis"].(map[string]any)["port"], 6380) {
		t.Errorf("plugin config: %s", p.raw)
	}
	// PATCH learns the plugin's name from the stored plugin.
	p = must(t, s.form(http.MethodPatch, "/plugins/"+p.id(), url.Values{"config.hour": {"60"}}), http.StatusOK)
	cfg = p.obj()["config"].(map[string]any)
	if !jsonEqual(cfg["hour"], 60) || !jsonEqual(cfg["minute"], 5) {
		t.Errorf("patched config: %s", p.raw)
	}
	// An empty value clears a field.
	r := must(t, s.form(http.MethodPatch, "/services/svc", url.Values{"tags": {""}}), http.StatusOK)
	if r.obj()["tags"] != nil {
		t.Errorf("tags not cleared: %s", r.raw)
	}
	// A value that does not convert is reported by validation.
	r = must(t, s.form(http.MethodPatch, "/services/svc", url.Values{"port": {"eighty"}}), http.StatusBadRequest)
	if r.obj()["message"] != "schema violation (port: expected an integer)" {
		t.Errorf("bad integer: %s", r.raw)
	}
	// key-auth's ttl option from a form.
	must(t, s.post("/consumers", map[string]any{"username": "alice"}), http.StatusCreated)
	k := must(t, s.form(http.MethodPost, "/consumers/alice/key-auth", url.Values{"key": {"k1"}, "ttl": {"100"}}), http.StatusCreated)
	if ttl, _ := k.obj()["ttl"].(json.Number).Int64(); ttl < 99 || ttl > 100 {
		t.Errorf("ttl from a form: %s", k.raw)
	}
	// Foreign keys by endpoint key from a form.
	must(t, s.form(http.MethodPost, "/plugins", url.Values{"name": {"cors"}, "route.name": {"r"}}), http.StatusCreated)
	r = must(t, s.form(http.MethodPost, "/plugins", url.Values{"name": {"cors"}, "service.name": {"nope"}}), http.StatusBadRequest)
	if r.obj()["code"] != json.Number("13") {
		t.Errorf("unresolved foreign key in a form: %s", r.raw)
	}
}

func TestMultipartBodies(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.WriteField("name", "svc")
	_ = w.WriteField("host", "a.example")
	_ = w.WriteField("port", "81")
	_ = w.WriteField("tags", "one")
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="ca_certificates"`)
	h.Set("Content-Type", "application/json")
	part, _ := w.CreatePart(h)
	_, _ = part.Write([]byte(`null`))
	_ = w.Close()
	r := must(t, s.request(http.MethodPost, "/services", buf.Bytes(), w.FormDataContentType()), http.StatusCreated)
	if !jsonEqual(r.obj()["port"], 81) || !jsonEqual(r.obj()["tags"], []any{"one"}) || r.str("host") != "a.example" {
		t.Errorf("multipart service: %s", r.raw)
	}
	// A certificate's PEM files as multipart file parts.
	cert, key := certPEM(t, false)
	buf.Reset()
	w = multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("cert", "cert.pem")
	_, _ = fw.Write([]byte(cert))
	fw, _ = w.CreateFormFile("key", "key.pem")
	_, _ = fw.Write([]byte(key))
	_ = w.WriteField("snis[]", "a.example.com")
	_ = w.Close()
	r = must(t, s.request(http.MethodPost, "/certificates", buf.Bytes(), w.FormDataContentType()), http.StatusCreated)
	if !jsonEqual(r.obj()["snis"], []any{"a.example.com"}) {
		t.Errorf("multipart certificate: %s", r.raw)
	}
	// Without a boundary.
	must(t, s.request(http.MethodPost, "/services", "x", "multipart/form-data"), http.StatusBadRequest)
}
