package redis

import (
	"context"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
)

// budgetKey is one of a lane's buckets; the lane is the hash tag, so every
// bucket of a lane is in one slot and one script takes from all of them.
func (s *Store) budgetKey(lane, bucket string) string {
	return s.prefix + ":pace:{" + lane + "}:" + bucket
}

func checkBuckets(lane string, bs []bot.Bucket) error {
	if !validName(lane) {
		return fmt.Errorf("redis: invalid lane %q", lane)
	}
	for _, b := range bs {
		if !validName(b.Name) || b.Rate <= 0 || b.Burst < 1 {
			return fmt.Errorf("redis: invalid bucket %q (rate %v, burst %v)", b.Name, b.Rate, b.Burst)
		}
	}
	return nil
}

// budgetLua is store.BucketState's Refill and Wait, for every bucket at
// once: all or nothing. Rates are per millisecond here. take returns the wait
// in milliseconds (0: taken) and the index (from 1) of the emptiest bucket.
const budgetLua = `
local function take(keys, now, cost, rates, bursts)
  local wait, short = 0, 0
  local st = {}
  for i, k in ipairs(keys) do
    local rate, burst = rates[i], bursts[i]
    local v = redis.call('HMGET', k, 't', 'at', 'hold')
    local t, at, hold = tonumber(v[1]), tonumber(v[2]), tonumber(v[3]) or 0
    if not t or not at then t, at = burst, now end
    if now > at then t, at = math.min(burst, t + (now - at) * rate), now end
    local w = 0
    if hold > now then w = hold - now
    elseif t < 1 then w = math.ceil((1 - t) / rate) end
    if w > wait then wait, short = w, i end
    st[i] = {t, at}
  end
  if wait > 0 then return wait, short end
  for i, k in ipairs(keys) do
    local t = st[i][1] - cost
    redis.call('HSET', k, 't', tostring(t), 'at', st[i][2])
    redis.call('PEXPIRE', k, math.ceil((bursts[i] - t) / rates[i]) + math.max(st[i][2] - now, 0) + 60000)
  end
  return 0, 0
end
`

var budgetScript = goredis.NewScript(budgetLua + `
-- KEYS: buckets. ARGV: now ms, cost, then per bucket rate (tokens/ms), burst.
local rates, bursts = {}, {}
for i = 1, #KEYS do rates[i], bursts[i] = tonumber(ARGV[1 + 2*i]), tonumber(ARGV[2 + 2*i]) end
local wait, short = take(KEYS, tonumber(ARGV[1]), tonumber(ARGV[2]), rates, bursts)
return {wait, short - 1}`)

// TakeBudget implements bot.Budgets in one round trip.
func (s *Store) TakeBudget(ctx context.Context, lane string, bs []bot.Bucket, cost int, now time.Time) (time.Duration, int, error) {
	if err := checkBuckets(lane, bs); err != nil {
		return 0, -1, err
	}
	if len(bs) == 0 {
		return 0, -1, nil
	}
	keys := make([]string, len(bs))
	args := []any{now.UnixMilli(), max(cost, 1)}
	for i, b := range bs {
		keys[i] = s.budgetKey(lane, b.Name)
		args = append(args, b.Rate/1000, b.Burst)
	}
	res, err := budgetScript.Run(ctx, s.c, keys, args...).Int64Slice()
	if err != nil || len(res) != 2 {
		return 0, -1, fmt.Errorf("redis: taking from %s's budget: %w", lane, err)
	}
	return time.Duration(res[0]) * time.Millisecond, int(res[1]), nil
}

var holdScript = goredis.NewScript(`
-- KEYS: bucket. ARGV: until ms, now ms.
redis.call('HSET', KEYS[1], 't', '1', 'at', ARGV[1], 'hold', ARGV[1])
redis.call('PEXPIRE', KEYS[1], math.max(tonumber(ARGV[1]) - tonumber(ARGV[2]), 0) + 60000)
return 0`)

// HoldBudget implements bot.Budgets.
func (s *Store) HoldBudget(ctx context.Context, lane string, b bot.Bucket, until, now time.Time) error {
	if err := checkBuckets(lane, []bot.Bucket{b}); err != nil {
		return err
	}
	if err := holdScript.Run(ctx, s.c, []string{s.budgetKey(lane, b.Name)}, until.UnixMilli(), now.UnixMilli()).Err(); err != nil {
		return fmt.Errorf("redis: holding %s's budget: %w", lane, err)
	}
	return nil
}
