package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
)

// Claiming with what comes next. On one Redis, the scripts below claim a
// batch of people from a queue and, in the same atomic step, take each one's
// lock and read what the worker needs (and, for a delivery, draw the reply's
// budget), so a message is handled in two round trips and delivered in two.
// They name the people's keys from the queue's members, which a Redis
// Cluster does not allow (a script touches the slots of its declared keys
// only): there bot.Steps does the same in separate steps.

var claimInboundScript = goredis.NewScript(`
-- KEYS: inbound queue. ARGV: now ms, lease end ms, n, token base, lock ttl ms,
-- retry at ms, key prefix. Returns per person {person} (locked by another)
-- or {person, token, inbox head, session, flags}.
local ps = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
local out = {}
for i, p in ipairs(ps) do
  local k = ARGV[7] .. ':p:{' .. p .. '}:'
  local tok = ARGV[4] .. i
  if redis.call('SET', k .. 'lock', tok, 'NX', 'PX', ARGV[5]) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[2], p)
    out[#out + 1] = {p, tok, redis.call('LINDEX', k .. 'in', 0) or false,
      redis.call('GET', k .. 'session') or false, redis.call('SUNION', k .. 'flags', k .. 'optout')}
  else
    redis.call('ZADD', KEYS[1], 'XX', ARGV[6], p)
    out[#out + 1] = {p}
  end
end
return out`)

// ClaimInbound implements bot.Store: one round trip on one Redis.
func (s *Store) ClaimInbound(ctx context.Context, now time.Time, lease, lockTTL, retry time.Duration, n int) ([]bot.Claimed, error) {
	if s.cluster() {
		return bot.Steps{Store: s}.ClaimInbound(ctx, now, lease, lockTTL, retry, n)
	}
	if n <= 0 {
		return nil, nil
	}
	if lockTTL < time.Millisecond {
		return nil, fmt.Errorf("redis: lock ttl %v is under a millisecond", lockTTL)
	}
	qk, _ := s.queueKey(bot.QueueInbound)
	base, err := newToken()
	if err != nil {
		return nil, err
	}
	until := now.Add(lease).UnixMilli()
	v, err := s.run(ctx, claimInboundScript, []string{qk}, now.UnixMilli(), until, n, base+"-", ms(lockTTL),
		now.Add(retry).UnixMilli(), s.prefix).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: claim inbound: %w", err)
	}
	out := make([]bot.Claimed, 0, len(v))
	for _, e := range v {
		row, _ := e.([]any)
		if len(row) == 0 {
			return nil, errors.New("redis: claim inbound: unexpected reply")
		}
		person, _ := row[0].(string)
		c := bot.Claimed{Claim: bot.Claim{Person: person, Until: time.UnixMilli(until)}}
		if len(row) == 1 {
			c.Locked = true
			out = append(out, c)
			continue
		}
		if len(row) != 5 {
			return nil, errors.New("redis: claim inbound: unexpected reply")
		}
		b, err := begun(row[2:])
		if err != nil {
			return nil, err
		}
		b.Token, _ = row[1].(string)
		c.Begun = b
		out = append(out, c)
	}
	return out, nil
}

// Sending marks. A claim that will try an outbox head marks it, in the
// person's slot ("sending": the head's ID and when the try began, kept from
// the first try while the head is the same), and the acknowledgement that
// removes the head removes the mark. A mark for the same head at the next
// claim means an earlier try did not finish: its process died (or the try
// failed), and the reply may have reached the provider (bot.Claim.Lapsed).
// The mark lives by the person's key, not the lane's score, which a commit
// for the person rewrites at any time.
const markLua = `
local function mark(k, head, now, ttl)
  local sep = string.find(head, '\0', 1, true) or (#head + 1)
  local id = string.sub(head, 1, sep - 1)
  local prev = redis.call('SET', k, id .. '|' .. now, 'NX', 'PX', ttl, 'GET')
  if not prev then return 0 end
  if string.sub(prev, 1, #id + 1) == id .. '|' then
    return tonumber(string.sub(prev, #id + 2))
  end
  redis.call('SET', k, id .. '|' .. now, 'PX', ttl) -- an older head's mark
  return 0
end
`

var claimOutboundScript = goredis.NewScript(budgetLua + markLua + `
-- KEYS: lane queue. ARGV: now ms, lease end ms, n, token base, lock ttl ms,
-- retry at ms, key prefix, the lane's budget key prefix, lane rate (tokens/ms,
-- 0: none), lane burst, recipient rate (tokens/ms, 0: none). Returns per
-- person {person, 0} (outbox locked by another), {person, 1, wait ms, whole
-- lane 1/0} (budget short: rescheduled, unlocked) or {person, 2, token,
-- outbox head, flags, alias or false, paid 1/0, when an earlier try of the
-- head began (ms) or 0}. People with an empty outbox are released and left
-- out. ARGV[12] is how long a sending mark lasts (ms): see markLua.
local now = tonumber(ARGV[1])
local laneRate, laneBurst, recRate = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local ps = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
local out = {}
for i, p in ipairs(ps) do
  local k = ARGV[7] .. ':p:{' .. p .. '}:'
  local lock = ARGV[7] .. ':p:{' .. p .. '_out}:lock'
  local tok = ARGV[4] .. i
  if not redis.call('SET', lock, tok, 'NX', 'PX', ARGV[5]) then
    redis.call('ZADD', KEYS[1], 'XX', ARGV[6], p)
    out[#out + 1] = {p, 0}
  else
    local head = redis.call('LINDEX', k .. 'out', 0)
    if not head then
      redis.call('ZREM', KEYS[1], p)
      redis.call('DEL', lock)
    else
      local paid, wait, whole = 0, 0, 0
      local sep = string.find(head, '\0', 1, true) or 1
      local cost, rec = string.match(string.sub(head, 1, sep - 1), '_t(%d+)_(%w+)$')
      if cost then
        local ks, rs, bs = {}, {}, {}
        if laneRate > 0 then ks[#ks + 1], rs[#rs + 1], bs[#bs + 1] = ARGV[8] .. 'lane', laneRate, laneBurst end
        if recRate > 0 and rec ~= '0' then ks[#ks + 1], rs[#rs + 1], bs[#bs + 1] = ARGV[8] .. rec, recRate, 1 end
        local short = 0
        if #ks > 0 then wait, short = take(ks, now, tonumber(cost), rs, bs) end
        if wait > 0 then
          if laneRate > 0 and short == 1 then whole = 1 end
        else
          paid = 1
        end
      end
      if wait > 0 then
        redis.call('ZADD', KEYS[1], 'XX', now + wait, p)
        redis.call('DEL', lock)
        out[#out + 1] = {p, 1, wait, whole}
      else
        redis.call('ZADD', KEYS[1], 'XX', ARGV[2], p)
        local began = mark(k .. 'sending', head, ARGV[1], ARGV[12])
        out[#out + 1] = {p, 2, tok, head, redis.call('SUNION', k .. 'flags', k .. 'optout'),
          redis.call('GET', ARGV[7] .. ':alias:{' .. p .. '}') or false, paid, began}
      end
    end
  end
end
return out`)

// ClaimOutbound implements bot.Store: one round trip on one Redis.
func (s *Store) ClaimOutbound(ctx context.Context, q bot.Queue, now time.Time, lease, lockTTL, retry time.Duration, n int, budget bot.LaneBudget) ([]bot.Delivery, error) {
	qk, err := s.queueKey(q)
	if err != nil {
		return nil, err
	}
	if budget.Rate > 0 || budget.PerRecipient > 0 {
		if err := checkBuckets(budget.Lane, nil); err != nil {
			return nil, err
		}
	}
	if s.cluster() {
		return bot.Steps{Store: s}.ClaimOutbound(ctx, q, now, lease, lockTTL, retry, n, budget)
	}
	if n <= 0 {
		return nil, nil
	}
	if lockTTL < time.Millisecond {
		return nil, fmt.Errorf("redis: lock ttl %v is under a millisecond", lockTTL)
	}
	base, err := newToken()
	if err != nil {
		return nil, err
	}
	until := now.Add(lease).UnixMilli()
	cmd, unreplicated := s.replicated(ctx, claimOutboundScript, []string{qk}, now.UnixMilli(), until, n, base+"-", ms(lockTTL),
		now.Add(retry).UnixMilli(), s.prefix, s.budgetKey(budget.Lane, ""),
		max(budget.Rate, 0)/1000, max(budget.Burst, 1), max(budget.PerRecipient, 0)/1000, ms(markTTL))
	v, err := cmd.Slice()
	if err != nil {
		return nil, fmt.Errorf("redis: claim %s: %w", q, err)
	}
	if unreplicated != nil {
		// Not yet on the replicas: nothing is sent. The people claimed come
		// back when their lease (and outbox lock) runs out.
		return nil, fmt.Errorf("redis: claim %s: %w", q, unreplicated)
	}
	out := make([]bot.Delivery, 0, len(v))
	for _, e := range v {
		d, err := delivery(e, time.UnixMilli(until))
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// delivery decodes one person of claimOutboundScript's reply.
func delivery(e any, until time.Time) (bot.Delivery, error) {
	bad := errors.New("redis: claim outbound: unexpected reply")
	row, _ := e.([]any)
	if len(row) < 2 {
		return bot.Delivery{}, bad
	}
	person, _ := row[0].(string)
	d := bot.Delivery{Claim: bot.Claim{Person: person, Until: until}}
	switch kind, _ := row[1].(int64); {
	case kind == 0:
		d.Locked = true
	case kind == 1 && len(row) == 4:
		wait, _ := row[2].(int64)
		whole, _ := row[3].(int64)
		d.Wait, d.WholeLane = time.Duration(wait)*time.Millisecond, whole == 1
	case kind == 2 && len(row) == 8:
		d.Token, _ = row[2].(string)
		h, _ := row[3].(string)
		head, err := decodeItem(h)
		if err != nil {
			return bot.Delivery{}, err
		}
		d.Head = head
		b, err := begun([]any{false, false, row[4]})
		if err != nil {
			return bot.Delivery{}, err
		}
		d.Flags = b.Flags
		d.Alias, _ = row[5].(string)
		paid, _ := row[6].(int64)
		d.Paid = paid == 1
		began, _ := row[7].(int64)
		d.Lapsed = lapsedAt(began)
	default:
		return bot.Delivery{}, bad
	}
	return d, nil
}

var finishOutboundScript = goredis.NewScript(`
-- KEYS: out, outbox lock, lane queue, sending mark. ARGV: head prefix or '',
-- token, person, claim lease end ms, next ms, outbox ttl ms.
if ARGV[1] ~= '' then
  local head = redis.call('LPOP', KEYS[1])
  if head and string.sub(head, 1, #ARGV[1]) == ARGV[1] then
    redis.call('DEL', KEYS[4])
  elseif head then
    -- Another reply: put it back as it was (a list LPOP emptied is gone: it gets the retention again).
    if redis.call('LPUSH', KEYS[1], head) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[6]) end
  end
end
if redis.call('LLEN', KEYS[1]) > 0 then
  redis.call('ZADD', KEYS[3], ARGV[5], ARGV[3])
else
  local sc = redis.call('ZSCORE', KEYS[3], ARGV[3])
  if sc and tonumber(sc) == tonumber(ARGV[4]) then redis.call('ZREM', KEYS[3], ARGV[3]) end
end
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 0`)

// FinishOutbound implements bot.Store: one round trip on one Redis.
func (s *Store) FinishOutbound(ctx context.Context, person, token string, q bot.Queue, c bot.Claim, ack string, next, now time.Time) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	qk, err := s.queueKey(q)
	if err != nil {
		return err
	}
	if s.cluster() {
		return bot.Steps{Store: s}.FinishOutbound(ctx, person, token, q, c, ack, next, now)
	}
	prefix := ""
	if ack != "" {
		prefix = headPrefix(ack)
	}
	keys := []string{s.key(person, "out"), s.key(bot.OutboxLock(person), "lock"), qk, s.key(person, "sending")}
	// With wait_replicas, the acknowledgement too waits for the replicas: one
	// that only the old primary saw before a failover would be lost, and the
	// reply sent again. The script is idempotent, so the pipeline runs it
	// again until a replica confirms it.
	cmd, unreplicated := s.replicated(ctx, finishOutboundScript, keys, prefix, token, person, c.Until.UnixMilli(), next.UnixMilli(), ms(s.ret.Person))
	if err := cmd.Err(); err != nil {
		return fmt.Errorf("redis: finish outbound: %w", err)
	}
	if unreplicated != nil {
		return fmt.Errorf("redis: finish outbound: %w", unreplicated)
	}
	return nil
}

// markTTL is how long a sending mark outlives a try that never finished: far
// longer than the lease after which another process takes the person, and
// than most times every process could be down.
const markTTL = 24 * time.Hour

// lapsedAt is the time of a mark (ms), zero for none.
func lapsedAt(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

var markScript = goredis.NewScript(markLua + `
-- KEYS: sending mark. ARGV: head, now ms, ttl ms.
return mark(KEYS[1], ARGV[1], ARGV[2], ARGV[3])`)

// MarkSending implements bot.SendMarker, for bot.Steps on a Redis Cluster:
// the head's mark, in the person's slot (markLua).
func (s *Store) MarkSending(ctx context.Context, person, headID string, now time.Time) (time.Time, error) {
	if err := checkPerson(person); err != nil {
		return time.Time{}, err
	}
	began, err := markScript.Run(ctx, s.c, []string{s.key(person, "sending")}, headID, now.UnixMilli(), ms(markTTL)).Int64()
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: marking a send: %w", err)
	}
	return lapsedAt(began), nil
}
