package redistest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Cluster is a throwaway Redis Cluster of three masters on free ports.
type Cluster struct {
	// URL reaches the cluster in the form store/redis.Open understands:
	// redis://first?addr=second&addr=third.
	URL string
	// Prefix is a fresh key prefix for this cluster's users.
	Prefix string
}

// StartCluster starts three cluster-enabled redis-server processes and joins
// them with redis-cli --cluster create, so tests meet what a single node never
// reports: CROSSSLOT errors for multi-key commands over several slots. It is
// skipped (failed with CI=true) like Start when redis-server or redis-cli is
// missing, and when REDIS_URL points the tests at a Redis of their own.
func StartCluster(tb testing.TB) *Cluster {
	tb.Helper()
	if os.Getenv("REDIS_URL") != "" {
		tb.Skip("REDIS_URL is set: the cluster test needs private redis-server processes")
	}
	cli := need(tb, "redis-cli", "install redis-tools (apt-get install redis-tools)")
	var addrs []string
	for range 3 {
		dir := tb.TempDir()
		s := startLocal(tb, dir, "--appendonly", "no", "--cluster-enabled", "yes",
			"--cluster-config-file", dir+"/nodes.conf", "--cluster-node-timeout", "2000")
		addrs = append(addrs, s.addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		tb.Fatalf("redistest: redis-cli --cluster create: %v\n%s", err, out)
	}
	// Every node must see the cluster up and know every node, not only the
	// first: a command routed to a node that has not caught up yet gets
	// CLUSTERDOWN.
	for _, addr := range addrs {
		host, port, _ := net.SplitHostPort(addr)
		for {
			out, err := exec.CommandContext(ctx, cli, "-h", host, "-p", port, "cluster", "info").Output()
			if err == nil && strings.Contains(string(out), "cluster_state:ok") &&
				strings.Contains(string(out), "cluster_known_nodes:"+strconv.Itoa(len(addrs))) &&
				strings.Contains(string(out), "cluster_slots_ok:16384") {
				break
			}
			if ctx.Err() != nil {
				tb.Fatalf("redistest: cluster node %s did not become ready: %s", addr, out)
			}
			time.Sleep(100 * time.Millisecond) // polling a process, not timing a test
		}
	}
	return &Cluster{URL: "redis://" + addrs[0] + "?addr=" + addrs[1] + "&addr=" + addrs[2], Prefix: UniquePrefix()}
}
