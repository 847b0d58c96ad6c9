package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// testReseal: Reseal hands over every sealed record of a person (session,
// inbox, outbox, dead letters, escalations) with its kind and ID, replaces
// what f rewrites, in place, leaves what f returns nil for, and stops at an
// error of f.
func testReseal(t *testing.T, s bot.Store) {
	p := person(t)
	now := time.Now()
	accept(t, s, p, "k1", item("m1"), now)
	accept(t, s, p, "k2", item("m2"), now)
	tok := lock(t, s, p)
	must(t, s.Commit(ctx, p, tok, bot.Commit{
		InboundID: "m1", Session: []byte("s1\x00\xff"), SessionTTL: time.Hour,
		Outbox: []bot.Item{item("o1"), item("o2")}, Escalations: []bot.Item{item("e1")},
	}, now))
	must(t, s.Unlock(ctx, p, tok))
	must(t, s.DeadLetter(ctx, p, item("o1"), now))

	seen := map[bot.RecordKind][]string{}
	n, err := s.Reseal(ctx, func(r bot.Sealed) ([]byte, error) {
		if r.Person != p {
			return nil, nil // another subtest's, on a shared backend
		}
		seen[r.Kind] = append(seen[r.Kind], r.ID)
		if r.Kind == bot.RecordEscalation {
			return nil, nil // left as it is
		}
		return append([]byte("new:"), r.Data...), nil
	})
	must(t, err)
	want := map[bot.RecordKind][]string{
		bot.RecordSession: {""}, bot.RecordInbound: {"m2"}, bot.RecordOutbound: {"o2"},
		bot.RecordDeadLetter: {"o1"}, bot.RecordEscalation: {"e1"},
	}
	for k, ids := range want {
		if len(seen[k]) != len(ids) || seen[k][0] != ids[0] {
			t.Errorf("Reseal handed over %s records %q, want %q", k, seen[k], ids)
		}
	}
	if n != 4 {
		t.Errorf("Reseal replaced %d records, want 4", n)
	}
	sess, err := s.LoadSession(ctx, p, now)
	must(t, err)
	if string(sess) != "new:s1\x00\xff" {
		t.Errorf("session after Reseal = %q", sess)
	}
	in, err := s.NextInbound(ctx, p)
	must(t, err)
	sameItem(t, in, bot.Item{ID: "m2", Data: append([]byte("new:"), item("m2").Data...)})
	out, err := s.NextOutbound(ctx, p)
	must(t, err)
	sameItem(t, out, bot.Item{ID: "o2", Data: append([]byte("new:"), item("o2").Data...)})
	dead, err := s.DeadLetters(ctx, 100)
	must(t, err)
	sameItems(t, lettersOf(dead, p), []bot.Item{{ID: "o1", Data: append([]byte("new:"), item("o1").Data...)}})
	esc, err := s.Escalations(ctx, 100)
	must(t, err)
	sameItems(t, lettersOf(esc, p), []bot.Item{item("e1")})

	stop := errors.New("stop")
	if _, err := s.Reseal(ctx, func(r bot.Sealed) ([]byte, error) { return nil, stop }); !errors.Is(err, stop) {
		t.Errorf("Reseal with a failing f = %v, want it to stop with f's error", err)
	}
}
