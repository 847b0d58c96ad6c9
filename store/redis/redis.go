// Package redis is the bot.Store backed by Redis (7.0 or later), standalone or
// Redis Cluster, shared by any number of Enlace processes.
//
// REDIS_URL forms understood by Open:
//
//	redis://[user:password@]host:6379[/db][?dial_timeout=3s&read_timeout=3s&...]
//	rediss://...                                          (TLS)
//	redis://[user:password@]host1:6379?addr=host2:6379&addr=host3:6379   (Cluster)
//	redis://[user:password@]sentinel1:26379?master_name=mymaster&addr=sentinel2:26379&password=…
//	                                                      (Sentinel: a primary and its replicas)
//	…&wait_replicas=1                                     (any form: see below)
//
// A URL with master_name= reaches the primary that Sentinels monitor under that
// name: the host and every addr are Sentinels, the user and password in the URL
// are the Sentinels' and password= (and username=) the primary's
// (goredis.ParseFailoverURL); after a failover the client follows the new
// primary. Otherwise a URL with one or more addr= query parameters is a Redis
// Cluster: the host and every addr are seed nodes (goredis.ParseClusterURL); to
// reach a cluster through a single seed, repeat it as addr=. Any other URL is one
// node (goredis.ParseURL).
//
// wait_replicas=N (Enlace's own parameter) makes the two writes that someone
// outside depends on wait, in the same round trip, until N replicas have them
// (WAIT): accepting a message (its webhook is answered only then) and claiming
// a reply to send (sent only once the commit that wrote it is on the
// replicas), so a failover to a replica neither loses an accepted message nor
// has a reply sent twice. When fewer replicas confirm within a second, the
// webhook gets an error (the provider delivers again) and the reply waits: with
// fewer than N replicas alive Enlace accepts and sends nothing, like Redis's
// min-replicas-to-write. Replication stays asynchronous otherwise (an
// acknowledgement lost in a failover sends that reply again, as a crash
// would). Not for a Cluster.
//
// Key layout (prefix defaults to "enlace"): everything about one person shares
// the hash tag {person}, so Redis Cluster keeps it in one slot and every
// multi-key change is a single Lua script on that slot. Every key about a
// person expires (Options.Retention; R = Retention.Person), by Redis's own
// clock, so nothing outlives what the person was told even with no Enlace
// process running:
//
//	<prefix>:p:{<person>}:session  string, PX = session TTL
//	<prefix>:p:{<person>}:in       list of items (inbox, FIFO), PX = R
//	<prefix>:p:{<person>}:out      list of items (outbox, FIFO), PX = R
//	<prefix>:p:{<person>}:dead     list of items (dead letters), PX = Retention.DeadLetters
//	<prefix>:p:{<person>}:esc      list of items (escalations, one per ID), PX = R
//	<prefix>:p:{<person>}:seen     zset dedupe key -> expiry (ms); the key expires with its last mark
//	<prefix>:p:{<person>}:lock     string token, PX = lock TTL
//	<prefix>:p:{<person>}:flags    set of flags ("unreachable:telegram", "stopped:sms", "alias:…"), PX = R
//	<prefix>:p:{<person>}:optout   set of "optout:<channel>" flags, PX = Retention.OptOut; kept by erase
//	<prefix>:p:{<person>}:timers   hash timer id -> due time (ms), PX = R
//	<prefix>:p:{<person>}:sending  string "<outbox head id>|<ms>": a try of the head under way or
//	                               cut short (store/redis/claims.go), removed with the head or
//	                               when it is rewritten after a try; PX = 24 h. No personal data.
//
// Every commit refreshes the person's in, out, esc, flags and timers to R.
// Global keys, changed by single-key commands, and on one Redis (not a
// Cluster) also by the accept and finish scripts, in the same atomic step as
// the person's keys (store/redis/begin.go):
//
//	<prefix>:q:in, <prefix>:q:out        zset person -> ready time (ms)
//	<prefix>:q:out-<lane>                zset person -> ready time (ms), one per delivery lane
//	<prefix>:pace:{<lane>}:<bucket>      hash t (tokens), at, hold (ms): a lane's token buckets,
//	                                     all in the lane's slot; PX = until full again + 1 min
//	<prefix>:idx:dead, <prefix>:idx:esc  zset person -> time first indexed (ms)
//	<prefix>:timers:due                  zset "<person>/<timer id>" -> due or lease time (ms)
//	<prefix>:alias:{<from>}              string: the person an identity stands for, PX = R, refreshed when read
//
// Queue entries go when a worker finds nothing left to do for the person;
// Sweep drops index and due-set entries whose records expired.
//
// An item is stored as its ID, a NUL byte, then its data. Updates that span a
// person's keys and a global key are ordered so a crash between the two steps
// leaves a harmless extra queue or index entry, never a stranded record.
//
// On one Redis (not a Cluster) the scripts of a message's path (accept, the
// claims, the commit, the acknowledgement) that callers run at the same time
// go to Redis together, as one pipeline (store/redis/batch.go: group commit).
package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store"
)

// Options configures a Store.
type Options struct {
	// Prefix starts every key; "enlace" when empty. It must not contain braces.
	Prefix string
	// Retention is how long records about a person are kept (bot.Retention's
	// defaults for zero fields).
	Retention bot.Retention
	// Logger receives Open's warning when Redis does not say whether it
	// evicts keys; slog.Default() when nil.
	Logger *slog.Logger
}

// DefaultPrefix is the key prefix used when Options.Prefix is empty.
const DefaultPrefix = "enlace"

// Store is a bot.Store on Redis. It is safe for concurrent use by many goroutines
// and many processes.
type Store struct {
	c      goredis.UniversalClient
	prefix string
	ret    bot.Retention
	// waitReplicas is the URL's wait_replicas: how many replicas a write a
	// message depends on waits for (0: none).
	waitReplicas int
	unconfirmed  atomic.Int64 // writes fewer replicas confirmed, for the log
	log          *slog.Logger
	batch        *batcher // nil on a Cluster
}

var _ bot.Store = (*Store)(nil)

// Open connects to the Redis named by rawURL (see the package comment), checks
// it answers, and returns a Store that owns the client.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	rawURL, wait, err := cutWaitReplicas(rawURL)
	if err != nil {
		return nil, err
	}
	c, err := newClient(rawURL)
	if err != nil {
		return nil, err
	}
	s := New(c, opts)
	s.waitReplicas = wait
	if err := s.Ping(ctx); err != nil {
		_ = c.Close()
		return nil, err
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	if err := s.CheckEviction(ctx, logger); err != nil {
		_ = c.Close()
		return nil, err
	}
	return s, nil
}

// evictionLoss says what a Redis that evicts keys under memory pressure would lose.
const evictionLoss = "messages waiting to be handled or sent, sessions, timers of check-ins and their alerts, escalations, dedupe marks (messages handled twice) and opt-outs (people who said STOP written to again)"

// CheckEviction makes sure Redis never evicts Enlace's keys: every node's
// maxmemory-policy must be noeviction (Redis then refuses writes when full,
// and Enlace answers providers with an error, so they deliver again). A
// policy that evicts is an error. Where CONFIG is disabled (managed Redis),
// it cannot tell, and logs a loud warning saying what eviction would lose.
func (s *Store) CheckEviction(ctx context.Context, logger *slog.Logger) error {
	check := func(ctx context.Context, c goredis.UniversalClient) error {
		m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil || m["maxmemory-policy"] == "" {
			logger.Warn("REDIS EVICTION UNKNOWN: cannot read maxmemory-policy (CONFIG disabled?); "+
				"make sure it is noeviction, or Redis may silently delete "+evictionLoss, "err", err)
			return nil
		}
		if policy := m["maxmemory-policy"]; policy != "noeviction" {
			return fmt.Errorf("redis: maxmemory-policy is %s, so Redis may delete %s: set maxmemory-policy noeviction (see README)", policy, evictionLoss)
		}
		return nil
	}
	if cc, ok := s.c.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error { return check(ctx, n) })
	}
	return check(ctx, s.c)
}

// newClient builds a single-node or cluster client from a URL. Errors never
// quote the URL: it may hold a password.
// cutWaitReplicas takes Enlace's own wait_replicas parameter out of a
// REDIS_URL, before go-redis (which refuses parameters it does not know)
// reads the rest.
func cutWaitReplicas(rawURL string) (string, int, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", 0, errors.New("redis: REDIS_URL is not a valid URL")
	}
	q := u.Query()
	if !q.Has("wait_replicas") {
		return rawURL, 0, nil
	}
	n, err := strconv.Atoi(q.Get("wait_replicas"))
	if err != nil || n < 0 {
		return "", 0, fmt.Errorf("redis: wait_replicas=%q in REDIS_URL is not a count of replicas", q.Get("wait_replicas"))
	}
	if q.Has("addr") && !q.Has("master_name") {
		return "", 0, errors.New("redis: wait_replicas is not for a Redis Cluster")
	}
	q.Del("wait_replicas")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// ErrUnreplicated means a write is on the primary but fewer replicas than
// wait_replicas confirmed it in time: a failover could still lose it, so
// what depends on it must not happen yet (a webhook is answered with an
// error, so the provider delivers again; a reply is not sent).
var ErrUnreplicated = errors.New("redis: fewer replicas than wait_replicas confirmed the write")

// replicated runs a script (batched: batcher) whose change an outside party will depend on:
// accepting a message (the provider will not deliver it again) and claiming
// a reply to send (what the person will read must survive a failover, or
// they would read it twice). With wait_replicas it waits, in the same round
// trip, until that many replicas have the change and everything before it
// in the replication stream (the commit that wrote the reply, whatever
// connection made it), and returns ErrUnreplicated when they did not in
// time. Without wait_replicas, and on a Cluster, it is the script alone.
func (s *Store) replicated(ctx context.Context, sc *goredis.Script, keys []string, args ...any) (*goredis.Cmd, error) {
	if s.waitReplicas == 0 || s.cluster() {
		return s.run(ctx, sc, keys, args...), nil
	}
	cmd, wait := s.batch.runWait(ctx, s.waitReplicas, sc, keys, args...)
	if cmd.Err() != nil {
		return cmd, nil
	}
	if n, err := wait.Int64(); err != nil || n < int64(s.waitReplicas) {
		// Said on the first and every thousandth: a primary left without its
		// replica (after a failover, until the old primary follows) would
		// say it for every write.
		if c := s.unconfirmed.Add(1); c == 1 || c%1000 == 0 {
			s.log.Warn("redis: writes are on the primary but fewer replicas than wait_replicas confirmed them; holding what depends on them",
				"replicas", n, "want", s.waitReplicas, "writes_so_far", c, "err", err)
		}
		return cmd, ErrUnreplicated
	}
	return cmd, nil
}

func newClient(rawURL string) (goredis.UniversalClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errors.New("redis: REDIS_URL is not a valid URL")
	}
	if u.Query().Has("master_name") {
		o, err := goredis.ParseFailoverURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: parse Sentinel URL: %w", err)
		}
		o.ContextTimeoutEnabled = true
		return goredis.NewFailoverClient(o), nil
	}
	if u.Query().Has("addr") {
		o, err := goredis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis: parse cluster URL: %w", err)
		}
		o.ContextTimeoutEnabled = true // or ctx deadlines do not bound socket reads
		return goredis.NewClusterClient(o), nil
	}
	o, err := goredis.ParseURL(rawURL)
	if err != nil {
		return nil, fmt.Errorf("redis: parse URL: %w", err)
	}
	o.ContextTimeoutEnabled = true
	return goredis.NewClient(o), nil
}

// New returns a Store on an existing client, which the Store's Close closes.
// The client should have ContextTimeoutEnabled set. New panics if
// opts.Prefix contains a brace, which would break the per-person hash tags.
func New(c goredis.UniversalClient, opts Options) *Store {
	if err := checkPrefix(opts.Prefix); err != nil {
		panic(err)
	}
	p := opts.Prefix
	if p == "" {
		p = DefaultPrefix
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	s := &Store{c: c, prefix: p, ret: opts.Retention.WithDefaults(), log: logger}
	if _, ok := c.(*goredis.ClusterClient); !ok {
		s.batch = &batcher{c: c, turns: batchTurns}
	}
	return s
}

// run runs sc, batched with the scripts other callers run at the same time
// (batcher) on one Redis.
func (s *Store) run(ctx context.Context, sc *goredis.Script, keys []string, args ...any) *goredis.Cmd {
	if s.batch == nil {
		return sc.Run(ctx, s.c, keys, args...)
	}
	return s.batch.run(ctx, sc, keys, args...)
}

func checkPrefix(p string) error {
	if strings.ContainsAny(p, "{}") {
		return fmt.Errorf("redis: key prefix %q must not contain braces", p)
	}
	return nil
}

// Client returns the underlying client (for health checks and tests).
func (s *Store) Client() goredis.UniversalClient { return s.c }

// Close closes the client.
func (s *Store) Close() error { return s.c.Close() }

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// key returns one of the person's keys; suffix is session, in, out, dead,
// esc, seen, lock, flags, optout or timers.
func (s *Store) key(person, suffix string) string {
	return s.prefix + ":p:{" + person + "}:" + suffix
}

func (s *Store) queueKey(q bot.Queue) (string, error) {
	if !q.Valid() {
		return "", fmt.Errorf("redis: unknown queue %q", q)
	}
	return s.prefix + ":q:" + string(q), nil
}

func (s *Store) deadIndex() string { return s.prefix + ":idx:dead" }
func (s *Store) escIndex() string  { return s.prefix + ":idx:esc" }

// validName is the rule every store applies to person keys and item IDs
// (store.ValidName), so data moves between them.
var validName = store.ValidName

func checkPerson(p string) error {
	if !validName(p) {
		return fmt.Errorf("redis: invalid person key %q", p)
	}
	return nil
}

func encodeItem(it bot.Item) (string, error) {
	if !validName(it.ID) {
		return "", fmt.Errorf("redis: invalid item id %q", it.ID)
	}
	return it.ID + "\x00" + string(it.Data), nil
}

func encodeItems(items []bot.Item) ([]any, error) {
	out := make([]any, len(items))
	for i, it := range items {
		e, err := encodeItem(it)
		if err != nil {
			return nil, err
		}
		out[i] = e
	}
	return out, nil
}

func decodeItem(s string) (bot.Item, error) {
	id, data, ok := strings.Cut(s, "\x00")
	if !ok {
		return bot.Item{}, errors.New("redis: corrupt item: no separator")
	}
	return bot.Item{ID: id, Data: []byte(data)}, nil
}

// headPrefix is what an encoded item with this ID starts with.
func headPrefix(id string) string { return id + "\x00" }

func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("redis: lock token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

var acceptScript = goredis.NewScript(`
-- KEYS: seen, in, session[, inbound queue]. ARGV: dedupe key, now ms, expiry ms,
-- encoded item, inbox ttl ms, '1' to require a session, most marks kept[, person]. Returns 1, 0
-- (duplicate) or -1 (no session). With the queue (one Redis, not a Cluster)
-- it also makes the person ready there, in the same atomic step.
if ARGV[6] == '1' and redis.call('EXISTS', KEYS[3]) == 0 then return -1 end
if KEYS[4] then redis.call('ZADD', KEYS[4], ARGV[2], ARGV[8]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local now, exp = tonumber(ARGV[2]), tonumber(ARGV[3])
if exp > now then
  -- Forget the oldest before adding, so the set never outgrows Redis's
  -- compact encoding (zset-max-listpack-entries, 128 by default).
  local n, most = redis.call('ZCARD', KEYS[1]), tonumber(ARGV[7])
  if n >= most then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - most) end
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  -- The set lives as long as its latest mark: this one, unless a mark from a
  -- clock ahead of this one is later still (GT keeps the later expiry). A
  -- set just made has no expiry yet, which GT would never replace.
  if n == 0 or redis.call('PEXPIRE', KEYS[1], exp - now, 'GT') == 0 and redis.call('PTTL', KEYS[1]) == -1 then
    redis.call('PEXPIRE', KEYS[1], exp - now)
  end
end
redis.call('RPUSH', KEYS[2], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return 1`)

// Accept implements bot.Store. The person is scheduled both before the append
// (a crash in between leaves a spurious queue entry, not a stranded message)
// and after it (closing the race with a worker that just found the inbox empty
// and released the person).
func (s *Store) Accept(ctx context.Context, person, dedupeKey string, msg bot.Item, dedupeTTL time.Duration, now time.Time) (bool, error) {
	return s.accept(ctx, person, dedupeKey, msg, dedupeTTL, now, false)
}

// AcceptKnown implements bot.Store. It looks for the session before it
// schedules the person, so a person who is gone is not even queued.
func (s *Store) AcceptKnown(ctx context.Context, person, dedupeKey string, msg bot.Item, dedupeTTL time.Duration, now time.Time) (bool, error) {
	if err := checkPerson(person); err != nil {
		return false, err
	}
	if !s.cluster() {
		return s.accept(ctx, person, dedupeKey, msg, dedupeTTL, now, true) // the script looks
	}
	n, err := s.c.Exists(ctx, s.key(person, "session")).Result()
	if err != nil {
		return false, fmt.Errorf("redis: accept: %w", err)
	}
	if n == 0 {
		return false, bot.ErrNotFound
	}
	return s.accept(ctx, person, dedupeKey, msg, dedupeTTL, now, true)
}

func (s *Store) accept(ctx context.Context, person, dedupeKey string, msg bot.Item, dedupeTTL time.Duration, now time.Time, known bool) (bool, error) {
	if err := checkPerson(person); err != nil {
		return false, err
	}
	if dedupeKey == "" {
		return false, errors.New("redis: accept: empty dedupe key")
	}
	enc, err := encodeItem(msg)
	if err != nil {
		return false, err
	}
	keys := []string{s.key(person, "seen"), s.key(person, "in"), s.key(person, "session")}
	args := []any{dedupeKey, now.UnixMilli(), now.Add(dedupeTTL).UnixMilli(), enc, ms(s.ret.Person), flag(known), bot.DedupeMarks}
	single := !s.cluster()
	if single {
		// One Redis: the script schedules too, in one round trip.
		qk, _ := s.queueKey(bot.QueueInbound)
		keys, args = append(keys, qk), append(args, person)
	} else if err := s.Schedule(ctx, bot.QueueInbound, person, now); err != nil {
		return false, err
	}
	cmd, unreplicated := s.replicated(ctx, acceptScript, keys, args...)
	n, err := cmd.Int()
	if err == nil && unreplicated != nil {
		// On the primary only: answering an error has the provider deliver
		// it again, and the dedupe mark makes that harmless.
		err = unreplicated
	}
	if err != nil {
		return false, fmt.Errorf("redis: accept: %w", err)
	}
	if n < 0 {
		// Gone between the look and the script; the queue entry goes when a
		// worker finds the inbox empty.
		return false, bot.ErrNotFound
	}
	if !single {
		if err := s.Schedule(ctx, bot.QueueInbound, person, now); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

var claimScript = goredis.NewScript(`
-- KEYS: queue. ARGV: now ms, until ms, n.
local ps = redis.call('ZRANGE', KEYS[1], '-inf', ARGV[1], 'BYSCORE', 'LIMIT', 0, ARGV[3])
for _, p in ipairs(ps) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], p) end
return ps`)

// Claim implements bot.Store. Times are kept to the millisecond; the returned
// Until is the stored lease end, exactly as Release expects it.
func (s *Store) Claim(ctx context.Context, q bot.Queue, now time.Time, lease time.Duration, n int) ([]bot.Claim, error) {
	qk, err := s.queueKey(q)
	if err != nil {
		return nil, err
	}
	if n <= 0 {
		return nil, nil
	}
	until := now.Add(lease).UnixMilli()
	ps, err := claimScript.Run(ctx, s.c, []string{qk}, now.UnixMilli(), until, n).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: claim %s: %w", q, err)
	}
	cs := make([]bot.Claim, len(ps))
	for i, p := range ps {
		cs[i] = bot.Claim{Person: p, Until: time.UnixMilli(until)}
	}
	return cs, nil
}

// Schedule implements bot.Store.
func (s *Store) Schedule(ctx context.Context, q bot.Queue, person string, at time.Time) error {
	qk, err := s.queueKey(q)
	if err != nil {
		return err
	}
	if err := checkPerson(person); err != nil {
		return err
	}
	if err := s.c.ZAdd(ctx, qk, goredis.Z{Score: float64(at.UnixMilli()), Member: person}).Err(); err != nil {
		return fmt.Errorf("redis: schedule %s: %w", q, err)
	}
	return nil
}

var releaseScript = goredis.NewScript(`
-- KEYS: queue. ARGV: person, lease end ms.
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) == tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0`)

// Release implements bot.Store.
func (s *Store) Release(ctx context.Context, q bot.Queue, c bot.Claim) (bool, error) {
	qk, err := s.queueKey(q)
	if err != nil {
		return false, err
	}
	n, err := releaseScript.Run(ctx, s.c, []string{qk}, c.Person, c.Until.UnixMilli()).Int()
	if err != nil {
		return false, fmt.Errorf("redis: release %s: %w", q, err)
	}
	return n == 1, nil
}

// Pending implements bot.Store.
func (s *Store) Pending(ctx context.Context, q bot.Queue) (int64, error) {
	qk, err := s.queueKey(q)
	if err != nil {
		return 0, err
	}
	n, err := s.c.ZCard(ctx, qk).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: pending %s: %w", q, err)
	}
	return n, nil
}

// ms is a duration in whole milliseconds, at least one.
func ms(d time.Duration) int64 { return max(d.Milliseconds(), 1) }

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// Lock implements bot.Store. The lock expires on Redis's clock (PX ttl), so
// it holds across processes whatever their clocks say; now is not needed.
func (s *Store) Lock(ctx context.Context, person string, ttl time.Duration, _ time.Time) (string, error) {
	if err := checkPerson(person); err != nil {
		return "", err
	}
	if ttl < time.Millisecond {
		return "", fmt.Errorf("redis: lock ttl %v is under a millisecond", ttl)
	}
	tok, err := newToken()
	if err != nil {
		return "", err
	}
	ok, err := s.c.SetNX(ctx, s.key(person, "lock"), tok, ttl).Result()
	if err != nil {
		return "", fmt.Errorf("redis: lock: %w", err)
	}
	if !ok {
		return "", bot.ErrLocked
	}
	return tok, nil
}

var unlockScript = goredis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0`)

// Unlock implements bot.Store.
func (s *Store) Unlock(ctx context.Context, person, token string) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	if err := unlockScript.Run(ctx, s.c, []string{s.key(person, "lock")}, token).Err(); err != nil {
		return fmt.Errorf("redis: unlock: %w", err)
	}
	return nil
}

// head returns the first item of one of the person's lists.
func (s *Store) head(ctx context.Context, person, list string) (bot.Item, error) {
	if err := checkPerson(person); err != nil {
		return bot.Item{}, err
	}
	v, err := s.c.LIndex(ctx, s.key(person, list), 0).Result()
	if errors.Is(err, goredis.Nil) {
		return bot.Item{}, bot.ErrNotFound
	}
	if err != nil {
		return bot.Item{}, fmt.Errorf("redis: read %s head: %w", list, err)
	}
	return decodeItem(v)
}

// NextInbound implements bot.Store.
func (s *Store) NextInbound(ctx context.Context, person string) (bot.Item, error) {
	return s.head(ctx, person, "in")
}

// LoadSession implements bot.Store. Sessions expire on Redis's clock.
func (s *Store) LoadSession(ctx context.Context, person string, _ time.Time) ([]byte, error) {
	if err := checkPerson(person); err != nil {
		return nil, err
	}
	b, err := s.c.Get(ctx, s.key(person, "session")).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, bot.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("redis: load session: %w", err)
	}
	return b, nil
}

var commitScript = goredis.NewScript(`
-- KEYS: lock, session, in, out, dead, esc, seen, flags, timers, optout.
-- ARGV: token, inbound head prefix or '', erase '1'/'0', has session '1'/'0',
--       session, session ttl ms, #outbox, #escalations, #timers set,
--       #timers cancelled, retention ms, opt-out retention ms, outbox items...,
--       escalations..., (timer id, at ms)..., cancelled timer ids...
-- Returns {outbox length, dead length, escalations length, erased timer ids...}
-- or {-1} (lock lost) or {-2} (not the inbox head).
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return {-1} end
if ARGV[2] ~= '' then
  local head = redis.call('LINDEX', KEYS[3], 0)
  if not head or string.sub(head, 1, #ARGV[2]) ~= ARGV[2] then return {-2} end
  redis.call('LPOP', KEYS[3])
end
local erased = {}
if ARGV[3] == '1' then
  redis.call('DEL', KEYS[2], KEYS[4], KEYS[5], KEYS[6], KEYS[7])
  -- Opt-outs stay; ones kept among the flags by earlier versions move to their own key.
  for _, f in ipairs(redis.call('SMEMBERS', KEYS[8])) do
    if string.sub(f, 1, 7) == 'optout:' then
      redis.call('SADD', KEYS[10], f)
      if redis.call('PTTL', KEYS[10]) < 0 then redis.call('PEXPIRE', KEYS[10], ARGV[12]) end
    end
  end
  redis.call('DEL', KEYS[8])
  erased = redis.call('HKEYS', KEYS[9])
  redis.call('DEL', KEYS[9])
end
if ARGV[4] == '1' then
  redis.call('SET', KEYS[2], ARGV[5], 'PX', ARGV[6])
else
  redis.call('DEL', KEYS[2])
end
local nout, nesc, nset, ncancel = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), tonumber(ARGV[10])
local i = 13
for _ = 1, nout do redis.call('RPUSH', KEYS[4], ARGV[i]); i = i + 1 end
for _ = 1, nesc do
  local v = ARGV[i]
  local id = string.sub(v, 1, string.find(v, '\0', 1, true))
  local at = nil
  for j, old in ipairs(redis.call('LRANGE', KEYS[6], 0, -1)) do
    if string.sub(old, 1, #id) == id then at = j - 1; break end
  end
  if at then redis.call('LSET', KEYS[6], at, v) else redis.call('RPUSH', KEYS[6], v) end
  i = i + 1
end
for _ = 1, nset do redis.call('HSET', KEYS[9], ARGV[i], ARGV[i + 1]); i = i + 2 end
for _ = 1, ncancel do redis.call('HDEL', KEYS[9], ARGV[i]); i = i + 1 end
-- The person's conversation moved: everything about them is kept for the retention from now.
for _, k in ipairs({KEYS[3], KEYS[4], KEYS[6], KEYS[8], KEYS[9]}) do redis.call('PEXPIRE', k, ARGV[11]) end
local res = {redis.call('LLEN', KEYS[4]), redis.call('LLEN', KEYS[5]), redis.call('LLEN', KEYS[6])}
for _, id in ipairs(erased) do table.insert(res, id) end
return res`)

// Commit implements bot.Store. An InboundID that is not the inbox head is
// refused with bot.ErrNotFound and nothing is written. A SessionTTL of zero or
// less keeps the session for Retention.Person. Erase deletes the session,
// outbox, dead letters, escalations, dedupe marks, flags but opt-outs and
// timers, and the dead letter and escalation index entries; the lock stays
// until Unlock or its TTL.
func (s *Store) Commit(ctx context.Context, person, token string, c bot.Commit, now time.Time) error {
	if c.Mark != nil {
		return errMarkedCommit
	}
	_, err := s.commit(ctx, person, token, c, now)
	return err
}

// commit is Commit, also returning the length of the outbox after it.
func (s *Store) commit(ctx context.Context, person, token string, c bot.Commit, now time.Time) (int64, error) {
	if err := checkPerson(person); err != nil {
		return 0, err
	}
	out, err := encodeItems(c.Outbox)
	if err != nil {
		return 0, err
	}
	esc, err := encodeItems(c.Escalations)
	if err != nil {
		return 0, err
	}
	inbound := ""
	if c.InboundID != "" {
		inbound = headPrefix(c.InboundID)
	}
	hasSession, session, ttl := "0", []byte{}, ms(s.ret.Person)
	if c.Session != nil {
		session = c.Session
		hasSession = "1"
		if c.SessionTTL > 0 {
			ttl = ms(c.SessionTTL)
		}
	}
	erase := "0"
	if c.Erase {
		erase = "1"
	}
	for _, t := range c.SetTimers {
		if !validName(t.ID) {
			return 0, fmt.Errorf("redis: invalid timer id %q", t.ID)
		}
	}
	args := append([]any{token, inbound, erase, hasSession, session, ttl, len(out), len(esc), len(c.SetTimers), len(c.CancelTimers),
		ms(s.ret.Person), ms(s.ret.OptOut)}, out...)
	args = append(args, esc...)
	for _, t := range c.SetTimers {
		args = append(args, t.ID, t.At.UnixMilli())
	}
	for _, id := range c.CancelTimers {
		args = append(args, id)
	}
	keys := []string{
		s.key(person, "lock"), s.key(person, "session"), s.key(person, "in"),
		s.key(person, "out"), s.key(person, "dead"), s.key(person, "esc"), s.key(person, "seen"),
		s.key(person, "flags"), s.key(person, "timers"), s.key(person, "optout"),
	}
	// A timer enters the due set before the commit (a crash then leaves an
	// entry with no timer, dropped when claimed) and again after it, so it can
	// never be set without being due.
	if err := s.addDue(ctx, person, c.SetTimers); err != nil {
		return 0, err
	}

	if len(out) > 0 {
		if err := s.Schedule(ctx, bot.QueueOutbound, person, now); err != nil {
			return 0, err
		}
	}
	res, err := commitScript.Run(ctx, s.c, keys, args...).Slice()
	if err != nil {
		return 0, fmt.Errorf("redis: commit: %w", err)
	}
	switch res[0] {
	case int64(-1):
		return 0, bot.ErrLockLost
	case int64(-2):
		return 0, fmt.Errorf("redis: commit: inbound %s is not the inbox head: %w", c.InboundID, bot.ErrNotFound)
	}
	outLen, deadLen, escLen := res[0].(int64), res[1].(int64), res[2].(int64)
	var gone []string
	for _, v := range res[3:] {
		gone = append(gone, v.(string))
	}
	gone = append(gone, c.CancelTimers...)
	if err := s.removeDue(ctx, person, gone); err != nil {
		return 0, err
	}
	if err := s.addDue(ctx, person, c.SetTimers); err != nil {
		return 0, err
	}
	if outLen > 0 {
		if err := s.Schedule(ctx, bot.QueueOutbound, person, now); err != nil {
			return 0, err
		}
	}
	if c.Erase {
		if err := s.c.ZRem(ctx, s.escIndex(), person).Err(); err != nil {
			return 0, fmt.Errorf("redis: commit: unindex escalations: %w", err)
		}
		if err := s.reindex(ctx, s.deadIndex(), person, "dead", deadLen, now); err != nil {
			return 0, err
		}
	}
	if c.Erase || len(esc) > 0 {
		return outLen, s.reindex(ctx, s.escIndex(), person, "esc", escLen, now)
	}
	return outLen, nil
}

// reindex brings the person's entry in idx in line with their list, which
// held n items just after the caller's change. Writers add to the list before
// they index, so removing and then re-checking the list never unindexes a
// record a concurrent writer has just added.
func (s *Store) reindex(ctx context.Context, idx, person, list string, n int64, now time.Time) error {
	add := func() error {
		z := goredis.Z{Score: float64(now.UnixMilli()), Member: person}
		if err := s.c.ZAddNX(ctx, idx, z).Err(); err != nil {
			return fmt.Errorf("redis: index %s: %w", list, err)
		}
		return nil
	}
	if n > 0 {
		return add()
	}
	if err := s.c.ZRem(ctx, idx, person).Err(); err != nil {
		return fmt.Errorf("redis: unindex %s: %w", list, err)
	}
	n, err := s.c.LLen(ctx, s.key(person, list)).Result()
	if err != nil {
		return fmt.Errorf("redis: unindex %s: %w", list, err)
	}
	if n > 0 {
		return add()
	}
	return nil
}

var pushScript = goredis.NewScript(`
-- KEYS: list. ARGV: ttl ms, encoded items...
for i = 2, #ARGV do redis.call('RPUSH', KEYS[1], ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 0`)

// Enqueue implements bot.Store, scheduling before and after the append like
// Accept. The outbox is kept for Retention.Person from now.
func (s *Store) Enqueue(ctx context.Context, person string, items []bot.Item, now time.Time) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	if len(items) == 0 {
		return nil
	}
	enc, err := encodeItems(items)
	if err != nil {
		return err
	}
	if err := s.Schedule(ctx, bot.QueueOutbound, person, now); err != nil {
		return err
	}
	args := append([]any{ms(s.ret.Person)}, enc...)
	if err := pushScript.Run(ctx, s.c, []string{s.key(person, "out")}, args...).Err(); err != nil {
		return fmt.Errorf("redis: enqueue: %w", err)
	}
	return s.Schedule(ctx, bot.QueueOutbound, person, now)
}

// NextOutbound implements bot.Store.
func (s *Store) NextOutbound(ctx context.Context, person string) (bot.Item, error) {
	return s.head(ctx, person, "out")
}

// A head rewritten after a try says itself what came of it (bot.Reply.Unsure),
// so its sending mark goes.
var updateHeadScript = goredis.NewScript(`
-- KEYS: out, sending mark. ARGV: head prefix, new encoded item.
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 1, #ARGV[1]) ~= ARGV[1] then return -1 end
redis.call('LSET', KEYS[1], 0, ARGV[2])
redis.call('DEL', KEYS[2])
return 0`)

// UpdateOutbound implements bot.Store.
func (s *Store) UpdateOutbound(ctx context.Context, person string, item bot.Item) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	enc, err := encodeItem(item)
	if err != nil {
		return err
	}
	n, err := updateHeadScript.Run(ctx, s.c, []string{s.key(person, "out"), s.key(person, "sending")}, headPrefix(item.ID), enc).Int()
	if err != nil {
		return fmt.Errorf("redis: update outbound: %w", err)
	}
	if n < 0 {
		return bot.ErrNotFound
	}
	return nil
}

var popHeadScript = goredis.NewScript(`
-- KEYS: out, sending mark[, dead]. ARGV: head prefix[, encoded item for
-- dead, dead ttl ms].
local head = redis.call('LINDEX', KEYS[1], 0)
if not head or string.sub(head, 1, #ARGV[1]) ~= ARGV[1] then return -1 end
redis.call('LPOP', KEYS[1])
redis.call('DEL', KEYS[2])
if KEYS[3] then
  local n = redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
  return n
end
return 0`)

// AckOutbound implements bot.Store.
func (s *Store) AckOutbound(ctx context.Context, person, id string) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	n, err := popHeadScript.Run(ctx, s.c, []string{s.key(person, "out"), s.key(person, "sending")}, headPrefix(id)).Int()
	if err != nil {
		return fmt.Errorf("redis: ack outbound: %w", err)
	}
	if n < 0 {
		return bot.ErrNotFound
	}
	return nil
}

// DeadLetter implements bot.Store. The person's dead letters are kept for
// Retention.DeadLetters after the latest.
func (s *Store) DeadLetter(ctx context.Context, person string, item bot.Item, now time.Time) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	enc, err := encodeItem(item)
	if err != nil {
		return err
	}
	keys := []string{s.key(person, "out"), s.key(person, "sending"), s.key(person, "dead")}
	n, err := popHeadScript.Run(ctx, s.c, keys, headPrefix(item.ID), enc, ms(s.ret.DeadLetters)).Int64()
	if err != nil {
		return fmt.Errorf("redis: dead letter: %w", err)
	}
	if n < 0 {
		return bot.ErrNotFound
	}
	return s.reindex(ctx, s.deadIndex(), person, "dead", n, now)
}

var replayScript = goredis.NewScript(`
-- KEYS: dead, out. ARGV: the letter as read, the letter as replayed, outbox
-- ttl ms. Returns the dead letters left, or -1 when the letter changed or went.
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return -1 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return redis.call('LLEN', KEYS[1])`)

// replayTries is how often Replay reads a letter again that changed while
// it was rewritten (a reseal) before it gives up.
const replayTries = 5

// Replay implements bot.Store. The letter is read, rewritten, and moved only
// if it is still exactly what was read: two replays of one letter move it once.
func (s *Store) Replay(ctx context.Context, person, id string, now time.Time, rewrite func([]byte) ([]byte, error)) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	// Scheduled before the move too: a crash in between leaves a spurious
	// queue entry, never a stranded reply.
	if err := s.Schedule(ctx, bot.QueueOutbound, person, now); err != nil {
		return err
	}
	keys := []string{s.key(person, "dead"), s.key(person, "out")}
	for range replayTries {
		vs, err := s.c.LRange(ctx, keys[0], 0, -1).Result()
		if err != nil {
			return fmt.Errorf("redis: replay: %w", err)
		}
		i := slices.IndexFunc(vs, func(v string) bool { return strings.HasPrefix(v, headPrefix(id)) })
		if i < 0 {
			return bot.ErrNotFound
		}
		data, err := rewrite([]byte(vs[i][len(headPrefix(id)):]))
		if err != nil {
			return err
		}
		enc, err := encodeItem(bot.Item{ID: id, Data: data})
		if err != nil {
			return err
		}
		n, err := replayScript.Run(ctx, s.c, keys, vs[i], enc, ms(s.ret.Person)).Int64()
		if err != nil {
			return fmt.Errorf("redis: replay: %w", err)
		}
		if n < 0 {
			continue // changed or replayed meanwhile: look again
		}
		if err := s.Schedule(ctx, bot.QueueOutbound, person, now); err != nil {
			return err
		}
		return s.reindex(ctx, s.deadIndex(), person, "dead", n, now)
	}
	return fmt.Errorf("redis: replay: the letter kept changing")
}

// indexBatch is how many indexed people one round trip reads.
const indexBatch = 100

// letters lists up to limit items of the list named suffix, across the people
// in idx in index order.
func (s *Store) letters(ctx context.Context, idx, suffix string, limit int) ([]bot.Letter, error) {
	var out []bot.Letter
	for start := int64(0); len(out) < limit; start += indexBatch {
		people, err := s.c.ZRange(ctx, idx, start, start+indexBatch-1).Result()
		if err != nil {
			return nil, fmt.Errorf("redis: list %s index: %w", suffix, err)
		}
		for _, p := range people {
			vs, err := s.c.LRange(ctx, s.key(p, suffix), 0, int64(limit-len(out)-1)).Result()
			if err != nil {
				return nil, fmt.Errorf("redis: list %s: %w", suffix, err)
			}
			for _, v := range vs {
				it, err := decodeItem(v)
				if err != nil {
					return nil, err
				}
				out = append(out, bot.Letter{Person: p, Item: it})
			}
			if len(out) == limit {
				break
			}
		}
		if len(people) < indexBatch {
			break
		}
	}
	return out, nil
}

// DeadLetters implements bot.Store: people in the order their first current
// dead letter arrived, each person's letters oldest first.
func (s *Store) DeadLetters(ctx context.Context, limit int) ([]bot.Letter, error) {
	return s.letters(ctx, s.deadIndex(), "dead", limit)
}

// Escalations implements bot.Store, ordered like DeadLetters.
func (s *Store) Escalations(ctx context.Context, limit int) ([]bot.Letter, error) {
	return s.letters(ctx, s.escIndex(), "esc", limit)
}

// CountDeadLetters implements bot.Store. It reads one list length per person
// with dead letters, pipelined.
func (s *Store) CountDeadLetters(ctx context.Context) (int64, error) {
	var total int64
	for start := int64(0); ; start += indexBatch {
		people, err := s.c.ZRange(ctx, s.deadIndex(), start, start+indexBatch-1).Result()
		if err != nil {
			return 0, fmt.Errorf("redis: count dead letters: %w", err)
		}
		cmds := make([]*goredis.IntCmd, len(people))
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, person := range people {
				cmds[i] = p.LLen(ctx, s.key(person, "dead"))
			}
			return nil
		}); err != nil {
			return 0, fmt.Errorf("redis: count dead letters: %w", err)
		}
		for _, c := range cmds {
			total += c.Val()
		}
		if len(people) < indexBatch {
			return total, nil
		}
	}
}

var addFlagScript = goredis.NewScript(`
-- KEYS: set. ARGV: flag, ttl ms.
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`)

// SetFlag implements bot.Store: opt-outs are one set, kept for
// Retention.OptOut from the latest; the other flags another, kept for
// Retention.Person.
func (s *Store) SetFlag(ctx context.Context, person, flag string, on bool, _ time.Time) error {
	if err := checkPerson(person); err != nil {
		return err
	}
	if flag == "" {
		return errors.New("redis: empty flag")
	}
	key, ttl := s.key(person, "flags"), s.ret.Person
	if strings.HasPrefix(flag, bot.OptOutFlagPrefix) {
		key, ttl = s.key(person, "optout"), s.ret.OptOut
	}
	var err error
	if on {
		err = addFlagScript.Run(ctx, s.c, []string{key}, flag, ms(ttl)).Err()
	} else {
		err = s.c.SRem(ctx, key, flag).Err()
		if err == nil && key == s.key(person, "optout") {
			err = s.c.SRem(ctx, s.key(person, "flags"), flag).Err() // as kept by earlier versions
		}
	}
	if err != nil {
		return fmt.Errorf("redis: set flag: %w", err)
	}
	return nil
}

// Flags implements bot.Store.
func (s *Store) Flags(ctx context.Context, person string) ([]string, error) {
	if err := checkPerson(person); err != nil {
		return nil, err
	}
	fs, err := s.c.SUnion(ctx, s.key(person, "flags"), s.key(person, "optout")).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: flags: %w", err)
	}
	sort.Strings(fs)
	return fs, nil
}

// dueKey is the sorted set of every person's timers, by when they are due;
// members are "<person>/<timer id>".
func (s *Store) dueKey() string { return s.prefix + ":timers:due" }

func (s *Store) addDue(ctx context.Context, person string, ts []bot.Timer) error {
	if len(ts) == 0 {
		return nil
	}
	zs := make([]goredis.Z, len(ts))
	for i, t := range ts {
		zs[i] = goredis.Z{Score: float64(t.At.UnixMilli()), Member: person + "/" + t.ID}
	}
	if err := s.c.ZAdd(ctx, s.dueKey(), zs...).Err(); err != nil {
		return fmt.Errorf("redis: schedule timers: %w", err)
	}
	return nil
}

func (s *Store) removeDue(ctx context.Context, person string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	ms := make([]any, len(ids))
	for i, id := range ids {
		ms[i] = person + "/" + id
	}
	if err := s.c.ZRem(ctx, s.dueKey(), ms...).Err(); err != nil {
		return fmt.Errorf("redis: unschedule timers: %w", err)
	}
	return nil
}

// ClaimTimers implements bot.Store: one script over the due set (one slot)
// moves due timers past the lease, so exactly one caller gets each.
func (s *Store) ClaimTimers(ctx context.Context, now time.Time, lease time.Duration, n int) ([]bot.TimerClaim, error) {
	if n <= 0 {
		return nil, nil
	}
	until := now.Add(lease).UnixMilli()
	ms, err := claimScript.Run(ctx, s.c, []string{s.dueKey()}, now.UnixMilli(), until, n).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redis: claim timers: %w", err)
	}
	var out []bot.TimerClaim
	for _, m := range ms {
		person, id, ok := strings.Cut(m, "/")
		c := bot.TimerClaim{Person: person, ID: id, Until: time.UnixMilli(until)}
		at, err := s.c.HGet(ctx, s.key(person, "timers"), id).Int64()
		if !ok || errors.Is(err, goredis.Nil) {
			// Left by a commit that failed or a crash: nothing to fire.
			if err := s.FinishTimer(ctx, c); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("redis: read timer: %w", err)
		}
		c.At = time.UnixMilli(at)
		out = append(out, c)
	}
	return out, nil
}

var finishTimerScript = goredis.NewScript(`
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) == tonumber(ARGV[2]) then redis.call('ZREM', KEYS[1], ARGV[1]) end
return 0`)

// FinishTimer implements bot.Store.
func (s *Store) FinishTimer(ctx context.Context, c bot.TimerClaim) error {
	if err := finishTimerScript.Run(ctx, s.c, []string{s.dueKey()}, c.Person+"/"+c.ID, c.Until.UnixMilli()).Err(); err != nil && !errors.Is(err, goredis.Nil) {
		return fmt.Errorf("redis: finish timer: %w", err)
	}
	return nil
}

// Timers implements bot.Store.
func (s *Store) Timers(ctx context.Context, person string) ([]bot.Timer, error) {
	if err := checkPerson(person); err != nil {
		return nil, err
	}
	m, err := s.c.HGetAll(ctx, s.key(person, "timers")).Result()
	if err != nil {
		return nil, fmt.Errorf("redis: timers: %w", err)
	}
	out := make([]bot.Timer, 0, len(m))
	for id, v := range m {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redis: timer %s: %w", id, err)
		}
		out = append(out, bot.Timer{ID: id, At: time.UnixMilli(ms)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (s *Store) aliasKey(from string) string { return s.prefix + ":alias:{" + from + "}" }

// SetAlias implements bot.Store.
func (s *Store) SetAlias(ctx context.Context, from, to string, _ time.Time) error {
	if err := checkPerson(from); err != nil {
		return err
	}
	if err := checkPerson(to); err != nil {
		return err
	}
	if err := s.c.Set(ctx, s.aliasKey(from), to, s.ret.Person).Err(); err != nil {
		return fmt.Errorf("redis: set alias: %w", err)
	}
	return nil
}

// Alias implements bot.Store: reading the link keeps it for Retention.Person.
func (s *Store) Alias(ctx context.Context, from string, _ time.Time) (string, error) {
	if err := checkPerson(from); err != nil {
		return "", err
	}
	to, err := s.c.GetEx(ctx, s.aliasKey(from), s.ret.Person).Result()
	if errors.Is(err, goredis.Nil) {
		return "", bot.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("redis: alias: %w", err)
	}
	return to, nil
}

// DeleteAlias implements bot.Store.
func (s *Store) DeleteAlias(ctx context.Context, from string) error {
	if err := checkPerson(from); err != nil {
		return err
	}
	if err := s.c.Del(ctx, s.aliasKey(from)).Err(); err != nil {
		return fmt.Errorf("redis: delete alias: %w", err)
	}
	return nil
}

// Sweep implements bot.Store. Redis expires the records itself; Sweep drops
// the dead letter and escalation index entries, and the due timers, of people
// whose records expired. A writer adds a record before indexing it, so an
// index entry removed here whose record is back is put back (reindex), and a
// timer's due entry is added again after its commit.
func (s *Store) Sweep(ctx context.Context, now time.Time) error {
	for _, ix := range []struct{ idx, list string }{{s.deadIndex(), "dead"}, {s.escIndex(), "esc"}} {
		alive := func(p goredis.Pipeliner, member string) func() bool {
			c := p.Exists(ctx, s.key(member, ix.list))
			return func() bool { return c.Val() > 0 }
		}
		drop := func(member string) error { return s.reindex(ctx, ix.idx, member, ix.list, 0, now) }
		if err := s.sweepSet(ctx, ix.idx, alive, drop); err != nil {
			return err
		}
	}
	alive := func(p goredis.Pipeliner, member string) func() bool {
		person, id, _ := strings.Cut(member, "/")
		c := p.HExists(ctx, s.key(person, "timers"), id)
		return func() bool { return c.Val() }
	}
	drop := func(member string) error { return s.c.ZRem(ctx, s.dueKey(), member).Err() }
	return s.sweepSet(ctx, s.dueKey(), alive, drop)
}

// sweepSet walks the members of a sorted set and drops those not alive,
// checking a batch per round trip.
func (s *Store) sweepSet(ctx context.Context, key string, alive func(goredis.Pipeliner, string) func() bool, drop func(string) error) error {
	var cursor uint64
	for {
		kv, next, err := s.c.ZScan(ctx, key, cursor, "", indexBatch).Result()
		if err != nil {
			return fmt.Errorf("redis: sweep %s: %w", key, err)
		}
		var members []string
		for i := 0; i < len(kv); i += 2 {
			members = append(members, kv[i])
		}
		checks := make([]func() bool, len(members))
		if len(members) > 0 {
			if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for i, m := range members {
					checks[i] = alive(p, m)
				}
				return nil
			}); err != nil {
				return fmt.Errorf("redis: sweep %s: %w", key, err)
			}
		}
		for i, m := range members {
			if !checks[i]() {
				if err := drop(m); err != nil {
					return fmt.Errorf("redis: sweep %s: %w", key, err)
				}
			}
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}
