package bot_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
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
	// elapse lets d pass on the store's own clock (nil: it has none).
	elapse func(t *testing.T, d time.Duration)
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
			}, nil},
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
			},
			func(t *testing.T, d time.Duration) {
				opt, err := goredis.ParseURL(srv.URL)
				if err != nil {
					t.Fatal(err)
				}
				c := goredis.NewClient(opt)
				defer c.Close()
				redistest.Elapse(t, c, prefix, d)
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

// reporter is a channel that, like Twilio, reports delivery later: receipts
// come through Pipeline.Receipt.
type reporter struct{ *recorder }

func (reporter) ReportsDelivery() bool { return true }

// TestReceiptAfterEraseLeavesNothing: a person sends a message to a relative
// and erases their data before the delivery report arrives; the report, and
// another one repeated, write nothing about them: no key, no queue entry, no
// dedupe mark.
func TestReceiptAfterEraseLeavesNothing(t *testing.T) {
	const mom = "+50255551234"
	for _, b := range rawBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			rec := reporter{newRecorder("sms")}
			clk := newClock()
			p := enginePipeline(t, st, clk.Now, receiptEngine{flows.New(flows.Config{}, catalog)}, rec)
			person := p.Person("sms", alice)
			for i, text := range []string{"hola", "1", "1", "tell mom", "borrar", "1"} {
				accept(t, p, msg(alice, fmt.Sprintf("SM%d", i), text))
				drain(t, p)
			}
			var toMom *bot.Reply
			for _, r := range rec.sent {
				if r.To == mom {
					toMom = &r
				}
			}
			if toMom == nil || toMom.ReceiptTo != person {
				t.Fatalf("no message to mom waiting for its receipt: %+v", rec.sent)
			}
			if got := rec.texts(alice); got[len(got)-1] != catalog.Text("es", "erase.done", nil) {
				t.Fatalf("last reply %q, want the erase confirmation", got[len(got)-1])
			}
			clk.Advance(time.Hour)
			for _, delivered := range []bool{true, false, true} {
				if err := p.Receipt(ctx, toMom.ReceiptTo, toMom.ID, toMom.ReceiptRef, delivered); err != nil {
					t.Fatalf("receipt after erase: %v", err)
				}
				drain(t, p)
			}
			st.Close()
			after := b.dump(t)
			if left := after.keysWith(person); len(left) > 0 {
				t.Errorf("a receipt after erase recreated records: %q", left)
			}
			for _, v := range after.values {
				if bytes.Contains(v, []byte(person)) {
					t.Errorf("a stored value names the erased person: %q", v)
				}
			}
		})
	}
}

// TestRetentionHolds: a person onboards, presses "talk to a person" thirty
// times and sends a message to a relative, then goes silent. They have one
// open escalation, not thirty; once the retention they were told (90 days)
// has passed on the pipeline's clock, and the store's, nothing in the store
// names them, nor the relative.
func TestRetentionHolds(t *testing.T) {
	const mom = "+50255551234"
	for _, b := range rawBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			clk := newClock()
			p := enginePipeline(t, st, clk.Now, receiptEngine{flows.New(flows.Config{}, catalog)}, newRecorder("sms"))
			person := p.Person("sms", alice)
			relative := p.Person("sms", mom)
			say := []string{"hola", "1", "1"}
			for range 30 {
				say = append(say, "1") // "talk to a person", at the menu each time
			}
			for i, text := range append(say, "tell mom") {
				accept(t, p, msg(alice, fmt.Sprintf("SM%d", i), text))
				drain(t, p)
			}
			esc, err := st.Escalations(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(esc) != 1 || esc[0].Person != person {
				t.Fatalf("escalations after thirty presses: %d, want one", len(esc))
			}
			if err := p.SetReachable(ctx, "sms", mom, false); err != nil { // a failed delivery report
				t.Fatal(err)
			}
			clk.Advance(90*24*time.Hour + time.Minute)
			if b.elapse != nil {
				b.elapse(t, 90*24*time.Hour+time.Minute)
			}
			if err := p.Sweep(ctx); err != nil {
				t.Fatal(err)
			}
			drain(t, p)
			st.Close()
			after := b.dump(t)
			for _, who := range []string{person, relative} {
				if left := after.keysWith(who); len(left) > 0 {
					t.Errorf("records left after the retention: %q", left)
				}
				for _, v := range after.values {
					if bytes.Contains(v, []byte(who)) {
						t.Errorf("a stored value names a person after the retention: %q", v)
					}
				}
			}
		})
	}
}
