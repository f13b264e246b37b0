package telemetry

import (
	"context"
	"errors"
	"fmt"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/resource"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"

	"gatehouse.dev/shared/version"
)

// newResource describes the service to the collector: the SDK and host
// attributes, service.name, service.version (version.Version),
// service.instance.id when instanceID is set, then OTEL_RESOURCE_ATTRIBUTES,
// which may override any of them (readSettings has already given
// OTEL_SERVICE_NAME precedence over service.name there).
func newResource(ctx context.Context, s settings, instanceID string) (*resource.Resource, error) {
	attrs := []attribute.KeyValue{
		semconv.ServiceName(s.serviceName),
		semconv.ServiceVersion(version.Version),
	}
	if instanceID != "" {
		attrs = append(attrs, semconv.ServiceInstanceID(instanceID))
	}
	// Later attributes win over earlier ones with the same key.
	attrs = append(attrs, s.attributes...)
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithHost(),
		resource.WithSchemaURL(semconv.SchemaURL),
		resource.WithAttributes(attrs...),
	)
	if err != nil && !errors.Is(err, resource.ErrPartialResource) {
		return nil, fmt.Errorf("build resource: %w", err)
	}
	return res, nil
}
