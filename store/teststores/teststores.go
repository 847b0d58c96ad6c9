// Package teststores opens each real store for the tests of other packages:
// a fresh bbolt file in the test's directory, and a fresh key prefix on a
// real redis-server that redistest starts. A test runs its cases on both, so
// what holds on one store is shown to hold on the other.
package teststores

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/places"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/tracing"
)

// Store is what both stores keep: the pipeline's records, the volunteer
// inbox, staff accounts and audit, tracing cases and the directory of places.
type Store interface {
	bot.Store
	bot.Conversations
	staff.Store
	tracing.Store
	places.Store
}

// Openers returns a function per store ("embedded", "redis") that opens a
// new, empty one for t and closes it when t ends.
func Openers() map[string]func(t *testing.T) Store {
	return map[string]func(t *testing.T) Store{"embedded": Embedded, "redis": Redis}
}

// WithStaff is Openers with a staff service on each store opened.
func WithStaff() map[string]func(t *testing.T) (Store, *stafftest.Env) {
	out := map[string]func(t *testing.T) (Store, *stafftest.Env){}
	for name, open := range Openers() {
		out[name] = func(t *testing.T) (Store, *stafftest.Env) {
			st := open(t)
			return st, Staff(t, st)
		}
	}
	return out
}

// Embedded opens a new bbolt store in t's temporary directory.
func Embedded(t *testing.T) Store {
	t.Helper()
	st, err := embedded.Open(filepath.Join(t.TempDir(), "enlace.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Redis opens a store on a real redis-server, under a prefix of its own.
func Redis(t *testing.T) Store {
	t.Helper()
	srv := redistest.Start(t)
	st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// Staff is a staff service on st, with its keys and fake clock.
func Staff(t *testing.T, st Store) *stafftest.Env {
	t.Helper()
	if e, ok := st.(*embedded.Store); ok {
		return stafftest.NewOn(t, e, staff.Config{})
	}
	return stafftest.NewOn(t, nil, staff.Config{Store: st})
}
