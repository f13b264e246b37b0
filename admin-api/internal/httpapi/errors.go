package httpapi

import (
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"gatehouse.dev/admin-api/internal/admin"
	"gatehouse.dev/shared/schema"
)

// httpError is an answer the HTTP layer decides itself: a status with a
// {"message": ...} body, or no body at all (415, as Kong answers it).
type httpError struct {
	status  int
	message string
	noBody  bool
}

func (e *httpError) Error() string { return e.message }

func errorf(status int, msg string) *httpError { return &httpError{status: status, message: msg} }

// Messages of the answers the HTTP layer gives, Kong's where Kong has one.
const (
	msgNotFound         = "Not found"
	msgMethodNotAllowed = "Method not allowed"
	msgUnexpected       = "An unexpected error occurred"
	msgUnavailable      = "The database is unavailable; try again later"
	msgUnauthorized     = "Invalid authentication credentials"
)

// unavailable reports errors that mean the database cannot be reached or
// did not answer in time. A connection cut in the middle of a query ends
// in io.ErrUnexpectedEOF, which the store does not mark.
func unavailable(err error) bool {
	return errors.Is(err, admin.ErrUnavailable) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// probeTimeout bounds the database check made before answering 500.
const probeTimeout = time.Second

// databaseDown checks, after an unexpected error, whether the database
// answers: an error caused by an outage is then answered 503, not 500.
func (a *API) databaseDown(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
	defer cancel()
	return a.svc.Ping(ctx) != nil
}

// writeError answers err: this is the one place where errors become
// statuses and bodies. Kong's DAO errors keep their shape; anything
// unexpected is a 500 with Kong's generic message and a log line, so no
// input can show internals.
func (a *API) writeError(c echo.Context, err error) {
	if c.Response().Committed {
		return
	}
	var (
		se  *schema.Error
		me  *admin.MessageError
		he  *httpError
		ee  *echo.HTTPError
		mbe *http.MaxBytesError
	)
	status, body := http.StatusInternalServerError, any(messageBody{msgUnexpected})
	switch {
	case errors.As(err, &se):
		status = se.HTTPStatus()
		if status == http.StatusInternalServerError {
			a.log.ErrorContext(c.Request().Context(), "unexpected DAO error", "error", err, "code", se.Code, "path", c.Request().URL.Path)
			body = messageBody{msgUnexpected}
		} else {
			body = se
		}
	case errors.Is(err, admin.ErrNotFound):
		status, body = http.StatusNotFound, messageBody{msgNotFound}
	case errors.Is(err, admin.ErrMethodNotAllowed):
		status, body = http.StatusMethodNotAllowed, messageBody{msgMethodNotAllowed}
	case errors.As(err, &me):
		status, body = me.Status, messageBody{me.Message}
		if status == http.StatusNotModified {
			_ = c.NoContent(status)
			return
		}
	case errors.As(err, &he):
		if he.noBody {
			_ = c.NoContent(he.status)
			return
		}
		status, body = he.status, messageBody{he.message}
	case errors.As(err, &mbe):
		status, body = http.StatusRequestEntityTooLarge, messageBody{tooLarge(mbe.Limit)}
	case unavailable(err) || !isKnown(err) && a.databaseDown(c.Request().Context()):
		a.metrics.storeError("unavailable")
		a.log.WarnContext(c.Request().Context(), "database unavailable", "error", err, "path", c.Request().URL.Path)
		status, body = http.StatusServiceUnavailable, messageBody{msgUnavailable}
	case errors.As(err, &ee):
		status = ee.Code
		switch status {
		case http.StatusNotFound:
			body = messageBody{msgNotFound}
		case http.StatusMethodNotAllowed:
			body = messageBody{msgMethodNotAllowed}
		case http.StatusRequestEntityTooLarge:
			body = messageBody{tooLarge(a.maxBody)}
		default:
			if status >= 500 {
				status = http.StatusInternalServerError
				a.log.ErrorContext(c.Request().Context(), "unexpected error", "error", err, "path", c.Request().URL.Path)
				body = messageBody{msgUnexpected}
			} else {
				body = messageBody{http.StatusText(status)}
			}
		}
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads the answer.
		status, body = 499, messageBody{"Client closed the request"}
	default:
		a.metrics.storeError("other")
		a.log.ErrorContext(c.Request().Context(), "unexpected error", "error", err,
			"method", c.Request().Method, "path", c.Request().URL.Path)
	}
	if err := writeJSON(c, status, body); err != nil {
		a.log.DebugContext(c.Request().Context(), "write error answer", "error", err)
	}
}

// isKnown reports errors whose answer does not depend on the database's
// health.
func isKnown(err error) bool {
	var se *schema.Error
	var ee *echo.HTTPError
	return errors.As(err, &se) || errors.As(err, &ee) || errors.Is(err, context.Canceled)
}

func tooLarge(limit int64) string {
	return "Request body too large: the limit is " + itoa(limit) + " bytes"
}
