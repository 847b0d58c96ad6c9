package redis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/store"
	"github.com/enlace-rfl/enlace/tracing"
)

// Tracing case keys (see tracing.Store). A case's own keys share its hash tag;
// the indexes share one other tag, so each side changes in one Lua script on
// one slot. Every key expires: a case's keys with the case, an index key with
// the longest-lived case it names; index entries of expired cases are pruned,
// by the time given, by every script that touches the index.
//
//	<prefix>:case:{c:<id>}              hash: index fields, times, sealed case; PX to its expiry
//	<prefix>:case:{c:<id>}:pin          hash n, until_ms, until; PX as the case
//	<prefix>:case:{cases}:ids           hash id -> "<code key> <enquirer key>"
//	<prefix>:case:{cases}:all           zset id by waiting since (ms)
//	<prefix>:case:{cases}:exp           zset id by expiry (ms)
//	<prefix>:case:{cases}:code:<key>    string case id; PX to the case's expiry
//	<prefix>:case:{cases}:enq:<key>     set of the enquirer's case ids
//
// The case is written after its index entries and erased before them, so a
// crash in between leaves an index entry naming no case, which reads as absent.

var _ tracing.Store = (*Store)(nil)

func (s *Store) caseKey(id string) string { return s.prefix + ":case:{c:" + id + "}" }
func (s *Store) caseIdx() string          { return s.prefix + ":case:{cases}:" }

func caseInvalid(what string) error { return fmt.Errorf("redis: %w: %s", tracing.ErrInvalid, what) }

func checkCaseRecord(rec tracing.Record, now time.Time) error {
	switch {
	case !store.ValidName(rec.ID):
		return caseInvalid("case id")
	case !store.ValidName(rec.CodeKey):
		return caseInvalid("code key")
	case !store.ValidName(rec.EnquirerKey):
		return caseInvalid("enquirer key")
	case rec.Caseworker != "" && !store.ValidName(rec.Caseworker):
		return caseInvalid("caseworker")
	case !tracing.KnownStatus(rec.Status):
		return caseInvalid("status")
	case rec.Expires.Sub(now) < time.Millisecond:
		return caseInvalid("expiry not after now")
	case len(rec.Sealed) == 0:
		return caseInvalid("nothing sealed")
	}
	return nil
}

// pruneLua removes the index entries of cases expired at ARGV[1] (ms);
// KEYS[1..3] are ids, all, exp and ARGV[2] the index key prefix.
const pruneLua = `
local function drop(id)
  local e = redis.call('HGET', KEYS[1], id)
  if e then
    local sp = string.find(e, ' ', 1, true)
    local ck, ek = string.sub(e, 1, sp - 1), string.sub(e, sp + 1)
    local k = ARGV[2] .. 'code:' .. ck
    if redis.call('GET', k) == id then redis.call('DEL', k) end
    redis.call('SREM', ARGV[2] .. 'enq:' .. ek, id)
  end
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])) do drop(id) end
local function extend(k, ttl)
  if redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
end
`

// putIndexScript: ARGV 3 id, 4 code key, 5 enquirer key, 6 waiting ms, 7 expires ms, 8 ttl ms.
var putIndexScript = goredis.NewScript(pruneLua + `
local id, ck, ek, ttl = ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[8])
local ckey = ARGV[2] .. 'code:' .. ck
local owner = redis.call('GET', ckey)
if owner and owner ~= id then return 0 end
local old = redis.call('HGET', KEYS[1], id)
if old and old ~= ck .. ' ' .. ek then drop(id) end
redis.call('SET', ckey, id, 'PX', ttl)
local ekey = ARGV[2] .. 'enq:' .. ek
redis.call('SADD', ekey, id)
extend(ekey, ttl)
redis.call('HSET', KEYS[1], id, ck .. ' ' .. ek)
redis.call('ZADD', KEYS[2], ARGV[6], id)
redis.call('ZADD', KEYS[3], ARGV[7], id)
for i = 1, 3 do extend(KEYS[i], ttl) end
return 1`)

// dropIndexScript removes the index entries of the ids ARGV[3..] (and prunes).
var dropIndexScript = goredis.NewScript(pruneLua + `
for i = 3, #ARGV do drop(ARGV[i]) end
return 1`)

// pruneIndexScript only prunes.
var pruneIndexScript = goredis.NewScript(pruneLua + `return 1`)

func (s *Store) idxKeys() []string {
	p := s.caseIdx()
	return []string{p + "ids", p + "all", p + "exp"}
}

func unixMS(t time.Time) int64 { return t.UnixMilli() }

const caseTime = time.RFC3339Nano

// PutCase implements tracing.Store.
func (s *Store) PutCase(ctx context.Context, rec tracing.Record, now time.Time) error {
	if err := checkCaseRecord(rec, now); err != nil {
		return err
	}
	ttl := rec.Expires.Sub(now).Milliseconds()
	ok, err := putIndexScript.Run(ctx, s.c, s.idxKeys(), unixMS(now), s.caseIdx(), rec.ID, rec.CodeKey,
		rec.EnquirerKey, unixMS(rec.Waiting), unixMS(rec.Expires), ttl).Int()
	if err != nil {
		return fmt.Errorf("redis: index case: %w", err)
	}
	if ok == 0 {
		return tracing.ErrCodeTaken
	}
	k := s.caseKey(rec.ID)
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.Del(ctx, k)
		p.HSet(ctx, k, "id", rec.ID, "code", rec.CodeKey, "enq", rec.EnquirerKey, "status", string(rec.Status),
			"cw", rec.Caseworker, "created", rec.Created.Format(caseTime), "updated", rec.Updated.Format(caseTime),
			"waiting", rec.Waiting.Format(caseTime), "expires", rec.Expires.Format(caseTime),
			"expires_ms", unixMS(rec.Expires), "sealed", rec.Sealed)
		p.PExpire(ctx, k, time.Duration(ttl)*time.Millisecond)
		p.PExpire(ctx, k+":pin", time.Duration(ttl)*time.Millisecond)
		return nil
	})
	if err != nil {
		return fmt.Errorf("redis: write case: %w", err)
	}
	return nil
}

// replaceCaseScript writes a case's hash (KEYS[1]) only if its sealed bytes
// are still ARGV[1]: 0 when gone, -1 when changed. ARGV[2] is the TTL in ms,
// then field, value pairs.
var replaceCaseScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], 'sealed')
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`)

// ReplaceCase implements tracing.Store: the case's own hash is replaced in
// one script, on its sealed bytes; its index entries follow.
func (s *Store) ReplaceCase(ctx context.Context, rec tracing.Record, prev []byte, now time.Time) error {
	if err := checkCaseRecord(rec, now); err != nil {
		return err
	}
	ttl := rec.Expires.Sub(now).Milliseconds()
	args := []any{prev, ttl, "id", rec.ID, "code", rec.CodeKey, "enq", rec.EnquirerKey, "status", string(rec.Status),
		"cw", rec.Caseworker, "created", rec.Created.Format(caseTime), "updated", rec.Updated.Format(caseTime),
		"waiting", rec.Waiting.Format(caseTime), "expires", rec.Expires.Format(caseTime),
		"expires_ms", unixMS(rec.Expires), "sealed", rec.Sealed}
	// The case's hash and PIN count share its hash tag, so the script is cluster safe.
	k := s.caseKey(rec.ID)
	n, err := replaceCaseScript.Run(ctx, s.c, []string{k, k + ":pin"}, args...).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redis: replace case: %w", err)
	case n == 0:
		return tracing.ErrNotFound
	case n < 0:
		return tracing.ErrChanged
	}
	ok, err := putIndexScript.Run(ctx, s.c, s.idxKeys(), unixMS(now), s.caseIdx(), rec.ID, rec.CodeKey,
		rec.EnquirerKey, unixMS(rec.Waiting), unixMS(rec.Expires), ttl).Int()
	if err != nil {
		return fmt.Errorf("redis: index case: %w", err)
	}
	if ok == 0 {
		return tracing.ErrCodeTaken
	}
	return nil
}

func parseCase(m map[string]string) (tracing.Record, error) {
	r := tracing.Record{ID: m["id"], CodeKey: m["code"], EnquirerKey: m["enq"], Status: tracing.Status(m["status"]),
		Caseworker: m["cw"], Sealed: []byte(m["sealed"])}
	for _, f := range []struct {
		name string
		to   *time.Time
	}{{"created", &r.Created}, {"updated", &r.Updated}, {"waiting", &r.Waiting}, {"expires", &r.Expires}} {
		t, err := time.Parse(caseTime, m[f.name])
		if err != nil {
			return r, fmt.Errorf("redis: case %s: %s: %w", r.ID, f.name, err)
		}
		*f.to = t
	}
	return r, nil
}

// GetCase implements tracing.Store.
func (s *Store) GetCase(ctx context.Context, id string, now time.Time) (tracing.Record, error) {
	if !store.ValidName(id) {
		return tracing.Record{}, caseInvalid("case id")
	}
	m, err := s.c.HGetAll(ctx, s.caseKey(id)).Result()
	if err != nil {
		return tracing.Record{}, fmt.Errorf("redis: read case: %w", err)
	}
	if len(m) == 0 {
		return tracing.Record{}, tracing.ErrNotFound
	}
	r, err := parseCase(m)
	if err != nil {
		return r, err
	}
	if !now.Before(r.Expires) {
		return tracing.Record{}, tracing.ErrNotFound
	}
	return r, nil
}

// CaseByCode implements tracing.Store.
func (s *Store) CaseByCode(ctx context.Context, codeKey string, now time.Time) (string, error) {
	if !store.ValidName(codeKey) {
		return "", caseInvalid("code key")
	}
	id, err := s.c.Get(ctx, s.caseIdx()+"code:"+codeKey).Result()
	if errors.Is(err, goredis.Nil) {
		return "", tracing.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redis: find case by code: %w", err)
	}
	r, err := s.GetCase(ctx, id, now)
	if err != nil {
		return "", err
	}
	if r.CodeKey != codeKey {
		return "", tracing.ErrNotFound
	}
	return id, nil
}

// ListCases implements tracing.Store. It reads every listed case's fields (not
// made for more than some thousands of cases).
func (s *Store) ListCases(ctx context.Context, q tracing.ListQuery, now time.Time) ([]tracing.Record, error) {
	if err := pruneIndexScript.Run(ctx, s.c, s.idxKeys(), unixMS(now), s.caseIdx()).Err(); err != nil {
		return nil, fmt.Errorf("redis: prune cases: %w", err)
	}
	ids, err := s.c.ZRange(ctx, s.caseIdx()+"all", 0, -1).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list cases: %w", err)
	}
	cmds := make([]*goredis.MapStringStringCmd, len(ids))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HGetAll(ctx, s.caseKey(id))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redis: list cases: %w", err)
	}
	var out []tracing.Record
	for _, c := range cmds {
		if len(c.Val()) == 0 {
			continue
		}
		r, err := parseCase(c.Val())
		if err != nil {
			return nil, err
		}
		if now.Before(r.Expires) && q.Wants(r) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, tracing.CompareWaiting)
	off, limit := q.PageBounds()
	if off >= len(out) {
		return nil, nil
	}
	return out[off:min(len(out), off+limit)], nil
}

// pinFailureScript: KEYS case, pin; ARGV now ms, lock until ms, lock until
// (text), limit. Returns nil for no case, else {outcome, n, until}.
var pinFailureScript = goredis.NewScript(`
local exp = tonumber(redis.call('HGET', KEYS[1], 'expires_ms'))
if not exp or exp <= tonumber(ARGV[1]) then return false end
local now = tonumber(ARGV[1])
local n = tonumber(redis.call('HGET', KEYS[2], 'n') or '0')
local um = tonumber(redis.call('HGET', KEYS[2], 'until_ms') or '0')
local u = redis.call('HGET', KEYS[2], 'until') or ''
if now < um then return {4, n, u} end
if um > 0 then n, um, u = 0, 0, '' end
n = n + 1
local out = 2
if n >= tonumber(ARGV[4]) then
  n, um, u, out = tonumber(ARGV[4]), tonumber(ARGV[2]), ARGV[3], 3
end
redis.call('HSET', KEYS[2], 'n', n, 'until_ms', um, 'until', u)
redis.call('PEXPIRE', KEYS[2], redis.call('PTTL', KEYS[1]))
return {out, n, u}`)

func pinState(n int64, until string) (tracing.PINState, error) {
	p := tracing.PINState{Failures: int(n)}
	if until != "" {
		t, err := time.Parse(caseTime, until)
		if err != nil {
			return p, fmt.Errorf("redis: PIN lock time: %w", err)
		}
		p.LockedUntil = t
	}
	return p, nil
}

// PINFailure implements tracing.Store: one Lua script on the case's slot.
func (s *Store) PINFailure(ctx context.Context, id string, now time.Time) (tracing.PINOutcome, tracing.PINState, error) {
	if !store.ValidName(id) {
		return 0, tracing.PINState{}, caseInvalid("case id")
	}
	k := s.caseKey(id)
	until := now.Add(tracing.PINLockFor)
	res, err := pinFailureScript.Run(ctx, s.c, []string{k, k + ":pin"}, unixMS(now), unixMS(until),
		until.Format(caseTime), tracing.MaxPINFailures).Slice()
	if errors.Is(err, goredis.Nil) {
		return 0, tracing.PINState{}, tracing.ErrNotFound
	}
	if err != nil || len(res) != 3 {
		return 0, tracing.PINState{}, fmt.Errorf("redis: count wrong PIN: %v %w", res, err)
	}
	out, _ := res[0].(int64)
	n, _ := res[1].(int64)
	u, _ := res[2].(string)
	p, err := pinState(n, u)
	return tracing.PINOutcome(out), p, err
}

// PINState implements tracing.Store.
func (s *Store) PINState(ctx context.Context, id string, now time.Time) (tracing.PINState, error) {
	if _, err := s.GetCase(ctx, id, now); err != nil {
		return tracing.PINState{}, err
	}
	v, err := s.c.HMGet(ctx, s.caseKey(id)+":pin", "n", "until").Result()
	if err != nil {
		return tracing.PINState{}, fmt.Errorf("redis: read PIN state: %w", err)
	}
	ns, _ := v[0].(string)
	u, _ := v[1].(string)
	n, _ := strconv.ParseInt(ns, 10, 64)
	return pinState(n, u)
}

var pinResetScript = goredis.NewScript(`
if tonumber(ARGV[1]) < tonumber(redis.call('HGET', KEYS[1], 'until_ms') or '0') then return 0 end
return redis.call('DEL', KEYS[1])`)

// PINReset implements tracing.Store.
func (s *Store) PINReset(ctx context.Context, id string, now time.Time) error {
	if !store.ValidName(id) {
		return caseInvalid("case id")
	}
	if err := pinResetScript.Run(ctx, s.c, []string{s.caseKey(id) + ":pin"}, unixMS(now)).Err(); err != nil {
		return fmt.Errorf("redis: reset PIN count: %w", err)
	}
	return nil
}

// PINClear implements tracing.Store.
func (s *Store) PINClear(ctx context.Context, id string) error {
	if !store.ValidName(id) {
		return caseInvalid("case id")
	}
	if err := s.c.Del(ctx, s.caseKey(id)+":pin").Err(); err != nil {
		return fmt.Errorf("redis: clear PIN state: %w", err)
	}
	return nil
}

// EraseCase implements tracing.Store.
func (s *Store) EraseCase(ctx context.Context, id string) error {
	if !store.ValidName(id) {
		return caseInvalid("case id")
	}
	return s.eraseCases(ctx, []string{id})
}

// eraseCases deletes the cases' own keys, then their index entries.
func (s *Store) eraseCases(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	for _, id := range ids {
		k := s.caseKey(id)
		if err := s.c.Del(ctx, k, k+":pin").Err(); err != nil {
			return fmt.Errorf("redis: erase case: %w", err)
		}
	}
	// Pruning needs a time; erasing does not, so it prunes nothing (-inf).
	args := []any{"-inf", s.caseIdx()}
	for _, id := range ids {
		args = append(args, id)
	}
	if err := dropIndexScript.Run(ctx, s.c, s.idxKeys(), args...).Err(); err != nil {
		return fmt.Errorf("redis: erase case index: %w", err)
	}
	return nil
}

// CasesOf implements tracing.Store.
func (s *Store) CasesOf(ctx context.Context, enquirerKey string, now time.Time) ([]string, error) {
	if !store.ValidName(enquirerKey) {
		return nil, caseInvalid("enquirer key")
	}
	ids, err := s.c.SMembers(ctx, s.caseIdx()+"enq:"+enquirerKey).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: find enquirer's cases: %w", err)
	}
	live := ids[:0]
	for _, id := range ids {
		if _, err := s.GetCase(ctx, id, now); err == nil {
			live = append(live, id)
		} else if !errors.Is(err, tracing.ErrNotFound) {
			return nil, err
		}
	}
	slices.Sort(live)
	return live, nil
}

// EraseEnquirer implements tracing.Store.
func (s *Store) EraseEnquirer(ctx context.Context, enquirerKey string) ([]string, error) {
	if !store.ValidName(enquirerKey) {
		return nil, caseInvalid("enquirer key")
	}
	ek := s.caseIdx() + "enq:" + enquirerKey
	ids, err := s.c.SMembers(ctx, ek).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: find enquirer's cases: %w", err)
	}
	// Each id leaves the set as its index entries go (an empty set is no
	// key): a case stored for the enquirer meanwhile stays in it.
	if err := s.eraseCases(ctx, ids); err != nil {
		return nil, err
	}
	return ids, nil
}

// resealCaseScript replaces a case's sealed bytes if they are still ARGV[1].
var resealCaseScript = goredis.NewScript(`
if redis.call('HGET', KEYS[1], 'sealed') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'sealed', ARGV[2])
return 1`)

// ResealCases implements tracing.Store: case by case, each replaced only if
// unchanged since it was read.
func (s *Store) ResealCases(ctx context.Context, f func(id string, sealed []byte) ([]byte, error)) (int, error) {
	ids, err := s.c.ZRange(ctx, s.caseIdx()+"all", 0, -1).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: reseal cases: %w", err)
	}
	n := 0
	for _, id := range ids {
		k := s.caseKey(id)
		old, err := s.c.HGet(ctx, k, "sealed").Bytes()
		if errors.Is(err, goredis.Nil) {
			continue
		}
		if err != nil {
			return n, fmt.Errorf("redis: reseal cases: %w", err)
		}
		out, err := f(id, old)
		if err != nil {
			return n, err
		}
		if out == nil {
			continue
		}
		ok, err := resealCaseScript.Run(ctx, s.c, []string{k}, old, out).Int()
		if err != nil {
			return n, fmt.Errorf("redis: reseal case: %w", err)
		}
		n += ok
	}
	return n, nil
}
