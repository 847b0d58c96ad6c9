package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
)

// resealKinds are the per-person keys that hold sealed records.
var resealKinds = map[string]bot.RecordKind{
	"session": bot.RecordSession, "in": bot.RecordInbound, "out": bot.RecordOutbound,
	"dead": bot.RecordDeadLetter, "esc": bot.RecordEscalation,
}

// resealString replaces a string only if it still holds what was read,
// keeping its expiry.
var resealString = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`)

// resealItem replaces one list element only if it is still there, in place.
var resealItem = goredis.NewScript(`
local i = redis.call('LPOS', KEYS[1], ARGV[1])
if i then
  redis.call('LSET', KEYS[1], i, ARGV[2])
  return 1
end
return 0`)

// Reseal implements bot.Store. It scans every node (each master of a
// cluster, at once) for the people's record keys; f is called from one
// goroutine at a time.
func (s *Store) Reseal(ctx context.Context, f func(bot.Sealed) ([]byte, error)) (int, error) {
	var mu sync.Mutex
	one := func(r bot.Sealed) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		return f(r)
	}
	var n atomic.Int64
	pattern := globEscape(s.prefix) + ":p:{*}:*"
	err := s.eachNode(ctx, func(ctx context.Context, node goredis.Cmdable) error {
		iter := node.Scan(ctx, 0, pattern, 256).Iterator()
		for iter.Next(ctx) {
			person, kind, ok := s.recordKey(iter.Val())
			if !ok {
				continue
			}
			m, err := s.resealKey(ctx, iter.Val(), person, kind, one)
			n.Add(int64(m))
			if err != nil {
				return err
			}
		}
		return iter.Err()
	})
	if err != nil {
		return int(n.Load()), fmt.Errorf("redis: reseal: %w", err)
	}
	return int(n.Load()), nil
}

func (s *Store) eachNode(ctx context.Context, fn func(ctx context.Context, node goredis.Cmdable) error) error {
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *goredis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, s.c)
}

// recordKey reads "<prefix>:p:{<person>}:<kind>" for the kinds that hold sealed records.
func (s *Store) recordKey(key string) (person string, kind bot.RecordKind, ok bool) {
	rest, ok := strings.CutPrefix(key, s.prefix+":p:{")
	if !ok {
		return "", "", false
	}
	person, suffix, ok := strings.Cut(rest, "}:")
	kind, known := resealKinds[suffix]
	return person, kind, ok && known && validName(person)
}

func (s *Store) resealKey(ctx context.Context, key, person string, kind bot.RecordKind, f func(bot.Sealed) ([]byte, error)) (int, error) {
	if kind == bot.RecordSession {
		old, err := s.c.Get(ctx, key).Result()
		if errors.Is(err, goredis.Nil) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		data, err := f(bot.Sealed{Person: person, Kind: kind, Data: []byte(old)})
		if err != nil || data == nil {
			return 0, err
		}
		done, err := resealString.Run(ctx, s.c, []string{key}, old, data).Int()
		return done, err
	}
	items, err := s.c.LRange(ctx, key, 0, -1).Result()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, old := range items {
		it, err := decodeItem(old)
		if err != nil {
			continue // not ours to fix: the reader reports it
		}
		data, err := f(bot.Sealed{Person: person, Kind: kind, ID: it.ID, Data: it.Data})
		if err != nil {
			return n, err
		}
		if data == nil {
			continue
		}
		done, err := resealItem.Run(ctx, s.c, []string{key}, old, headPrefix(it.ID)+string(data)).Int()
		if err != nil {
			return n, err
		}
		n += done
	}
	return n, nil
}

// globEscape quotes the characters SCAN's MATCH pattern treats as special.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
