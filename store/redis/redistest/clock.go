package redistest

import (
	"context"
	"sort"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// eachNode runs fn on every node that holds keys: the client itself, or
// every master of a cluster.
func eachNode(ctx context.Context, c goredis.UniversalClient, fn func(context.Context, *goredis.Client) error) error {
	if cc, ok := c.(*goredis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, fn)
	}
	if n, ok := c.(*goredis.Client); ok {
		return fn(ctx, n)
	}
	return nil
}

// keys lists every key under prefix on every node.
func keys(tb testing.TB, c goredis.UniversalClient, prefix string) []string {
	tb.Helper()
	ctx := context.Background()
	var out []string
	var mu sync.Mutex // ForEachMaster runs fn on the masters at once
	err := eachNode(ctx, c, func(ctx context.Context, n *goredis.Client) error {
		iter := n.Scan(ctx, 0, prefix+":*", 1000).Iterator()
		var ks []string
		for iter.Next(ctx) {
			ks = append(ks, iter.Val())
		}
		mu.Lock()
		out = append(out, ks...)
		mu.Unlock()
		return iter.Err()
	})
	if err != nil {
		tb.Fatalf("redistest: scan: %v", err)
	}
	sort.Strings(out)
	return out
}

// Elapse lets d pass for every key under prefix, as Redis's own clock would:
// each TTL shrinks by d, and a key whose TTL it reaches is deleted. Keys
// without a TTL are left as they are (a test then finds them). Stores expire
// records by Redis's clock, so a test on a fake clock moves both with this.
func Elapse(tb testing.TB, c goredis.UniversalClient, prefix string, d time.Duration) {
	tb.Helper()
	ctx := context.Background()
	for _, k := range keys(tb, c, prefix) {
		ttl, err := c.PTTL(ctx, k).Result()
		if err != nil {
			tb.Fatalf("redistest: pttl %s: %v", k, err)
		}
		switch {
		case ttl < 0: // no TTL (-1), or gone meanwhile (-2)
		case ttl <= d:
			err = c.Del(ctx, k).Err()
		default:
			err = c.PExpire(ctx, k, ttl-d).Err()
		}
		if err != nil {
			tb.Fatalf("redistest: elapse %s: %v", k, err)
		}
	}
}

// Contents lists, as text, every key under prefix and every value, member
// or field in it, each line starting with its key, so a test can look for a
// name anywhere in the store.
func Contents(tb testing.TB, c goredis.UniversalClient, prefix string) []string {
	tb.Helper()
	ctx := context.Background()
	var out []string
	for _, k := range keys(tb, c, prefix) {
		out = append(out, k)
		var vals []string
		var err error
		switch typ := c.Type(ctx, k).Val(); typ {
		case "string":
			var v string
			v, err = c.Get(ctx, k).Result()
			vals = []string{v}
		case "list":
			vals, err = c.LRange(ctx, k, 0, -1).Result()
		case "zset":
			vals, err = c.ZRange(ctx, k, 0, -1).Result()
		case "set":
			vals, err = c.SMembers(ctx, k).Result()
		case "hash":
			var m map[string]string
			m, err = c.HGetAll(ctx, k).Result()
			for f, v := range m {
				vals = append(vals, f+" "+v)
			}
		case "none": // expired meanwhile
		default:
			tb.Fatalf("redistest: key %s has type %s, which Contents cannot read", k, typ)
		}
		if err != nil && err != goredis.Nil {
			tb.Fatalf("redistest: read %s: %v", k, err)
		}
		for _, v := range vals {
			out = append(out, k+" "+v)
		}
	}
	return out
}
