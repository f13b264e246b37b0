package telemetry_test

import (
	"compress/gzip"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// export is one request received by a test collector.
type export struct {
	path   string
	header http.Header // HTTP headers, or gRPC metadata
	req    *coltracepb.ExportTraceServiceRequest
}

// collector is an OTLP trace receiver for tests: it keeps every request.
type collector struct {
	coltracepb.UnimplementedTraceServiceServer

	mu      sync.Mutex
	exports []export
	errs    []error
}

func (c *collector) add(e export, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.errs = append(c.errs, err)
		return
	}
	c.exports = append(c.exports, e)
}

// received returns the requests so far, failing t on a request the
// collector could not decode.
func (c *collector) received(t *testing.T) []export {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, err := range c.errs {
		t.Errorf("collector: %v", err)
	}
	return append([]export(nil), c.exports...)
}

// ServeHTTP receives OTLP/HTTP in protobuf or JSON.
func (c *collector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			c.add(export{}, err)
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		body = zr
	}
	data, err := io.ReadAll(body)
	if err != nil {
		c.add(export{}, err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &coltracepb.ExportTraceServiceRequest{}
	ct := r.Header.Get("Content-Type")
	switch ct {
	case "application/json":
		// OTLP/JSON writes IDs in hex, which protojson reads as base64:
		// names and attributes, which the tests check, decode correctly.
		err = protojson.UnmarshalOptions{DiscardUnknown: true}.Unmarshal(data, req)
	default:
		err = proto.Unmarshal(data, req)
	}
	c.add(export{path: r.URL.Path, header: r.Header.Clone(), req: req}, err)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(http.StatusOK)
}

// Export receives OTLP/gRPC.
func (c *collector) Export(ctx context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	header := http.Header{}
	for k, vs := range md {
		for _, v := range vs {
			header.Add(k, v)
		}
	}
	c.add(export{header: header, req: req}, nil)
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// newHTTPCollector starts an OTLP/HTTP collector and returns its base URL.
func newHTTPCollector(t *testing.T) (*collector, string) {
	t.Helper()
	c := &collector{}
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	return c, srv.URL
}

// newGRPCCollector starts an OTLP/gRPC collector and returns its URL.
func newGRPCCollector(t *testing.T) (*collector, string) {
	t.Helper()
	lis, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, c)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-done; err != nil {
			t.Errorf("grpc serve: %v", err)
		}
	})
	return c, "http://" + lis.Addr().String()
}

// spanNames lists the names of the spans in exports, in order.
func spanNames(exports []export) []string {
	var names []string
	for _, e := range exports {
		for _, rs := range e.req.GetResourceSpans() {
			for _, ss := range rs.GetScopeSpans() {
				for _, s := range ss.GetSpans() {
					names = append(names, s.GetName())
				}
			}
		}
	}
	return names
}

// resourceAttributes returns the string attributes of the first resource
// in exports.
func resourceAttributes(exports []export) map[string]string {
	attrs := make(map[string]string)
	if len(exports) == 0 || len(exports[0].req.GetResourceSpans()) == 0 {
		return attrs
	}
	for _, kv := range exports[0].req.GetResourceSpans()[0].GetResource().GetAttributes() {
		attrs[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	return attrs
}
