// Package telemetry sets up OpenTelemetry tracing for a Gatehouse service
// and carries trace context through channels that are not HTTP requests.
//
// Every service calls [Setup] once at start-up and [Telemetry.Shutdown] on
// exit. Setup installs the global TracerProvider and the W3C TraceContext and
// Baggage propagators, configured by the standard OpenTelemetry environment
// variables:
//
//	OTEL_SDK_DISABLED                     "true" installs no SDK (propagation still works)
//	OTEL_TRACES_EXPORTER                  otlp or none; unset means otlp when an endpoint is set
//	OTEL_EXPORTER_OTLP_ENDPOINT           base URL; traces go to <base>/v1/traces (HTTP)
//	OTEL_EXPORTER_OTLP_TRACES_ENDPOINT    full URL, used as-is; wins over the base URL
//	OTEL_EXPORTER_OTLP_PROTOCOL           http/protobuf (default), http/json or grpc
//	OTEL_EXPORTER_OTLP_TRACES_PROTOCOL    wins over OTEL_EXPORTER_OTLP_PROTOCOL
//	OTEL_EXPORTER_OTLP_HEADERS            k1=v1,k2=v2 (values percent-decoded)
//	OTEL_EXPORTER_OTLP_TRACES_HEADERS     replaces OTEL_EXPORTER_OTLP_HEADERS when set
//	OTEL_SERVICE_NAME                     overrides the service name passed to Setup
//	OTEL_RESOURCE_ATTRIBUTES              k1=v1,k2=v2 added to the resource
//
// These are read through the getenv function given with [WithGetenv]
// (os.Getenv by default) and passed to the SDK as explicit options, so tests
// need not touch the process environment. Variables this package does not
// interpret are left to the SDK, which reads them from the process
// environment itself: the sampler (OTEL_TRACES_SAMPLER,
// OTEL_TRACES_SAMPLER_ARG), the batch span processor (OTEL_BSP_*), span
// limits (OTEL_SPAN_*), and the exporter's timeout, compression and TLS
// settings (OTEL_EXPORTER_OTLP_TIMEOUT, _COMPRESSION, _CERTIFICATE, ...).
//
// Nothing is exported unless an exporter or an endpoint is configured. The
// services then run with a no-op TracerProvider whose spans carry the
// incoming trace context unchanged, so a trace started upstream of Gatehouse
// still reaches the services behind it.
//
// [Inject], [Extract] and [LinkFrom] move trace context through a
// map[string]string: the revision row in Postgres and the sync protocol's
// messages carry one, so that a configuration change is one trace across
// admin-api, sync-hub and the data planes.
package telemetry
