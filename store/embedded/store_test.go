package embedded_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/embedded"
	"github.com/enlace-rfl/enlace/store/storetest"
	"github.com/enlace-rfl/enlace/tracing"
)

func open(t *testing.T, path string) *embedded.Store {
	t.Helper()
	return openWith(t, path, bot.Retention{})
}

func openWith(t *testing.T, path string, r bot.Retention) *embedded.Store {
	t.Helper()
	s, err := embedded.Open(path, embedded.Options{Retention: r})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		Open: func(t *testing.T, r bot.Retention) bot.Store {
			return openWith(t, filepath.Join(t.TempDir(), "data", "enlace.db"), r)
		},
		Contents: func(t *testing.T, s bot.Store) []string { return contents(t, s.(*embedded.Store).DB()) },
	})
}

// contents lists every bucket and key path in the file, each key with its
// value, as text.
func contents(t *testing.T, db *bolt.DB) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, b *bolt.Bucket)
	walk = func(prefix string, b *bolt.Bucket) {
		_ = b.ForEach(func(k, v []byte) error {
			name := prefix + "/" + string(k)
			if v == nil {
				out = append(out, name)
				walk(name, b.Bucket(k))
			} else {
				out = append(out, name+" = "+string(v))
			}
			return nil
		})
	}
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(string(name), b)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOpenPermissionsAndExclusive(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "enlace.db")
	open(t, path)
	for p, want := range map[string]os.FileMode{dir: 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", p, got, want)
		}
	}
	// bbolt's flock is per open file description, so a second Open in this
	// process stands in for a second process.
	_, err := embedded.Open(path, embedded.Options{})
	if err == nil || !strings.Contains(err.Error(), "in use by another enlace process") {
		t.Fatalf("second Open: %v", err)
	}
}

// TestEraseLeavesNoNames checks that after an erase no bucket or key names the
// person except the inbox and outbox items that remain, and the lock until Unlock.
func TestEraseLeavesNoNames(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enlace.db")
	s := open(t, path)
	const p = "abc123def"
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, id := range []string{"m1", "m2"} {
		if _, err := s.Accept(ctx, p, "k"+id, bot.Item{ID: id}, time.Hour, now); err != nil {
			t.Fatal(err)
		}
	}
	tok, err := s.Lock(ctx, p, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, p, tok, bot.Commit{InboundID: "m1", Session: []byte("s"), SessionTTL: time.Hour,
		Outbox: []bot.Item{{ID: "o1"}}, Escalations: []bot.Item{{ID: "e1"}}}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeadLetter(ctx, p, bot.Item{ID: "o1"}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, p, tok, bot.Commit{InboundID: "m2", Erase: true}, now); err != nil {
		t.Fatal(err)
	}
	if err := s.Unlock(ctx, p, tok); err != nil {
		t.Fatal(err)
	}
	// The workers find nothing left and release their claims.
	for _, q := range []bot.Queue{bot.QueueInbound, bot.QueueOutbound} {
		cs, err := s.Claim(ctx, q, now.Add(time.Second), time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if _, err := s.Release(ctx, q, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names := namesOf(t, path, p); len(names) > 0 {
		t.Fatalf("erased person still named in: %v", names)
	}
}

// namesOf walks the whole file and lists every bucket or key path holding person.
func namesOf(t *testing.T, path, person string) []string {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var found []string
	var walk func(prefix string, b *bolt.Bucket)
	walk = func(prefix string, b *bolt.Bucket) {
		_ = b.ForEach(func(k, v []byte) error {
			name := prefix + "/" + string(k)
			if bytes.Contains(k, []byte(person)) || bytes.Contains(v, []byte(person)) {
				found = append(found, name)
			}
			if v == nil {
				walk(name, b.Bucket(k))
			}
			return nil
		})
	}
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			walk(string(name), b)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	return found
}

func TestSweep(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "enlace.db")
	s := open(t, path)
	const p = "feed01"
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	if _, err := s.Accept(ctx, p, "k", bot.Item{ID: "m1"}, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	tok, err := s.Lock(ctx, p, time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Commit(ctx, p, tok, bot.Commit{InboundID: "m1", Session: []byte("s"), SessionTTL: time.Minute}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, bot.QueueInbound, now, time.Minute, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Release(ctx, bot.QueueInbound, bot.Claim{Person: p, Until: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Sweep(ctx, now.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LoadSession(ctx, p, now.Add(2*time.Minute)); err != bot.ErrNotFound {
		t.Fatalf("LoadSession after sweep: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names := namesOf(t, path, p); len(names) > 0 {
		t.Fatalf("swept person still named in: %v", names)
	}
}

func TestStaffConformance(t *testing.T) {
	storetest.RunStaff(t, func(t *testing.T) staff.Store {
		return open(t, filepath.Join(t.TempDir(), "enlace.db"))
	})
}

func TestCaseConformance(t *testing.T) {
	storetest.RunCases(t, storetest.CaseBackend{
		Open: func(t *testing.T) tracing.Store {
			return open(t, filepath.Join(t.TempDir(), "data", "enlace.db"))
		},
		Sweep: func(t *testing.T, s tracing.Store, now time.Time) {
			if err := s.(*embedded.Store).Sweep(context.Background(), now); err != nil {
				t.Fatal(err)
			}
		},
		Contents: func(t *testing.T, s tracing.Store) []string { return contents(t, s.(*embedded.Store).DB()) },
	})
}
