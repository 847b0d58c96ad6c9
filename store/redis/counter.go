package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// counterKey names a Counter's name: <prefix>:count:{<name>}, a hash with the
// count n and the end of its window exp (ms), PX = what is left of the window.
func (s *Store) counterKey(name string) string { return s.prefix + ":count:{" + name + "}" }

// takeScript counts one use unless the window, still open at ARGV[2], holds
// ARGV[1] uses; a closed window starts anew. KEYS[1] counter;
// ARGV limit, now (ms), ttl (ms). Returns 1 when counted.
var takeScript = goredis.NewScript(`
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
local exp = tonumber(redis.call('HGET', KEYS[1], 'exp') or '0')
local n = 0
if exp > now then
  n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
else
  exp = now + ttl
end
if n >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'n', n + 1, 'exp', exp)
redis.call('PEXPIRE', KEYS[1], exp - now)
return 1
`)

// Take implements bot.Counter with one script, so concurrent uses never pass
// the limit; the key expires with its window by Redis's clock.
func (s *Store) Take(ctx context.Context, name string, limit int, ttl time.Duration, now time.Time) (bool, error) {
	if !validName(name) {
		return false, fmt.Errorf("redis: invalid counter name %q", name)
	}
	if limit <= 0 || ttl <= 0 {
		return false, nil
	}
	n, err := takeScript.Run(ctx, s.c, []string{s.counterKey(name)}, limit, now.UnixMilli(), ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("redis: take: %w", err)
	}
	return n == 1, nil
}
