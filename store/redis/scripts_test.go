package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestScriptsKeepExpiries: the scripts that take a list's head off to look
// at it put a head that is not theirs back with an expiry (a list emptied by
// LPOP is gone with its expiry), and the dedupe marks live as long as the
// latest of them, even when a process with a clock behind adds one.
func TestScriptsKeepExpiries(t *testing.T) {
	srv := redistest.Start(t)
	prefix := srv.NewPrefix()
	retention := 48 * time.Hour
	s := openWith(t, srv, prefix, bot.Retention{Person: retention})
	c := s.Client()
	ctx := context.Background()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	const p = "p1"
	key := func(k string) string { return prefix + ":p:{" + p + "}:" + k }
	ttl := func(k string) time.Duration {
		t.Helper()
		d, err := c.PTTL(ctx, key(k)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if d <= 0 {
			t.Fatalf("%s has no expiry (%v)", k, d)
		}
		return d
	}

	// A refused commit (not the inbox head) on a one-message inbox.
	if _, err := s.Accept(ctx, p, "k1", bot.Item{ID: "m1", Data: []byte("x")}, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	b, err := s.BeginInbound(ctx, p, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Finish(ctx, p, b.Token, bot.Commit{InboundID: "other"}, nil, now); !errors.Is(err, bot.ErrNotFound) {
		t.Fatalf("Finish of another message: %v, want ErrNotFound", err)
	}
	if head, err := s.NextInbound(ctx, p); err != nil || head.ID != "m1" {
		t.Fatalf("inbox head after the refused commit: %v, %v", head.ID, err)
	}
	if d := ttl("in"); d > retention {
		t.Fatalf("inbox expiry %v, over the retention", d)
	}

	// The reply goes out; an acknowledgement of another reply leaves it.
	if _, err := s.Finish(ctx, p, b.Token, bot.Commit{InboundID: "m1", Outbox: []bot.Item{{ID: "r1", Data: []byte("y")}}, Lane: bot.QueueOutbound}, nil, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(ctx, p, b.Token); err != nil {
		t.Fatal(err)
	}
	ds, err := s.ClaimOutbound(ctx, bot.QueueOutbound, now, time.Minute, time.Minute, time.Second, 10, bot.LaneBudget{Lane: "x"})
	if err != nil || len(ds) != 1 || ds[0].Head.ID != "r1" {
		t.Fatalf("claim: %+v, %v", ds, err)
	}
	if err := s.FinishOutbound(ctx, p, ds[0].Token, bot.QueueOutbound, ds[0].Claim, "r0", now, now); err != nil {
		t.Fatal(err)
	}
	if head, err := s.NextOutbound(ctx, p); err != nil || head.ID != "r1" {
		t.Fatalf("outbox head after another reply's acknowledgement: %v, %v", head.ID, err)
	}
	if d := ttl("out"); d > retention {
		t.Fatalf("outbox expiry %v, over the retention", d)
	}
	if n, _ := c.Exists(ctx, key("sending")).Result(); n != 1 {
		t.Fatal("another reply's acknowledgement removed the sending mark")
	}

	// Dedupe marks: the set lives as long as its latest mark. A new mark
	// makes an expiry that is sooner later; one that is later (a mark from a
	// process whose clock is ahead) stays.
	if d := ttl("seen"); d < 59*time.Minute || d > time.Hour {
		t.Fatalf("marks' expiry %v after one mark of an hour", d)
	}
	for _, tc := range []struct {
		set         time.Duration
		key         string
		least, most time.Duration
	}{
		{10 * time.Minute, "k2", 59 * time.Minute, time.Hour},
		{3 * time.Hour, "k3", 179 * time.Minute, 3 * time.Hour},
	} {
		if err := c.PExpire(ctx, key("seen"), tc.set).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Accept(ctx, p, tc.key, bot.Item{ID: tc.key, Data: []byte("x")}, time.Hour, now); err != nil {
			t.Fatal(err)
		}
		if d := ttl("seen"); d < tc.least || d > tc.most {
			t.Errorf("marks' expiry %v after a mark of an hour on a set expiring in %v, want %v to %v", d, tc.set, tc.least, tc.most)
		}
	}
	// A set without an expiry (older data, a hand edit) gets one.
	if err := c.Persist(ctx, key("seen")).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Accept(ctx, p, "k4", bot.Item{ID: "m4", Data: []byte("x")}, time.Hour, now); err != nil {
		t.Fatal(err)
	}
	ttl("seen")
}
