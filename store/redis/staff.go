package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/staff"
)

// Staff keys (see package staff). Accounts are few, so they share one hash
// tag and every account change is one Lua script on one slot; the audit log is
// one chain, so it shares another; sessions and failure counters are single keys.
//
//	<prefix>:staff:{staff}:accounts   hash account id -> sealed account
//	<prefix>:staff:{staff}:names      hash keyed hash of login name -> account id
//	<prefix>:staff:{ses:<key>}        string "<expiry ms>:" + sealed session, PX to its expiry
//	<prefix>:staff:{fail:<key>}:<w>   counter of failed logins in window w, PX two windows
//	<prefix>:staff:{audit}:log        hash seq -> sealed audit entry
//	<prefix>:staff:{audit}:head       hash seq, hash, floor, floorprev

var _ staff.Store = (*Store)(nil)

func (s *Store) staffKey(suffix string) string { return s.prefix + ":staff:" + suffix }

func staffCheck(kind, v string) error {
	if !validName(v) {
		return fmt.Errorf("redis: invalid staff %s %q", kind, v)
	}
	return nil
}

var createAccountScript = goredis.NewScript(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
return 1`)

// CreateAccount implements staff.Store.
func (s *Store) CreateAccount(ctx context.Context, id, nameKey string, rec []byte) error {
	if err := errors.Join(staffCheck("account id", id), staffCheck("name key", nameKey)); err != nil {
		return err
	}
	n, err := createAccountScript.Run(ctx, s.c, []string{s.staffKey("{staff}:accounts"), s.staffKey("{staff}:names")},
		id, nameKey, rec).Int()
	if err != nil {
		return fmt.Errorf("redis: create staff account: %w", err)
	}
	if n == 0 {
		return staff.ErrExists
	}
	return nil
}

// Account implements staff.Store.
func (s *Store) Account(ctx context.Context, id string) ([]byte, error) {
	if err := staffCheck("account id", id); err != nil {
		return nil, err
	}
	b, err := s.c.HGet(ctx, s.staffKey("{staff}:accounts"), id).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, staff.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis: read staff account: %w", err)
	}
	return b, nil
}

// AccountByName implements staff.Store.
func (s *Store) AccountByName(ctx context.Context, nameKey string) (string, error) {
	if err := staffCheck("name key", nameKey); err != nil {
		return "", err
	}
	id, err := s.c.HGet(ctx, s.staffKey("{staff}:names"), nameKey).Result()
	if errors.Is(err, goredis.Nil) {
		return "", staff.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redis: read staff name: %w", err)
	}
	return id, nil
}

// Accounts implements staff.Store.
func (s *Store) Accounts(ctx context.Context) (map[string][]byte, error) {
	m, err := s.c.HGetAll(ctx, s.staffKey("{staff}:accounts")).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: list staff accounts: %w", err)
	}
	out := make(map[string][]byte, len(m))
	for id, rec := range m {
		out[id] = []byte(rec)
	}
	return out, nil
}

var updateAccountScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return -1 end
if cur ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1`)

// UpdateAccount implements staff.Store.
func (s *Store) UpdateAccount(ctx context.Context, id string, old, rec []byte) error {
	if err := staffCheck("account id", id); err != nil {
		return err
	}
	n, err := updateAccountScript.Run(ctx, s.c, []string{s.staffKey("{staff}:accounts")}, id, old, rec).Int()
	if err != nil {
		return fmt.Errorf("redis: update staff account: %w", err)
	}
	switch n {
	case -1:
		return staff.ErrNotFound
	case 0:
		return staff.ErrConflict
	}
	return nil
}

func (s *Store) sessionKey(key string) string { return s.staffKey("{ses:" + key + "}") }

// PutSession implements staff.Store. The key's TTL only collects garbage:
// whether a session is live is decided from the expiry written in the value
// and the caller's clock.
func (s *Store) PutSession(ctx context.Context, key string, rec []byte, now, expires time.Time) error {
	if err := staffCheck("session key", key); err != nil {
		return err
	}
	ttl := expires.Sub(now)
	if ttl <= 0 {
		return s.DeleteSession(ctx, key)
	}
	v := strconv.FormatInt(expires.UnixMilli(), 10) + ":" + string(rec)
	if err := s.c.Set(ctx, s.sessionKey(key), v, ttl).Err(); err != nil {
		return fmt.Errorf("redis: write staff session: %w", err)
	}
	return nil
}

// Session implements staff.Store.
func (s *Store) Session(ctx context.Context, key string, now time.Time) ([]byte, error) {
	if err := staffCheck("session key", key); err != nil {
		return nil, err
	}
	v, err := s.c.Get(ctx, s.sessionKey(key)).Result()
	if errors.Is(err, goredis.Nil) {
		return nil, staff.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis: read staff session: %w", err)
	}
	exp, rec, ok := strings.Cut(v, ":")
	ms, perr := strconv.ParseInt(exp, 10, 64)
	if !ok || perr != nil {
		return nil, errors.New("redis: corrupt staff session")
	}
	if now.UnixMilli() >= ms {
		return nil, staff.ErrNotFound
	}
	return []byte(rec), nil
}

// DeleteSession implements staff.Store.
func (s *Store) DeleteSession(ctx context.Context, key string) error {
	if err := staffCheck("session key", key); err != nil {
		return err
	}
	if err := s.c.Del(ctx, s.sessionKey(key)).Err(); err != nil {
		return fmt.Errorf("redis: delete staff session: %w", err)
	}
	return nil
}

func (s *Store) failKey(key string, now time.Time, window time.Duration) string {
	return s.staffKey("{fail:"+key+"}:") + strconv.FormatInt(now.UnixNano()/int64(window), 10)
}

var addFailureScript = goredis.NewScript(`
local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return n`)

// AddFailure implements staff.Store. The window is chosen from now, so the
// count is exact under any clock; the key's TTL only collects garbage.
func (s *Store) AddFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int64, error) {
	if err := staffCheck("failure key", key); err != nil {
		return 0, err
	}
	if window <= 0 {
		return 0, errors.New("redis: failure window must be positive")
	}
	n, err := addFailureScript.Run(ctx, s.c, []string{s.failKey(key, now, window)}, (2 * window).Milliseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("redis: count failure: %w", err)
	}
	return n, nil
}

// Failures implements staff.Store.
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int64, error) {
	if err := staffCheck("failure key", key); err != nil {
		return 0, err
	}
	if window <= 0 {
		return 0, errors.New("redis: failure window must be positive")
	}
	n, err := s.c.Get(ctx, s.failKey(key, now, window)).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("redis: read failures: %w", err)
	}
	return n, nil
}

func (s *Store) auditKeys() []string {
	return []string{s.staffKey("{audit}:log"), s.staffKey("{audit}:head")}
}

// AuditHead implements staff.Store.
func (s *Store) AuditHead(ctx context.Context) (staff.AuditHead, error) {
	m, err := s.c.HGetAll(ctx, s.auditKeys()[1]).Result()
	if err != nil {
		return staff.AuditHead{}, fmt.Errorf("redis: read audit head: %w", err)
	}
	h := staff.AuditHead{Hash: m["hash"], FloorPrev: m["floorprev"], Floor: 1}
	if v, ok := m["seq"]; ok {
		if h.Seq, err = strconv.ParseInt(v, 10, 64); err != nil {
			return staff.AuditHead{}, errors.New("redis: corrupt audit head")
		}
	}
	if v, ok := m["floor"]; ok {
		if h.Floor, err = strconv.ParseInt(v, 10, 64); err != nil {
			return staff.AuditHead{}, errors.New("redis: corrupt audit floor")
		}
	}
	return h, nil
}

var appendAuditScript = goredis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[2], 'seq') or '0')
if cur ~= tonumber(ARGV[1]) - 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[2], 'seq', ARGV[1], 'hash', ARGV[2])
return 1`)

// AppendAudit implements staff.Store.
func (s *Store) AppendAudit(ctx context.Context, seq int64, hash string, rec []byte) error {
	n, err := appendAuditScript.Run(ctx, s.c, s.auditKeys(), seq, hash, rec).Int()
	if err != nil {
		return fmt.Errorf("redis: append audit entry: %w", err)
	}
	if n == 0 {
		return staff.ErrConflict
	}
	return nil
}

// AuditEntries implements staff.Store.
func (s *Store) AuditEntries(ctx context.Context, from int64, n int) ([]staff.AuditRecord, error) {
	if n <= 0 {
		return nil, nil
	}
	from = max(from, 1)
	fields := make([]string, n)
	for i := range fields {
		fields[i] = strconv.FormatInt(from+int64(i), 10)
	}
	vals, err := s.c.HMGet(ctx, s.auditKeys()[0], fields...).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: read audit entries: %w", err)
	}
	var out []staff.AuditRecord
	for i, v := range vals {
		if str, ok := v.(string); ok {
			out = append(out, staff.AuditRecord{Seq: from + int64(i), Data: []byte(str)})
		}
	}
	return out, nil
}

var trimAuditScript = goredis.NewScript(`
local floor = tonumber(redis.call('HGET', KEYS[2], 'floor') or '1')
local through = tonumber(ARGV[1])
for i = floor, through do redis.call('HDEL', KEYS[1], tostring(i)) end
if through + 1 > floor then
  redis.call('HSET', KEYS[2], 'floor', through + 1, 'floorprev', ARGV[2])
end
return 1`)

// TrimAudit implements staff.Store.
func (s *Store) TrimAudit(ctx context.Context, through int64, hash string) error {
	if err := trimAuditScript.Run(ctx, s.c, s.auditKeys(), through, hash).Err(); err != nil {
		return fmt.Errorf("redis: trim audit: %w", err)
	}
	return nil
}

// resealStaffField replaces a hash field only if it still holds what was read.
var resealStaffField = goredis.NewScript(`
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
  return 1
end
return 0`)

// ResealStaff implements staff.Store: accounts and audit entries field by
// field, sessions key by key on every node; each replacement only if the
// record is still what was read.
func (s *Store) ResealStaff(ctx context.Context, f func(kind staff.RecordKind, rec []byte) ([]byte, error)) (int, error) {
	n := 0
	for _, h := range []struct {
		key  string
		kind staff.RecordKind
	}{{s.staffKey("{staff}:accounts"), staff.RecordAccount}, {s.auditKeys()[0], staff.RecordAudit}} {
		iter := s.c.HScan(ctx, h.key, 0, "", 256).Iterator()
		for iter.Next(ctx) {
			field := iter.Val()
			if !iter.Next(ctx) {
				break
			}
			old := iter.Val()
			rec, err := f(h.kind, []byte(old))
			if err != nil {
				return n, fmt.Errorf("redis: reseal staff %s: %w", h.kind, err)
			}
			if rec == nil {
				continue
			}
			done, err := resealStaffField.Run(ctx, s.c, []string{h.key}, field, old, rec).Int()
			if err != nil {
				return n, fmt.Errorf("redis: reseal staff %s: %w", h.kind, err)
			}
			n += done
		}
		if err := iter.Err(); err != nil {
			return n, fmt.Errorf("redis: reseal staff %s: %w", h.kind, err)
		}
	}
	// Sessions are single keys on any node; f is called from one goroutine at a time.
	var mu sync.Mutex
	pattern := globEscape(s.staffKey("{ses:")) + "*}"
	err := s.eachNode(ctx, func(ctx context.Context, node goredis.Cmdable) error {
		iter := node.Scan(ctx, 0, pattern, 256).Iterator()
		for iter.Next(ctx) {
			key := iter.Val()
			old, err := s.c.Get(ctx, key).Result()
			if errors.Is(err, goredis.Nil) {
				continue // expired meanwhile
			}
			if err != nil {
				return err
			}
			exp, sealed, ok := strings.Cut(old, ":")
			if !ok {
				continue // not ours to fix: the reader reports it
			}
			mu.Lock()
			rec, err := f(staff.RecordSession, []byte(sealed))
			mu.Unlock()
			if err != nil || rec == nil {
				return err
			}
			done, err := resealString.Run(ctx, s.c, []string{key}, old, exp+":"+string(rec)).Int()
			if err != nil {
				return err
			}
			mu.Lock()
			n += done
			mu.Unlock()
		}
		return iter.Err()
	})
	if err != nil {
		return n, fmt.Errorf("redis: reseal staff sessions: %w", err)
	}
	return n, nil
}
