package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
)

// Fewer round trips. On one Redis (standalone, or a Sentinel-managed
// primary) a script may touch any key, so the scripts below also move the
// person in the global queues, in the same atomic step as the change to the
// person's records. On a Redis Cluster a script touches one slot only (the
// person's, by their hash tag), so there the queue changes stay separate
// commands around the script, ordered as the package comment says.

// cluster reports whether the client is a Redis Cluster's.
func (s *Store) cluster() bool {
	_, ok := s.c.(*goredis.ClusterClient)
	return ok
}

var beginScript = goredis.NewScript(`
-- KEYS: lock, in, session, flags, optout. ARGV: token or '' (read only), lock ttl ms.
-- Returns 0 (locked by another) or {inbox head, session, flags}.
if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
return {redis.call('LINDEX', KEYS[2], 0) or false, redis.call('GET', KEYS[3]) or false, redis.call('SUNION', KEYS[4], KEYS[5])}`)

// BeginInbound implements bot.Store in one round trip.
func (s *Store) BeginInbound(ctx context.Context, person string, lockTTL time.Duration, _ time.Time) (bot.Begun, error) {
	if err := checkPerson(person); err != nil {
		return bot.Begun{}, err
	}
	if lockTTL < time.Millisecond {
		return bot.Begun{}, fmt.Errorf("redis: lock ttl %v is under a millisecond", lockTTL)
	}
	tok, err := newToken()
	if err != nil {
		return bot.Begun{}, err
	}
	b, err := s.read(ctx, person, tok, lockTTL)
	if err != nil {
		return bot.Begun{}, err
	}
	b.Token = tok
	return b, nil
}

// read runs beginScript: takes the lock with token (none when empty) and
// reads the inbox head, session and flags.
func (s *Store) read(ctx context.Context, person, token string, lockTTL time.Duration) (bot.Begun, error) {
	keys := []string{s.key(person, "lock"), s.key(person, "in"), s.key(person, "session"), s.key(person, "flags"), s.key(person, "optout")}
	v, err := beginScript.Run(ctx, s.c, keys, token, ms(lockTTL)).Result()
	if err != nil {
		return bot.Begun{}, fmt.Errorf("redis: begin: %w", err)
	}
	res, ok := v.([]any)
	if !ok {
		return bot.Begun{}, bot.ErrLocked
	}
	return begun(res)
}

// begun decodes {inbox head, session, flags}.
func begun(res []any) (bot.Begun, error) {
	if len(res) != 3 {
		return bot.Begun{}, errors.New("redis: begin: unexpected reply")
	}
	var b bot.Begun
	if h, ok := res[0].(string); ok {
		it, err := decodeItem(h)
		if err != nil {
			return bot.Begun{}, err
		}
		b.Head = it
	}
	if sess, ok := res[1].(string); ok {
		b.Session = []byte(sess)
	}
	b.Flags = []string{}
	fs, _ := res[2].([]any)
	for _, f := range fs {
		if f, ok := f.(string); ok {
			b.Flags = append(b.Flags, f)
		}
	}
	sort.Strings(b.Flags)
	return b, nil
}

var finishScript = goredis.NewScript(`
-- KEYS: lock, session, in, out, esc, flags, timers, optout, q:in, q:lane, q:out.
-- ARGV: token, inbound head prefix or '', has session '1'/'0', session,
--       session ttl ms, retention ms, person, now ms, release '1'/'0',
--       claim lease end ms, outbox items...
-- Returns {-1} (lock lost), {-2} (not the inbox head), or
-- {still locked 1/0, inbox head, false, flags}: the session is the one just
-- written, which the caller has, and the flags are read only for a next
-- message (none is handled without one).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
if ARGV[2] ~= '' then
  local head = redis.call('LPOP', KEYS[3])
  if not head or string.sub(head, 1, #ARGV[2]) ~= ARGV[2] then
    -- Not this message: put it back as it was (a list LPOP emptied is gone: it gets the retention again).
    if head then
      if redis.call('LPUSH', KEYS[3], head) == 1 then redis.call('PEXPIRE', KEYS[3], ARGV[6]) end
    end
    return {-2}
  end
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
else
  redis.call('DEL', KEYS[2])
end
local before
if #ARGV >= 11 then
  before = redis.call('RPUSH', KEYS[4], unpack(ARGV, 11)) - (#ARGV - 10)
else
  before = redis.call('LLEN', KEYS[4])
end
-- The person's conversation moved: everything about them is kept for the retention from now.
for _, k in ipairs({KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]}) do redis.call('PEXPIRE', k, ARGV[6]) end
if #ARGV >= 11 and before == 0 then
  redis.call('ZADD', KEYS[10], ARGV[8], ARGV[7])
elseif before > 0 or #ARGV >= 11 then
  redis.call('ZADD', KEYS[11], ARGV[8], ARGV[7])
end
local head = redis.call('LINDEX', KEYS[3], 0)
local locked = 1
if not head and ARGV[9] == '1' then
  local sc = redis.call('ZSCORE', KEYS[9], ARGV[7])
  if sc and tonumber(sc) == tonumber(ARGV[10]) then redis.call('ZREM', KEYS[9], ARGV[7]) end
  redis.call('DEL', KEYS[1])
  locked = 0
end
if not head then return {locked, false, false, {}} end
return {locked, head, false, redis.call('SUNION', KEYS[6], KEYS[8])}`)

// errMarkedCommit refuses a commit with a dedupe mark: only a
// bot.HandlingStore takes one, and this store is not one (accepting a message
// stays one round trip).
var errMarkedCommit = errors.New("redis: a commit with a dedupe mark (bot.Commit.Mark) is for a store that handles messages as they arrive")

// Finish implements bot.Store. On one Redis, a commit that erases nothing
// and sets no timer or escalation (the usual message) is one round trip that
// also schedules the new replies straight into their lane and releases the
// person; anything else, and on a Cluster, is Commit followed by the reads
// and the release.
func (s *Store) Finish(ctx context.Context, person, token string, c bot.Commit, release *bot.Claim, now time.Time) (bot.Begun, error) {
	if c.Mark != nil {
		return bot.Begun{}, errMarkedCommit
	}
	if err := checkPerson(person); err != nil {
		return bot.Begun{}, err
	}
	lane := c.Lane
	if !lane.Valid() || lane == bot.QueueInbound {
		lane = bot.QueueOutbound
	}
	simple := !c.Erase && len(c.Escalations) == 0 && len(c.SetTimers) == 0 && len(c.CancelTimers) == 0
	if s.cluster() || !simple {
		return s.finishInSteps(ctx, person, token, c, release, now)
	}
	out, err := encodeItems(c.Outbox)
	if err != nil {
		return bot.Begun{}, err
	}
	inbound := ""
	if c.InboundID != "" {
		inbound = headPrefix(c.InboundID)
	}
	hasSession, session, ttl := "0", []byte{}, ms(s.ret.Person)
	if c.Session != nil {
		session, hasSession = c.Session, "1"
		if c.SessionTTL > 0 {
			ttl = ms(c.SessionTTL)
		}
	}
	var until int64
	if release != nil {
		until = release.Until.UnixMilli()
	}
	qin, _ := s.queueKey(bot.QueueInbound)
	qlane, _ := s.queueKey(lane)
	qout, _ := s.queueKey(bot.QueueOutbound)
	keys := []string{
		s.key(person, "lock"), s.key(person, "session"), s.key(person, "in"), s.key(person, "out"),
		s.key(person, "esc"), s.key(person, "flags"), s.key(person, "timers"), s.key(person, "optout"),
		qin, qlane, qout,
	}
	args := append([]any{token, inbound, hasSession, session, ttl, ms(s.ret.Person), person, now.UnixMilli(),
		flag(release != nil), until}, out...)
	res, err := s.run(ctx, finishScript, keys, args...).Slice()
	if err != nil {
		return bot.Begun{}, fmt.Errorf("redis: finish: %w", err)
	}
	switch res[0] {
	case int64(-1):
		return bot.Begun{}, bot.ErrLockLost
	case int64(-2):
		return bot.Begun{}, fmt.Errorf("redis: finish: inbound %s is not the inbox head: %w", c.InboundID, bot.ErrNotFound)
	}
	b, err := begun(res[1:])
	if err != nil {
		return bot.Begun{}, err
	}
	if c.Session != nil {
		b.Session = c.Session // as written, not read back
	}
	if res[0] == int64(1) {
		b.Token = token
	}
	return b, nil
}

// finishInSteps is Finish as separate steps: Commit (which makes the person
// ready in QueueOutbound, whence the router moves them to their lane), the
// reads, and then the release and unlock.
func (s *Store) finishInSteps(ctx context.Context, person, token string, c bot.Commit, release *bot.Claim, now time.Time) (bot.Begun, error) {
	outLen, err := s.commit(ctx, person, token, c, now)
	if err != nil {
		return bot.Begun{}, err
	}
	if lane := c.Lane; len(c.Outbox) > 0 && outLen == int64(len(c.Outbox)) && lane.Valid() && lane != bot.QueueInbound {
		// Its first reply is the outbox head: ready in its lane now (the
		// commit made them ready in QueueOutbound too, in case of a crash
		// before this).
		if err := s.Schedule(ctx, lane, person, now); err != nil {
			return bot.Begun{}, err
		}
	}
	b, err := s.read(ctx, person, "", time.Millisecond)
	if err != nil {
		return bot.Begun{}, err
	}
	b.Token = token
	if release == nil || b.Head.ID != "" {
		return b, nil
	}
	if _, err := s.Release(ctx, bot.QueueInbound, *release); err != nil {
		return bot.Begun{}, err
	}
	if err := s.Unlock(ctx, person, token); err != nil {
		return bot.Begun{}, err
	}
	b.Token = ""
	return b, nil
}
