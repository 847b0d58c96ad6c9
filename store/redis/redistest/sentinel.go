package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Sentinel is a throwaway Sentinel-managed Redis: a primary, one replica and
// one Sentinel watching them under the name MasterName.
type Sentinel struct {
	// URL reaches the primary through the Sentinel, in the form
	// store/redis.Open understands: redis://sentinel?master_name=….
	URL string
	// Prefix is a fresh key prefix for this deployment's users.
	Prefix     string
	MasterName string

	tb       testing.TB
	sentinel string // the Sentinel's address
	nodes    []*Server
}

// sentinelMaster is the name the Sentinel knows the primary by.
const sentinelMaster = "enlacetest"

// StartSentinel starts a primary, a replica of it and a Sentinel that
// monitors them (quorum 1, a primary is down after a second), and waits
// until the replica has caught up and the Sentinel knows it, so Failover can
// promote it. It is skipped (failed with CI=true) like Start when
// redis-server is missing, and when REDIS_URL points the tests at a Redis of
// their own.
func StartSentinel(tb testing.TB) *Sentinel {
	tb.Helper()
	if os.Getenv("REDIS_URL") != "" {
		tb.Skip("REDIS_URL is set: the Sentinel test needs private redis-server processes")
	}
	primary := startLocal(tb, tb.TempDir(), "--appendonly", "no")
	host, port, _ := net.SplitHostPort(primary.addr)
	replica := startLocal(tb, tb.TempDir(), "--appendonly", "no", "--replicaof", host, port)

	dir := tb.TempDir()
	sport, err := freePort()
	if err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	conf := dir + "/sentinel.conf"
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
		"sentinel monitor %s %s %s 1\n"+
		"sentinel down-after-milliseconds %s 1000\n"+
		"sentinel failover-timeout %s 10000\n", sport, dir, sentinelMaster, host, port, sentinelMaster, sentinelMaster)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		tb.Fatalf("redistest: %v", err)
	}
	sn := &Server{tb: tb, owned: true, bin: primary.bin, args: []string{conf, "--sentinel"}}
	sn.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sport))
	tb.Cleanup(sn.Stop)
	sn.start()

	s := &Sentinel{
		URL:    "redis://" + sn.addr + "?master_name=" + sentinelMaster,
		Prefix: UniquePrefix(), MasterName: sentinelMaster,
		tb: tb, sentinel: sn.addr, nodes: []*Server{primary, replica},
	}
	s.waitReady(replica.addr)
	return s
}

// waitReady waits until the replica at addr is in sync and the Sentinel
// lists it as a healthy replica.
func (s *Sentinel) waitReady(addr string) {
	s.tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	rc := goredis.NewClient(&goredis.Options{Addr: addr})
	defer rc.Close()
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: s.sentinel})
	defer sc.Close()
	for {
		info, _ := rc.Info(ctx, "replication").Result()
		replicas, _ := sc.Replicas(ctx, sentinelMaster).Result()
		known := false
		for _, r := range replicas {
			if fmt.Sprint(r["name"]) == addr && !strings.Contains(fmt.Sprint(r["flags"]), "down") {
				known = true
			}
		}
		if strings.Contains(info, "master_link_status:up") && known {
			return
		}
		if ctx.Err() != nil {
			s.tb.Fatalf("redistest: the replica %s did not become ready under the Sentinel: %s %v", addr, info, replicas)
		}
		time.Sleep(100 * time.Millisecond) // polling processes, not timing a test
	}
}

// Primary returns the address the Sentinel names as the primary now.
func (s *Sentinel) Primary(ctx context.Context) (string, error) {
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: s.sentinel})
	defer sc.Close()
	hp, err := sc.GetMasterAddrByName(ctx, sentinelMaster).Result()
	if err != nil || len(hp) != 2 {
		return "", fmt.Errorf("redistest: asking the Sentinel for the primary: %v %v", hp, err)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

// Failover makes the Sentinel promote the replica (SENTINEL FAILOVER) and
// waits until it names the new primary and that node says it is one. It
// returns the new primary's address.
func (s *Sentinel) Failover(ctx context.Context) (string, error) {
	before, err := s.Primary(ctx)
	if err != nil {
		return "", err
	}
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: s.sentinel})
	defer sc.Close()
	if err := sc.Failover(ctx, sentinelMaster).Err(); err != nil {
		return "", fmt.Errorf("redistest: SENTINEL FAILOVER: %w", err)
	}
	for {
		now, err := s.Primary(ctx)
		if err == nil && now != before {
			c := goredis.NewClient(&goredis.Options{Addr: now})
			role, _ := c.Do(ctx, "ROLE").Slice()
			_ = c.Close()
			if len(role) > 0 && role[0] == "master" {
				return now, nil
			}
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("redistest: no new primary after SENTINEL FAILOVER (still %s): %w", before, ctx.Err())
		}
		time.Sleep(50 * time.Millisecond) // polling processes, not timing a test
	}
}
