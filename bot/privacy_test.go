package bot_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	goredis "github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// raw is everything a store holds, as an attacker with the disk or the Redis
// would see it: every key name and every stored byte.
type raw struct {
	keys   []string
	values [][]byte
	file   []byte // the whole bbolt file, free pages included
}

func (r raw) keysWith(s string) []string {
	var out []string
	for _, k := range r.keys {
		if strings.Contains(k, s) {
			out = append(out, k)
		}
	}
	return out
}

func (r raw) contains(s string) bool {
	needle := []byte(s)
	if bytes.Contains(r.file, needle) {
		return true
	}
	for _, k := range r.keys {
		if strings.Contains(k, s) {
			return true
		}
	}
	for _, v := range r.values {
		if bytes.Contains(v, needle) {
			return true
		}
	}
	return false
}

// rawBackend is a store whose raw content a test can read.
type rawBackend struct {
	name string
	open func(t *testing.T) bot.Store
	dump func(t *testing.T) raw // call with the store closed
}

func rawBackends(t *testing.T) []rawBackend {
	path := filepath.Join(t.TempDir(), "enlace.db")
	srv := redistest.Start(t)
	prefix := srv.NewPrefix()
	return []rawBackend{
		{"embedded",
			func(t *testing.T) bot.Store {
				st, err := embedded.Open(path, embedded.Options{})
				if err != nil {
					t.Fatal(err)
				}
				return st
			},
			func(t *testing.T) raw {
				var r raw
				var err error
				if r.file, err = os.ReadFile(path); err != nil {
					t.Fatal(err)
				}
				db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				var walk func(prefix string, b *bolt.Bucket)
				walk = func(prefix string, b *bolt.Bucket) {
					b.ForEach(func(k, v []byte) error {
						name := prefix + "/" + string(k)
						r.keys = append(r.keys, name)
						if v == nil {
							walk(name, b.Bucket(k))
						} else {
							r.values = append(r.values, append([]byte(nil), v...))
						}
						return nil
					})
				}
				db.View(func(tx *bolt.Tx) error {
					return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
						r.keys = append(r.keys, string(name))
						walk(string(name), b)
						return nil
					})
				})
				return r
			}},
		{"redis",
			func(t *testing.T) bot.Store {
				st, err := redisstore.Open(context.Background(), srv.URL, redisstore.Options{Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				return st
			},
			func(t *testing.T) raw {
				opt, err := goredis.ParseURL(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				c := goredis.NewClient(opt)
				defer c.Close()
				ctx := context.Background()
				var r raw
				iter := c.Scan(ctx, 0, prefix+":*", 100).Iterator()
				for iter.Next(ctx) {
					k := iter.Val()
					r.keys = append(r.keys, k)
					var vals []string
					switch c.Type(ctx, k).Val() {
					case "string":
						vals = []string{c.Get(ctx, k).Val()}
					case "list":
						vals = c.LRange(ctx, k, 0, -1).Val()
					case "zset":
						vals = c.ZRange(ctx, k, 0, -1).Val()
					case "set":
						vals = c.SMembers(ctx, k).Val()
					case "hash":
						for f, v := range c.HGetAll(ctx, k).Val() {
							vals = append(vals, f, v)
						}
					default:
						t.Fatalf("key %s has a type this test cannot read", k)
					}
					for _, v := range vals {
						r.values = append(r.values, []byte(v))
					}
				}
				if err := iter.Err(); err != nil {
					t.Fatal(err)
				}
				return r
			}},
	}
}

// TestNoPlaintextAndEraseLeavesNothing walks onboarding, asks for a person
// (an escalation), types personal text, and erases: before the erase no
// phone number or typed text is readable anywhere in the store; after it, no
// key or record names the person.
func TestNoPlaintextAndEraseLeavesNothing(t *testing.T) {
	const phone = "+50237001234"
	const secret = "Me llamo Rosa Pérez y voy a Tapachula"
	for _, b := range rawBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			rec := newRecorder("sms")
			p := newPipeline(t, st, newClock().Now, rec)
			person := p.Person("sms", phone)
			for i, text := range []string{"hola", "1", "1", secret, "1"} {
				accept(t, p, msg(phone, "SM"+string(rune('a'+i)), text))
				drain(t, p)
			}
			st.Close()
			before := b.dump(t)
			if len(before.keysWith(person)) == 0 {
				t.Fatalf("no record of the person before erase: the test looks in the wrong place (keys: %q)", before.keys)
			}
			for _, s := range []string{phone, strings.TrimPrefix(phone, "+"), secret, "Rosa", "Tapachula"} {
				if before.contains(s) {
					t.Errorf("%q is readable in the store", s)
				}
			}

			st = b.open(t)
			p = newPipeline(t, st, newClock().Now, rec)
			accept(t, p, msg(phone, "SMy", "borrar"))
			drain(t, p)
			accept(t, p, msg(phone, "SMz", "1"))
			drain(t, p)
			st.Close()
			got := rec.texts(phone)
			if len(got) == 0 {
				t.Fatalf("nothing delivered to %s (sent: %d, tries: %v)", phone, rec.count(), rec.try)
			}
			if last := got[len(got)-1]; last != catalog.Text("es", "erase.done", nil) {
				t.Errorf("last reply: got %q, want the erase confirmation", last)
			}
			after := b.dump(t)
			if left := after.keysWith(person); len(left) > 0 {
				t.Errorf("records left after erase: %q", left)
			}
			for _, v := range after.values {
				if bytes.Contains(v, []byte(person)) {
					t.Errorf("a stored value still names the person after erase: %q", v)
				}
			}
		})
	}
}
