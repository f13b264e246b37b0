package protocol_test

import (
	"encoding/json"
	"fmt"

	"gatehouse.dev/shared/protocol"
)

const (
	testNodeID = "5a2b0a4c-3d1e-4f6a-9b8c-7d6e5f4a3b2c"
	testHash   = "0123456789abcdef0123456789abcdef"
	testDigest = "fedcba9876543210fedcba9876543210"
	serviceID  = "0b6a2d57-55a5-4b0f-8b8e-1c9f3e7d2a10"
	routeID    = "3f1c8e2a-9d4b-4c7e-a6f5-2b8d0e9c1a37"
)

var testTrace = map[string]string{
	"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	"tracestate":  "vendor=value",
}

func testService() map[string]any {
	return map[string]any{
		"id":              serviceID,
		"name":            "example",
		"protocol":        "http",
		"host":            "upstream.example",
		"port":            json.Number("80"),
		"path":            nil,
		"retries":         json.Number("5"),
		"connect_timeout": json.Number("60000"),
		"enabled":         true,
		"tags":            []any{"team-a", "prod"},
		"created_at":      json.Number("1700000000"),
	}
}

func testRoute() map[string]any {
	return map[string]any{
		"id":             routeID,
		"name":           "example-route",
		"paths":          []any{"/api"},
		"methods":        nil,
		"strip_path":     true,
		"service":        map[string]any{"id": serviceID},
		"regex_priority": json.Number("0"),
		"created_at":     json.Number("1700000001"),
	}
}

// sampleMessages returns one valid message of each type, in Types() order.
// Numbers inside entities are json.Number, as decoding produces them.
func sampleMessages() []protocol.Message {
	return []protocol.Message{
		&protocol.Hello{
			NodeID:   testNodeID,
			Hostname: "dp-1.example",
			Version:  "1.4.2",
			Plugins: []protocol.PluginInfo{
				{Name: "key-auth", Version: "1.4.2"},
				{Name: "rate-limiting", Version: "1.4.2"},
			},
			Labels:     map[string]string{"deployment": "mycloud", "region": "us-east-1"},
			Revision:   41,
			ConfigHash: testHash,
		},
		&protocol.Snapshot{
			Revision:   42,
			ConfigHash: testHash,
			Digest:     testDigest,
			Entities: protocol.Entities{
				"services": {testService()},
				"routes":   {testRoute()},
				"plugins":  {},
			},
			Trace:     testTrace,
			Timestamp: 1700000000123,
		},
		&protocol.Delta{
			FromRevision: 42,
			Revision:     44,
			ConfigHash:   testHash,
			Digest:       testDigest,
			Changes: []protocol.Change{
				{Op: protocol.OpUpsert, Type: "routes", ID: routeID, Entity: testRoute()},
				{Op: protocol.OpDelete, Type: "services", ID: serviceID},
			},
			Trace:     testTrace,
			Timestamp: 1700000000456,
		},
		&protocol.Ack{Revision: 44, ConfigHash: testHash, Digest: testDigest},
		&protocol.Nack{
			Revision: 45,
			Error:    "declarative config is invalid: {routes={[1]={paths=\"must begin with /\"}}}",
			Fields:   map[string]string{"routes." + routeID + ".paths": "must begin with /"},
		},
		&protocol.SnapshotRequest{Revision: 44, Reason: "digest mismatch after delta 42..44"},
		&protocol.ErrorMessage{
			Code:    string(protocol.SyncStatusPluginSetIncompatible),
			Message: "configured key-auth plugin 1.4.2 is missing from data plane",
		},
		&protocol.Ping{Revision: 44, ConfigHash: testHash},
		&protocol.Pong{Revision: 46, ConfigHash: protocol.EmptyHash},
	}
}

// generateEntities builds a configuration of n entities shaped like Kong's:
// services, routes, consumers, key-auth credentials and plugins.
func generateEntities(n int) protocol.Entities {
	e := protocol.Entities{}
	id := func(kind, i int) string {
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", i, kind, i%4096, (i/4096)%4096, i*7919)
	}
	for i := range n {
		switch i % 10 {
		case 0:
			e["services"] = append(e["services"], map[string]any{
				"id": id(1, i), "name": fmt.Sprintf("service-%d", i), "protocol": "http",
				"host": fmt.Sprintf("backend-%d.internal.example", i), "port": json.Number("8080"),
				"path": "/", "retries": json.Number("5"), "connect_timeout": json.Number("60000"),
				"read_timeout": json.Number("60000"), "write_timeout": json.Number("60000"),
				"enabled": true, "tags": []any{"generated"}, "client_certificate": nil,
				"tls_verify": nil, "ca_certificates": nil,
				"created_at": json.Number("1700000000"), "updated_at": json.Number("1700000000"),
			})
		case 1, 2, 3, 4:
			e["routes"] = append(e["routes"], map[string]any{
				"id": id(2, i), "name": fmt.Sprintf("route-%d", i),
				"paths": []any{fmt.Sprintf("/api/v1/resource-%d", i)}, "methods": []any{"GET", "POST"},
				"hosts": nil, "headers": nil, "protocols": []any{"http", "https"},
				"strip_path": true, "preserve_host": false, "regex_priority": json.Number("0"),
				"https_redirect_status_code": json.Number("426"), "path_handling": "v0",
				"service": map[string]any{"id": id(1, i-i%10)}, "tags": nil,
				"created_at": json.Number("1700000000"), "updated_at": json.Number("1700000000"),
			})
		case 5, 6:
			e["consumers"] = append(e["consumers"], map[string]any{
				"id": id(3, i), "username": fmt.Sprintf("user-%d", i), "custom_id": nil,
				"tags": nil, "created_at": json.Number("1700000000"), "updated_at": json.Number("1700000000"),
			})
		case 7, 8:
			e["keyauth_credentials"] = append(e["keyauth_credentials"], map[string]any{
				"id": id(4, i), "key": fmt.Sprintf("k%031x", i*104729), "ttl": nil,
				"consumer": map[string]any{"id": id(3, i-2)}, "tags": nil,
				"created_at": json.Number("1700000000"),
			})
		case 9:
			e["plugins"] = append(e["plugins"], map[string]any{
				"id": id(5, i), "name": "rate-limiting", "instance_name": nil, "enabled": true,
				"route": map[string]any{"id": id(2, i-5)}, "service": nil, "consumer": nil,
				"protocols": []any{"grpc", "grpcs", "http", "https"},
				"config": map[string]any{
					"minute": json.Number("100"), "hour": nil, "policy": "redis", "limit_by": "consumer",
					"fault_tolerant": true, "hide_client_headers": false,
					"redis": map[string]any{"host": "redis.internal", "port": json.Number("6379"), "timeout": json.Number("2000")},
				},
				"tags": nil, "created_at": json.Number("1700000000"), "updated_at": json.Number("1700000000"),
			})
		}
	}
	return e
}
