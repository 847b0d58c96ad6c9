package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestNoHandlingOnArrival: Redis is not a bot.HandlingStore (accepting there
// stays one round trip), and it refuses a commit with a dedupe mark rather
// than drop the mark, writing nothing.
func TestNoHandlingOnArrival(t *testing.T) {
	s := open(t, redistest.Start(t))
	if _, ok := any(s).(bot.HandlingStore); ok {
		t.Fatal("the Redis store is a HandlingStore")
	}
	ctx := context.Background()
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	tok, err := s.Lock(ctx, "p1", time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	c := bot.Commit{Session: []byte("s"), SessionTTL: time.Hour, Mark: &bot.Mark{Key: "m", TTL: time.Hour}}
	if err := s.Commit(ctx, "p1", tok, c, now); err == nil {
		t.Error("Commit with a mark: no error")
	}
	if _, err := s.Finish(ctx, "p1", tok, c, nil, now); err == nil {
		t.Error("Finish with a mark: no error")
	}
	if _, err := s.LoadSession(ctx, "p1", now); err == nil {
		t.Error("a refused commit saved the session")
	}
}
