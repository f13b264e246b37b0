package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kong/go-kong/kong"
)

// adminTimeout bounds one Admin API call.
const adminTimeout = 10 * time.Second

// Admin is a client of one admin-api's Admin API. It is safe for
// concurrent use.
type Admin struct {
	// URL is the Admin API's base URL (http://127.0.0.1:<port>).
	URL  string
	http *http.Client
}

// NewAdmin returns a client for the Admin API at base URL u.
func NewAdmin(u string) *Admin {
	return &Admin{URL: u, http: &http.Client{Timeout: adminTimeout, Transport: &http.Transport{
		MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second,
	}}}
}

// Response is an HTTP answer, read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body as a JSON object (nil for an empty body).
func (r *Response) JSON() (map[string]any, error) {
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		return nil, fmt.Errorf("decode %q: %w", truncate(string(r.Body), 200), err)
	}
	return m, nil
}

// Do sends a request with body encoded as JSON (nil for none) and reads
// the answer.
func (a *Admin) Do(ctx context.Context, method, path string, body any) (*Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode body: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	return readResponse(resp, method, path)
}

// readResponse reads resp, the answer to method path; the caller closes
// its body.
func readResponse(resp *http.Response, method, path string) (*Response, error) {
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read %s %s: %w", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}, nil
}

// MustDo is Do that fails tb unless the answer has status want; it returns
// the decoded JSON body (nil when empty).
func (a *Admin) MustDo(tb testing.TB, method, path string, body any, want int) map[string]any {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Scaled(adminTimeout))
	defer cancel()
	resp, err := a.Do(ctx, method, path, body)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	if resp.Status != want {
		tb.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.Status, want, truncate(string(resp.Body), 500))
	}
	m, err := resp.JSON()
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	return m
}

// DataPlaneRow is one data plane in GET /clustering/data-planes.
type DataPlaneRow struct {
	ID          string            `json:"id"`
	Hostname    string            `json:"hostname"`
	IP          string            `json:"ip"`
	Version     string            `json:"version"`
	SyncStatus  string            `json:"sync_status"`
	ConfigHash  string            `json:"config_hash"`
	LastSeen    int64             `json:"last_seen"`
	UpdatedAt   int64             `json:"updated_at"`
	Labels      map[string]string `json:"labels"`
	CertDetails struct {
		ExpiryTimestamp int64 `json:"expiry_timestamp"`
	} `json:"cert_details"`
	RPCCapabilities []string `json:"rpc_capabilities"`
	TTL             int64    `json:"ttl"`
	Connected       bool     `json:"connected"`
	Revision        int64    `json:"revision"`
	LastError       *string  `json:"last_error"`
	HubID           *string  `json:"hub_id"`
}

// DataPlanes lists every data plane the control plane knows, following
// the pages.
func (a *Admin) DataPlanes(ctx context.Context) ([]DataPlaneRow, error) {
	var all []DataPlaneRow
	path := "/clustering/data-planes?size=1000"
	for path != "" {
		resp, err := a.Do(ctx, http.MethodGet, path, nil)
		if err != nil {
			return nil, err
		}
		if resp.Status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d: %s", path, resp.Status, truncate(string(resp.Body), 300))
		}
		var page struct {
			Data []DataPlaneRow `json:"data"`
			Next *string        `json:"next"`
		}
		if err := json.Unmarshal(resp.Body, &page); err != nil {
			return nil, fmt.Errorf("decode data planes: %w", err)
		}
		all = append(all, page.Data...)
		path = ""
		if page.Next != nil {
			path = *page.Next
		}
	}
	return all, nil
}

// DataPlane returns the row of the data plane id; ok is false when there
// is none.
func (a *Admin) DataPlane(ctx context.Context, id string) (row DataPlaneRow, ok bool, err error) {
	rows, err := a.DataPlanes(ctx)
	if err != nil {
		return DataPlaneRow{}, false, err
	}
	for _, r := range rows {
		if r.ID == id {
			return r, true, nil
		}
	}
	return DataPlaneRow{}, false, nil
}

// WaitDataPlane polls /clustering/data-planes until the row of data plane
// id satisfies cond (nil: it exists) and returns it; it fails tb after
// timeout.
func (a *Admin) WaitDataPlane(tb testing.TB, id string, timeout time.Duration, cond func(DataPlaneRow) error) DataPlaneRow {
	tb.Helper()
	var row DataPlaneRow
	Eventually(tb, timeout, "data plane "+id+" in /clustering/data-planes", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		r, ok, err := a.DataPlane(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no row for %s", id)
		}
		row = r
		if cond != nil {
			return cond(r)
		}
		return nil
	})
	return row
}

// Status is GET /status: the database's reachability.
func (a *Admin) Status(ctx context.Context) (reachable bool, err error) {
	resp, err := a.Do(ctx, http.MethodGet, "/status", nil)
	if err != nil {
		return false, err
	}
	if resp.Status != http.StatusOK {
		return false, fmt.Errorf("GET /status: %d", resp.Status)
	}
	var st struct {
		Database struct {
			Reachable bool `json:"reachable"`
		} `json:"database"`
	}
	if err := json.Unmarshal(resp.Body, &st); err != nil {
		return false, err
	}
	return st.Database.Reachable, nil
}

// Kong returns a go-kong client of this Admin API: Kong's own Go client,
// as Kong users' tools (decK, the Terraform provider) use it.
func (a *Admin) Kong(tb testing.TB) *kong.Client {
	tb.Helper()
	c, err := kong.NewClient(new(a.URL), a.http)
	if err != nil {
		tb.Fatalf("go-kong client: %v", err)
	}
	return c
}

func truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
