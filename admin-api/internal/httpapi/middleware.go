package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"gatehouse.dev/shared/version"
)

// routeKey is the context key under which a matched handler records its
// route template.
const routeKey = "gatehouse.route"

// tracerName names the tracer of the server spans.
const tracerName = "gatehouse.dev/admin-api/internal/httpapi"

// headers sets the headers Kong's Admin API sends on every answer:
// Server, X-Kong-Admin-Latency and CORS (plus X-Gatehouse-Version).
func (a *API) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		res := c.Response()
		h := res.Header()
		h.Set("Server", "kong/"+version.KongLevel)
		h.Set("X-Gatehouse-Version", version.Version)
		origin := c.Request().Header.Get("Origin")
		if origin == "" {
			origin = "*"
		} else {
			h.Add("Vary", "Origin")
		}
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		res.Before(func() {
			h.Set("X-Kong-Admin-Latency", strconv.FormatInt(time.Since(start).Milliseconds(), 10))
		})
		return next(c)
	}
}

// observe makes the request's server span and metrics, and answers
// errors (writeError) so that the status is known when they are
// recorded. Store queries made while serving become child spans, and a
// write's revision records the span's trace context.
func (a *API) observe(next echo.HandlerFunc) echo.HandlerFunc {
	tracer := otel.Tracer(tracerName)
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		ctx := otel.GetTextMapPropagator().Extract(req.Context(), propagation.HeaderCarrier(req.Header))
		ctx, span := tracer.Start(ctx, req.Method,
			trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(
				attribute.String("http.request.method", req.Method),
				attribute.String("url.path", req.URL.Path),
				attribute.String("client.address", c.RealIP()),
			))
		defer span.End()
		c.SetRequest(req.WithContext(ctx))
		a.conns.requests.Add(1)

		if err := next(c); err != nil {
			a.writeError(c, err)
			if c.Response().Status >= http.StatusInternalServerError {
				span.RecordError(err)
			}
		}
		status := c.Response().Status
		route, _ := c.Get(routeKey).(string)
		if route == "" {
			route = "unmatched"
		} else {
			span.SetName(req.Method + " " + route)
		}
		span.SetAttributes(attribute.String("http.route", route), attribute.Int("http.response.status_code", status))
		if status >= http.StatusInternalServerError {
			span.SetStatus(codes.Error, http.StatusText(status))
		}
		a.metrics.request(req.Method, route, status, time.Since(start))
		a.log.DebugContext(ctx, "request", "method", req.Method, "path", req.URL.Path, "status", status,
			"duration_ms", time.Since(start).Milliseconds(), "remote", c.RealIP())
		return nil
	}
}

// recover turns a panic into a 500 with Kong's generic message and a log
// line with the stack.
func (a *API) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				a.log.ErrorContext(c.Request().Context(), "panic serving request", "panic", fmt.Sprint(r),
					"method", c.Request().Method, "path", c.Request().URL.Path, "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

// authenticate requires the admin token, when one is configured, in the
// Kong-Admin-Token header (or as a bearer token, which Prometheus can
// send), compared in constant time. OPTIONS requests pass: browsers send
// preflights without custom headers, and they reveal only the methods.
func (a *API) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if a.token == nil || c.Request().Method == http.MethodOptions {
			return next(c)
		}
		given := c.Request().Header.Get("Kong-Admin-Token")
		if given == "" {
			if auth := c.Request().Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
				given = auth[7:]
			}
		}
		// Hashing first makes the comparison independent of the lengths.
		want := sha256.Sum256(a.token)
		got := sha256.Sum256([]byte(given))
		if given == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			return errorf(http.StatusUnauthorized, msgUnauthorized)
		}
		return next(c)
	}
}

// limitArgs refuses more than maxArgs query arguments (Kong: "Too many
// arguments").
func (a *API) limitArgs(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if q := c.Request().URL.RawQuery; q != "" && strings.Count(q, "&") >= maxArgs {
			n := 0
			for p := range strings.SplitSeq(q, "&") {
				if p != "" {
					n++
				}
			}
			if n > maxArgs {
				return errTooManyArgs
			}
		}
		return next(c)
	}
}
