package httpapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/entity"
	"gatehouse.dev/shared/plugin"
	"gatehouse.dev/shared/schema"
	"gatehouse.dev/shared/store"
	"gatehouse.dev/shared/store/storetest"
)

func newInternalAPI(t *testing.T) *API {
	t.Helper()
	plugins, err := plugin.Load("bundled")
	if err != nil {
		t.Fatal(err)
	}
	cat, err := entity.New(plugins)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(context.Background(), storetest.NewMigrated(t), cat, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return New(Options{Service: admin.New(st, plugins, admin.Options{Logger: log}), Logger: log})
}

// TestWriteError pins the one place errors become answers, for the
// errors no request can provoke.
func TestWriteError(t *testing.T) {
	t.Parallel()
	a := newInternalAPI(t)
	tests := []struct {
		name   string
		err    error
		status int
		body   string
	}{
		{"code 8 database error", schema.DatabaseError("relation does not exist"), 500, `{"message":"An unexpected error occurred"}`},
		{"code 15 transformation", schema.TransformationError("boom"), 500, `{"message":"An unexpected error occurred"}`},
		{"code 16 invalid foreign key", &schema.Error{Code: schema.CodeInvalidForeignKey, Name: "invalid foreign key", Message: "x"}, 500, `{"message":"An unexpected error occurred"}`},
		{
			"code 12 operation unsupported", schema.OperationUnsupported("cannot create 'services' entities when not using a database"), 405,
			`{"code":12,"name":"operation unsupported","message":"cannot create 'services' entities when not using a database"}`,
		},
		{"unknown error", errors.New("secret internals"), 500, `{"message":"An unexpected error occurred"}`},
		{"wrapped not found", fmt.Errorf("x: %w", admin.ErrNotFound), 404, `{"message":"Not found"}`},
		{"unavailable", fmt.Errorf("read: %w", admin.ErrUnavailable), 503, `{"message":"The database is unavailable; try again later"}`},
		{"cut connection", fmt.Errorf("list: %w", io.ErrUnexpectedEOF), 503, `{"message":"The database is unavailable; try again later"}`},
		{"message", &admin.MessageError{Status: 409, Message: "taken"}, 409, `{"message":"taken"}`},
		{"too large", &http.MaxBytesError{Limit: 10}, 413, `{"message":"Request body too large: the limit is 10 bytes"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/x", nil)
			rec := httptest.NewRecorder()
			a.writeError(a.e.NewContext(req, rec), tt.err)
			if rec.Code != tt.status || rec.Body.String() != tt.body {
				t.Errorf("got %d %s, want %d %s", rec.Code, rec.Body.String(), tt.status, tt.body)
			}
		})
	}
}

// TestPanicIsA500 checks that a panicking handler answers Kong's generic
// 500 and that the server keeps serving.
func TestPanicIsA500(t *testing.T) {
	t.Parallel()
	a := newInternalAPI(t)
	a.e.GET("/boom", func(echoContext) error { panic("kaboom") }, a.recover)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/boom", nil))
	if rec.Code != 500 || rec.Body.String() != `{"message":"An unexpected error occurred"}` {
		t.Errorf("panic answered %d %s", rec.Code, rec.Body.String())
	}
	rec = httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/endpoints", nil))
	if rec.Code != 200 {
		t.Errorf("after a panic: %d", rec.Code)
	}
}

type echoContext = echo.Context
