package healthcheck

import "testing"

func TestParseStatusLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want int
	}{
		{"HTTP/1.1 200 OK\r\n", 200},
		{"HTTP/1.0 404 Not Found\r\n", 404},
		{"http/1.1 503 Service Unavailable\r\n", 503},
		{"HTTP/1.1\t302\r\n", 302},
		{"HTTP/1.1   500", 500},
		{"HTTP/1.1 99999 Odd\r\n", 9999},
		{"HTTP/2 200\r\n", 0},
		{"HTTP/1.1200\r\n", 0},
		{"HTTP/1.1 OK\r\n", 0},
		{"ICY 200 OK\r\n", 0},
		{"", 0},
	}
	for _, tt := range tests {
		if got := parseStatusLine([]byte(tt.line)); got != tt.want {
			t.Errorf("parseStatusLine(%q) = %d, want %d", tt.line, got, tt.want)
		}
	}
}
