package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
)

// Conversations with staff (bot.Conversations). A conversation's keys share
// its person's hash tag, so every change to one is a single script on one
// slot:
//
//	<prefix>:p:{<person>}:conv             string: the id of the open conversation
//	<prefix>:p:{<person>}:convs            set of the person's conversation ids
//	<prefix>:p:{<person>}:conv:<id>        hash: state, reason, prio, lang, channel,
//	                                       opened, queued, holder, claimed, replied,
//	                                       closed, outcome (times in ms), contact (sealed)
//	<prefix>:p:{<person>}:conv:<id>:log    list of entries (id, NUL, sealed data)
//	<prefix>:p:{<person>}:conv:<id>:ids    set of the entry ids appended (dedupe)
//	<prefix>:p:{<person>}:conv:<id>:st     hash "<entry>:s" -> "rank|status|ms",
//	                                       "<entry>:v" -> via, "<entry>:e" -> error
//
// Global keys, changed by single-key commands after the conversation's own
// script (a crash in between leaves an index entry the readers drop):
//
//	<prefix>:cid:{<id>}        string: the conversation's person
//	<prefix>:conv:queue        zset "<person>/<id>" -> bot.QueueScore (waiting)
//	<prefix>:conv:held         zset "<person>/<id>" -> claim time (ms)
//	<prefix>:conv:events       pub/sub channel of bot.ConvEvent (JSON)
//
// Open conversations expire ttl after their last activity, closed ones keep
// after closing.

var _ bot.Conversations = (*Store)(nil)

func (s *Store) convKeys(person, id string) []string {
	rec := s.key(person, "conv:"+id)
	return []string{rec, rec + ":log", rec + ":ids", rec + ":st", s.key(person, "conv"), s.key(person, "convs")}
}

func (s *Store) cidKey(id string) string { return s.prefix + ":cid:{" + id + "}" }
func (s *Store) convQueue() string       { return s.prefix + ":conv:queue" }
func (s *Store) convHeld() string        { return s.prefix + ":conv:held" }
func (s *Store) convEvents() string      { return s.prefix + ":conv:events" }
func member(c bot.Conversation) string   { return c.Person + "/" + c.ID }
func msOf(t time.Time) int64             { return t.UnixMilli() }
func ttlMS(d time.Duration) int64        { return max(d.Milliseconds(), 1) }
func fromMS(v string) time.Time          { n, _ := strconv.ParseInt(v, 10, 64); return msTime(n) }
func newConvID() (string, error) {
	// "c" first: an id is never all digits (the audit refuses those).
	id, err := randomHex(8)
	return "c" + id, err
}
func checkConvID(id string) error { return checkName("conversation id", id) }
func msTime(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.UnixMilli(n)
}

func checkName(what, v string) error {
	if !validName(v) {
		return fmt.Errorf("redis: invalid %s %q", what, v)
	}
	return nil
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("redis: random id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// touch is the Lua that keeps an open conversation's keys for ARGV[ttl].
const touchLua = `
local function touch(ttl)
  for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ttl) end
  if redis.call('GET', KEYS[5]) then redis.call('PEXPIRE', KEYS[5], ttl) end
  if redis.call('PTTL', KEYS[6]) < tonumber(ttl) then redis.call('PEXPIRE', KEYS[6], ttl) end
end
`

var convCreateScript = goredis.NewScript(touchLua + `
-- KEYS: conv keys. ARGV: id, reason, prio, lang, channel, now, contact, ttl.
local cur = redis.call('GET', KEYS[5])
if cur then return cur end
redis.call('SET', KEYS[5], ARGV[1])
redis.call('SADD', KEYS[6], ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'waiting', 'reason', ARGV[2], 'prio', ARGV[3], 'lang', ARGV[4],
  'channel', ARGV[5], 'opened', ARGV[6], 'queued', ARGV[6], 'contact', ARGV[7], 'replied', '0', 'claimed', '0')
touch(ARGV[8])
return ''`)

var convJoinScript = goredis.NewScript(touchLua + `
-- KEYS: conv keys. ARGV: reason, prio, ttl. Returns 1, or 0 when not open.
local st = redis.call('HGET', KEYS[1], 'state')
if not st or st == 'closed' then return 0 end
if tonumber(ARGV[2]) > tonumber(redis.call('HGET', KEYS[1], 'prio')) then
  redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'prio', ARGV[2])
end
touch(ARGV[3])
return 1`)

// OpenConversation implements bot.Conversations.
func (s *Store) OpenConversation(ctx context.Context, c bot.Conversation, now time.Time) (bot.Conversation, bool, error) {
	if err := checkPerson(c.Person); err != nil {
		return bot.Conversation{}, false, err
	}
	for range 3 {
		cur, err := s.c.Get(ctx, s.key(c.Person, "conv")).Result()
		if err != nil && !errors.Is(err, goredis.Nil) {
			return bot.Conversation{}, false, fmt.Errorf("redis: open conversation: %w", err)
		}
		if cur != "" {
			joined, err := convJoinScript.Run(ctx, s.c, s.convKeys(c.Person, cur), c.Reason, c.Priority, ttlMS(s.ret.Person)).Int()
			if err != nil {
				return bot.Conversation{}, false, fmt.Errorf("redis: join conversation: %w", err)
			}
			if joined == 0 { // a pointer left by an expired or closed one
				if err := s.c.Del(ctx, s.key(c.Person, "conv")).Err(); err != nil {
					return bot.Conversation{}, false, fmt.Errorf("redis: open conversation: %w", err)
				}
				continue
			}
			got, err := s.reindexConv(ctx, c.Person, cur)
			return got, false, err
		}
		id, err := newConvID()
		if err != nil {
			return bot.Conversation{}, false, err
		}
		// The lookup goes first: a crash then leaves a lookup of nothing.
		if err := s.c.Set(ctx, s.cidKey(id), c.Person, s.ret.Person).Err(); err != nil {
			return bot.Conversation{}, false, fmt.Errorf("redis: open conversation: %w", err)
		}
		other, err := convCreateScript.Run(ctx, s.c, s.convKeys(c.Person, id), id, c.Reason, c.Priority, c.Lang,
			c.Channel, msOf(now), string(c.Contact), ttlMS(s.ret.Person)).Text()
		if err != nil {
			return bot.Conversation{}, false, fmt.Errorf("redis: open conversation: %w", err)
		}
		if other != "" { // opened meanwhile by someone else: join it
			_ = s.c.Del(ctx, s.cidKey(id)).Err()
			continue
		}
		got, err := s.reindexConv(ctx, c.Person, id)
		return got, true, err
	}
	return bot.Conversation{}, false, errors.New("redis: open conversation: gave up after concurrent changes")
}

// reindexConv reads a conversation and brings the indexes in line with it,
// then publishes its state.
func (s *Store) reindexConv(ctx context.Context, person, id string) (bot.Conversation, error) {
	c, err := s.readConv(ctx, person, id)
	if err != nil {
		return c, err
	}
	m := member(c)
	switch c.State {
	case bot.ConvWaiting:
		err = s.c.ZAdd(ctx, s.convQueue(), goredis.Z{Score: bot.QueueScore(c.Priority, c.Queued), Member: m}).Err()
		if err == nil {
			err = s.c.ZRem(ctx, s.convHeld(), m).Err()
		}
	case bot.ConvClaimed:
		err = s.c.ZAdd(ctx, s.convHeld(), goredis.Z{Score: float64(msOf(c.Claimed)), Member: m}).Err()
		if err == nil {
			err = s.c.ZRem(ctx, s.convQueue(), m).Err()
		}
	default:
		err = s.c.ZRem(ctx, s.convQueue(), m).Err()
		if err == nil {
			err = s.c.ZRem(ctx, s.convHeld(), m).Err()
		}
	}
	if err != nil {
		return c, fmt.Errorf("redis: index conversation: %w", err)
	}
	s.publishConv(ctx, bot.EventOf(c))
	return c, nil
}

// publishScript publishes from the node that serves the slot of KEYS[1] (the
// channel's own name), never from a random one: on a Redis Cluster a plain
// PUBLISH goes to any node, and two events published one after the other
// through different nodes can reach a subscriber in the other order (a
// console would see "claimed" after "closed"). One publishing node keeps the
// order every caller published in.
var publishScript = goredis.NewScript(`return redis.call('PUBLISH', KEYS[1], ARGV[1])`)

func (s *Store) publishConv(ctx context.Context, e bot.ConvEvent) {
	b, _ := json.Marshal(e)
	// Best effort: a lost event only delays a console's refresh.
	_ = publishScript.Run(ctx, s.c, []string{s.convEvents()}, b).Err()
}

// readConv reads one conversation's record, or bot.ErrNotFound.
func (s *Store) readConv(ctx context.Context, person, id string) (bot.Conversation, error) {
	h, err := s.c.HGetAll(ctx, s.convKeys(person, id)[0]).Result()
	if err != nil {
		return bot.Conversation{}, fmt.Errorf("redis: read conversation: %w", err)
	}
	return decodeConv(person, id, h)
}

func decodeConv(person, id string, h map[string]string) (bot.Conversation, error) {
	if h["state"] == "" {
		return bot.Conversation{}, bot.ErrNotFound
	}
	prio, _ := strconv.Atoi(h["prio"])
	c := bot.Conversation{
		ID: id, Person: person, State: bot.ConvState(h["state"]), Reason: h["reason"], Priority: prio,
		Lang: h["lang"], Channel: h["channel"], Opened: fromMS(h["opened"]), Queued: fromMS(h["queued"]),
		Holder: h["holder"], Claimed: fromMS(h["claimed"]), Replied: fromMS(h["replied"]),
		Closed: fromMS(h["closed"]), Outcome: h["outcome"],
	}
	if v := h["contact"]; v != "" {
		c.Contact = []byte(v)
	}
	return c, nil
}

// personOf finds a conversation's person from its id.
func (s *Store) personOf(ctx context.Context, id string) (string, error) {
	if err := checkConvID(id); err != nil {
		return "", err
	}
	p, err := s.c.Get(ctx, s.cidKey(id)).Result()
	if errors.Is(err, goredis.Nil) {
		return "", bot.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redis: find conversation: %w", err)
	}
	return p, nil
}

// Conversation implements bot.Conversations.
func (s *Store) Conversation(ctx context.Context, id string, now time.Time) (bot.Conversation, error) {
	p, err := s.personOf(ctx, id)
	if err != nil {
		return bot.Conversation{}, err
	}
	return s.readConv(ctx, p, id)
}

// OpenConversationOf implements bot.Conversations.
func (s *Store) OpenConversationOf(ctx context.Context, person string, now time.Time) (bot.Conversation, error) {
	if err := checkPerson(person); err != nil {
		return bot.Conversation{}, err
	}
	id, err := s.c.Get(ctx, s.key(person, "conv")).Result()
	if errors.Is(err, goredis.Nil) {
		return bot.Conversation{}, bot.ErrNotFound
	}
	if err != nil {
		return bot.Conversation{}, fmt.Errorf("redis: open conversation of: %w", err)
	}
	c, err := s.readConv(ctx, person, id)
	if err == nil && !c.Open() {
		return bot.Conversation{}, bot.ErrNotFound
	}
	return c, err
}

// OpenConversations implements bot.Conversations: the two indexes, each
// entry checked against its record (stale entries are dropped).
func (s *Store) OpenConversations(ctx context.Context, now time.Time) ([]bot.Conversation, error) {
	var members []string
	for _, idx := range []string{s.convQueue(), s.convHeld()} {
		ms, err := s.c.ZRange(ctx, idx, 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: list conversations: %w", err)
		}
		members = append(members, ms...)
	}
	cmds := make([]*goredis.MapStringStringCmd, len(members))
	if _, err := s.c.Pipelined(ctx, func(pl goredis.Pipeliner) error {
		for i, m := range members {
			p, id, _ := strings.Cut(m, "/")
			cmds[i] = pl.HGetAll(ctx, s.convKeys(p, id)[0])
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("redis: list conversations: %w", err)
	}
	var out []bot.Conversation
	seen := map[string]bool{}
	for i, m := range members {
		p, id, _ := strings.Cut(m, "/")
		c, err := decodeConv(p, id, cmds[i].Val())
		if err != nil || !c.Open() {
			// Expired or closed without its index entry removed (a crash).
			_ = s.c.ZRem(ctx, s.convQueue(), m).Err()
			_ = s.c.ZRem(ctx, s.convHeld(), m).Err()
			continue
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	bot.SortConversations(out)
	return out, nil
}

var convClaimScript = goredis.NewScript(`
-- KEYS: conv keys. ARGV: staff, now, timeout ms, force '1'/'0'.
-- Returns {1} claimed, {2} already the staff's, {0, holder}, {-1} missing, {-2} closed.
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {-1} end
if st == 'closed' then return {-2} end
if st == 'claimed' and ARGV[4] ~= '1' then
  local h = redis.call('HGET', KEYS[1], 'holder')
  if h == ARGV[1] then return {2} end
  local c = tonumber(redis.call('HGET', KEYS[1], 'claimed'))
  local r = tonumber(redis.call('HGET', KEYS[1], 'replied'))
  if r >= c or c + tonumber(ARGV[3]) > tonumber(ARGV[2]) then return {0, h} end
end
redis.call('HSET', KEYS[1], 'state', 'claimed', 'holder', ARGV[1], 'claimed', ARGV[2])
return {1}`)

// claimConv runs the claim script; force takes it whoever holds it.
func (s *Store) claimConv(ctx context.Context, id, staff string, now time.Time, timeout time.Duration, force bool) (bot.Conversation, error) {
	if staff == "" {
		return bot.Conversation{}, errors.New("redis: claim: no staff member")
	}
	p, err := s.personOf(ctx, id)
	if err != nil {
		return bot.Conversation{}, err
	}
	f := "0"
	if force {
		f = "1"
	}
	res, err := convClaimScript.Run(ctx, s.c, s.convKeys(p, id), staff, msOf(now), timeout.Milliseconds(), f).Slice()
	if err != nil {
		return bot.Conversation{}, fmt.Errorf("redis: claim conversation: %w", err)
	}
	switch res[0].(int64) {
	case -1:
		return bot.Conversation{}, bot.ErrNotFound
	case -2:
		return bot.Conversation{}, bot.ErrClosed
	case 0:
		return bot.Conversation{}, &bot.HeldError{Holder: res[1].(string)}
	case 2:
		return s.readConv(ctx, p, id)
	}
	return s.reindexConv(ctx, p, id)
}

// ClaimConversation implements bot.Conversations.
func (s *Store) ClaimConversation(ctx context.Context, id, staff string, now time.Time, timeout time.Duration) (bot.Conversation, error) {
	return s.claimConv(ctx, id, staff, now, timeout, false)
}

// AssignConversation implements bot.Conversations.
func (s *Store) AssignConversation(ctx context.Context, id, staff string, now time.Time) (bot.Conversation, error) {
	return s.claimConv(ctx, id, staff, now, 0, true)
}

var convReleaseScript = goredis.NewScript(`
-- KEYS: conv keys. ARGV: staff or '', stale-only '1'/'0', now, timeout ms.
-- Returns {1} released, {0, holder} held by another, {-1} missing, {-2} not claimed.
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return {-1} end
if st ~= 'claimed' then return {-2} end
local h = redis.call('HGET', KEYS[1], 'holder')
if ARGV[1] ~= '' and h ~= ARGV[1] then return {0, h} end
if ARGV[2] == '1' then
  local c = tonumber(redis.call('HGET', KEYS[1], 'claimed'))
  local r = tonumber(redis.call('HGET', KEYS[1], 'replied'))
  if r >= c or c + tonumber(ARGV[4]) > tonumber(ARGV[3]) then return {0, h} end
end
redis.call('HSET', KEYS[1], 'state', 'waiting', 'claimed', '0')
redis.call('HDEL', KEYS[1], 'holder')
return {1}`)

func (s *Store) releaseConv(ctx context.Context, p, id, staff string, stale bool, now time.Time, timeout time.Duration) (bot.Conversation, error) {
	st := "0"
	if stale {
		st = "1"
	}
	res, err := convReleaseScript.Run(ctx, s.c, s.convKeys(p, id), staff, st, msOf(now), timeout.Milliseconds()).Slice()
	if err != nil {
		return bot.Conversation{}, fmt.Errorf("redis: release conversation: %w", err)
	}
	switch res[0].(int64) {
	case -1:
		return bot.Conversation{}, bot.ErrNotFound
	case -2:
		c, err := s.reindexConv(ctx, p, id) // not claimed: the held index was stale
		if err == nil && c.State == bot.ConvClosed {
			err = bot.ErrClosed
		}
		return c, err
	case 0:
		return bot.Conversation{}, &bot.HeldError{Holder: res[1].(string)}
	}
	return s.reindexConv(ctx, p, id)
}

// ReleaseConversation implements bot.Conversations.
func (s *Store) ReleaseConversation(ctx context.Context, id, staff string, now time.Time) (bot.Conversation, error) {
	p, err := s.personOf(ctx, id)
	if err != nil {
		return bot.Conversation{}, err
	}
	return s.releaseConv(ctx, p, id, staff, false, now, 0)
}

// ReleaseStale implements bot.Conversations.
func (s *Store) ReleaseStale(ctx context.Context, now time.Time, timeout time.Duration) ([]bot.Conversation, error) {
	members, err := s.c.ZRangeByScore(ctx, s.convHeld(), &goredis.ZRangeBy{Min: "-inf", Max: strconv.FormatInt(msOf(now.Add(-timeout)), 10)}).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: stale claims: %w", err)
	}
	var out []bot.Conversation
	for _, m := range members {
		p, id, _ := strings.Cut(m, "/")
		c, err := s.releaseConv(ctx, p, id, "", true, now, timeout)
		var held *bot.HeldError
		switch {
		case errors.Is(err, bot.ErrNotFound):
			_ = s.c.ZRem(ctx, s.convHeld(), m).Err()
		case errors.As(err, &held), errors.Is(err, bot.ErrClosed):
		case err != nil:
			return out, err
		case c.State == bot.ConvWaiting:
			out = append(out, c)
		}
	}
	return out, nil
}

var convCloseScript = goredis.NewScript(`
-- KEYS: conv keys. ARGV: id, outcome, now, keep ms. Returns 1, 0 (already closed), -1 (missing).
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return -1 end
if st == 'closed' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'closed', 'outcome', ARGV[2], 'closed', ARGV[3])
if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[4]) end
if redis.call('PTTL', KEYS[6]) < tonumber(ARGV[4]) then redis.call('PEXPIRE', KEYS[6], ARGV[4]) end
return 1`)

// CloseConversation implements bot.Conversations.
func (s *Store) CloseConversation(ctx context.Context, id, outcome string, now time.Time, keep time.Duration) (bot.Conversation, error) {
	p, err := s.personOf(ctx, id)
	if err != nil {
		return bot.Conversation{}, err
	}
	n, err := convCloseScript.Run(ctx, s.c, s.convKeys(p, id), id, outcome, msOf(now), ttlMS(keep)).Int()
	if err != nil {
		return bot.Conversation{}, fmt.Errorf("redis: close conversation: %w", err)
	}
	switch n {
	case -1:
		return bot.Conversation{}, bot.ErrNotFound
	case 0:
		return bot.Conversation{}, bot.ErrClosed
	}
	if err := s.c.PExpire(ctx, s.cidKey(id), keep).Err(); err != nil {
		return bot.Conversation{}, fmt.Errorf("redis: close conversation: %w", err)
	}
	return s.reindexConv(ctx, p, id)
}

var convAppendScript = goredis.NewScript(touchLua + `
-- KEYS: conv keys. ARGV: entry id, encoded entry, holder or '', now, ttl.
-- Returns 1 appended, 0 duplicate, -1 missing, -2 closed, {-3, holder} not the holder's.
local st = redis.call('HGET', KEYS[1], 'state')
if not st then return -1 end
if st == 'closed' then return -2 end
if ARGV[3] ~= '' then
  local h = redis.call('HGET', KEYS[1], 'holder')
  if st ~= 'claimed' or h ~= ARGV[3] then return {-3, h or ''} end
end
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'replied', ARGV[4]) end
touch(ARGV[5])
return 1`)

// AppendEntry implements bot.Conversations.
func (s *Store) AppendEntry(ctx context.Context, person, id string, e bot.Entry, holder string, now time.Time) (bool, error) {
	if err := checkPerson(person); err != nil {
		return false, err
	}
	enc, err := encodeItem(bot.Item{ID: e.ID, Data: e.Data})
	if err != nil {
		return false, err
	}
	if id == "" {
		c, err := s.OpenConversationOf(ctx, person, now)
		if err != nil {
			return false, err
		}
		id = c.ID
	}
	if err := checkConvID(id); err != nil {
		return false, err
	}
	res, err := convAppendScript.Run(ctx, s.c, s.convKeys(person, id), e.ID, enc, holder, msOf(now), ttlMS(s.ret.Person)).Result()
	if err != nil {
		return false, fmt.Errorf("redis: append to conversation: %w", err)
	}
	if r, ok := res.([]any); ok {
		return false, &bot.HeldError{Holder: r[1].(string)}
	}
	switch res.(int64) {
	case -1:
		return false, bot.ErrNotFound
	case -2:
		return false, bot.ErrClosed
	case 0:
		return false, nil
	}
	return true, nil
}

// Entries implements bot.Conversations.
func (s *Store) Entries(ctx context.Context, id string, now time.Time) ([]bot.Entry, error) {
	p, err := s.personOf(ctx, id)
	if err != nil {
		return nil, err
	}
	keys := s.convKeys(p, id)
	if n, err := s.c.Exists(ctx, keys[0]).Result(); err != nil || n == 0 {
		if err != nil {
			return nil, fmt.Errorf("redis: read transcript: %w", err)
		}
		return nil, bot.ErrNotFound
	}
	vs, err := s.c.LRange(ctx, keys[1], 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: read transcript: %w", err)
	}
	st, err := s.c.HGetAll(ctx, keys[3]).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: read transcript: %w", err)
	}
	out := make([]bot.Entry, 0, len(vs))
	for _, v := range vs {
		it, err := decodeItem(v)
		if err != nil {
			return nil, err
		}
		e := bot.Entry{ID: it.ID, Data: it.Data}
		if s := st[it.ID+":s"]; s != "" {
			parts := strings.SplitN(s, "|", 3)
			if len(parts) == 3 {
				e.Status.Status = parts[1]
				e.Status.At = fromMS(parts[2])
			}
		}
		e.Status.Via, e.Status.Error = st[it.ID+":v"], st[it.ID+":e"]
		out = append(out, e)
	}
	return out, nil
}

var convStatusScript = goredis.NewScript(`
-- KEYS: conv keys. ARGV: entry, rank, status, now ms, via, error.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] ~= '' then
  local cur = redis.call('HGET', KEYS[4], ARGV[1] .. ':s')
  local rank = 0
  if cur then rank = tonumber(string.match(cur, '^(%d+)|')) end
  if tonumber(ARGV[2]) > rank then
    redis.call('HSET', KEYS[4], ARGV[1] .. ':s', ARGV[2] .. '|' .. ARGV[3] .. '|' .. ARGV[4])
  end
end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[4], ARGV[1] .. ':v', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[4], ARGV[1] .. ':e', ARGV[6]) end
redis.call('PEXPIRE', KEYS[4], redis.call('PTTL', KEYS[1]))
return 1`)

// SetEntryStatus implements bot.Conversations.
func (s *Store) SetEntryStatus(ctx context.Context, person, id, entry string, st bot.EntryStatus, now time.Time) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	if err := checkConvID(id); err != nil {
		return err
	}
	if err := checkName("entry id", entry); err != nil {
		return err
	}
	err := convStatusScript.Run(ctx, s.c, s.convKeys(person, id), entry, bot.StatusRank(st.Status), st.Status,
		msOf(st.At), st.Via, st.Error).Err()
	if err != nil {
		return fmt.Errorf("redis: entry status: %w", err)
	}
	return nil
}

var convEraseScript = goredis.NewScript(`
-- KEYS: conv keys of one conversation. Deletes it and its transcript.
for i = 1, 4 do redis.call('DEL', KEYS[i]) end
redis.call('SREM', KEYS[6], ARGV[1])
if redis.call('GET', KEYS[5]) == ARGV[1] then redis.call('DEL', KEYS[5]) end
return 0`)

// EraseConversations implements bot.Conversations.
func (s *Store) EraseConversations(ctx context.Context, person string, now time.Time) ([]string, error) {
	if err := checkPerson(person); err != nil {
		return nil, err
	}
	ids, err := s.c.SMembers(ctx, s.key(person, "convs")).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: erase conversations: %w", err)
	}
	if cur, err := s.c.Get(ctx, s.key(person, "conv")).Result(); err == nil && !slices.Contains(ids, cur) {
		ids = append(ids, cur)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := checkConvID(id); err != nil {
			continue
		}
		if err := convEraseScript.Run(ctx, s.c, s.convKeys(person, id), id).Err(); err != nil {
			return nil, fmt.Errorf("redis: erase conversation: %w", err)
		}
		m := person + "/" + id
		for _, err := range []error{
			s.c.ZRem(ctx, s.convQueue(), m).Err(), s.c.ZRem(ctx, s.convHeld(), m).Err(), s.c.Del(ctx, s.cidKey(id)).Err(),
		} {
			if err != nil {
				return nil, fmt.Errorf("redis: erase conversation: %w", err)
			}
		}
		s.publishConv(ctx, bot.ConvEvent{ID: id})
	}
	if err := s.c.Del(ctx, s.key(person, "convs"), s.key(person, "conv")).Err(); err != nil {
		return nil, fmt.Errorf("redis: erase conversations: %w", err)
	}
	return ids, nil
}

// SubscribeConversations implements bot.Conversations with Redis pub/sub, so
// a console in one process hears changes made by another.
func (s *Store) SubscribeConversations(ctx context.Context) (<-chan bot.ConvEvent, error) {
	sub := s.c.Subscribe(ctx, s.convEvents())
	if _, err := sub.Receive(ctx); err != nil { // the subscription is confirmed
		_ = sub.Close()
		return nil, fmt.Errorf("redis: subscribe to conversations: %w", err)
	}
	out := make(chan bot.ConvEvent, 64)
	go func() {
		defer close(out)
		defer sub.Close()
		msgs := sub.Channel()
		for {
			select {
			case <-ctx.Done():
				return
			case m, ok := <-msgs:
				if !ok {
					return
				}
				var e bot.ConvEvent
				if json.Unmarshal([]byte(m.Payload), &e) != nil {
					continue
				}
				select {
				case out <- e:
				default: // a slow reader misses events, never blocks the others
				}
			}
		}
	}()
	return out, nil
}
