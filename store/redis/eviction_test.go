package redis_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// lockedBuffer collects a logger's output.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOpenChecksEviction: a Redis that may evict keys is refused with what
// to do; one whose CONFIG is disabled (managed Redis) is used with a loud
// warning of what eviction would lose; noeviction opens quietly.
func TestOpenChecksEviction(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr string
		wantLog string
	}{
		{name: "noeviction"},
		{name: "evicting", args: []string{"--maxmemory-policy", "allkeys-lru"},
			wantErr: "maxmemory-policy is allkeys-lru"},
		{name: "volatile eviction", args: []string{"--maxmemory-policy", "volatile-ttl"},
			wantErr: "maxmemory-policy is volatile-ttl"},
		{name: "CONFIG disabled", args: []string{"--rename-command", "CONFIG", "CONFIG-hidden-as-managed-redis-does"},
			wantLog: "REDIS EVICTION UNKNOWN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := redistest.StartWith(t, redistest.Config{Args: tt.args})
			var logs lockedBuffer
			s, err := redis.Open(context.Background(), srv.URL, redis.Options{Prefix: srv.NewPrefix(),
				Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
			if s != nil {
				defer s.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Open: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "noeviction")):
				t.Fatalf("Open: got %v, want an error saying %q and to set noeviction", err, tt.wantErr)
			}
			got := logs.String()
			if tt.wantLog == "" && got != "" {
				t.Errorf("logs: got %s, want none", got)
			}
			if tt.wantLog != "" && (!strings.Contains(got, tt.wantLog) || !strings.Contains(got, "opt-outs")) {
				t.Errorf("logs: got %q, want a warning %q saying what eviction would lose", got, tt.wantLog)
			}
		})
	}
}
