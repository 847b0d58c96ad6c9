package bot_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestSentinelFailoverUnderLoad runs three pipelines, each with its own
// client as three processes would have, on a Sentinel-managed primary with
// one replica (REDIS_URL with master_name and wait_replicas=1), while
// people write; halfway the Sentinel fails the primary over to the replica.
// Every person must get exactly the replies one pipeline alone gives them,
// in order: nothing lost, nothing doubled. A message whose accept fails
// during the failover is posted again, as a provider redelivers it.
func TestSentinelFailoverUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a primary, a replica and a Sentinel")
	}
	sen := redistest.StartSentinel(t)
	script := []string{"hola", "1", "1", "menu"}
	want := referenceTexts(t, script)
	const people, processes = 60, 3
	rec := newRecorder("sms")
	cfg := testConfig
	cfg.Poll = 20 * time.Millisecond
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var ps []*bot.Pipeline
	stores := processStores(t, sen.URL+"&wait_replicas=1", sen.Prefix, processes)
	first := stores[0]
	for _, st := range stores {
		p := newPipelineWith(t, st, time.Now, cfg, rec)
		ps = append(ps, p)
		wg.Go(func() { p.Run(ctx) })
	}
	defer func() { stop(); wg.Wait() }()

	var accepted atomic.Int64
	total := int64(people * len(script))
	failedOver := make(chan error, 1)
	go func() {
		for accepted.Load() < total/2 {
			time.Sleep(5 * time.Millisecond) // waiting for the load to reach halfway
		}
		fctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		at := accepted.Load()
		primary, err := sen.Failover(fctx)
		t.Logf("failover to %s began after %d of %d messages were accepted, ended after %d", primary, at, total, accepted.Load())
		failedOver <- err
	}()
	var producers sync.WaitGroup
	for i := range people {
		producers.Go(func() {
			from := fmt.Sprintf("+52155%08d", 7000+i)
			for j, text := range script {
				m := msg(from, fmt.Sprintf("SF%d-%d", i, j), text)
				for try := 0; ; try++ {
					_, err := ps[(i+j+try)%processes].Accept(context.Background(), m)
					if err == nil {
						break
					}
					if try > 600 {
						t.Errorf("%s message %d never accepted: %v", from, j, err)
						return
					}
					time.Sleep(50 * time.Millisecond) // a provider's redelivery
				}
				accepted.Add(1)
				time.Sleep(time.Duration(50+i%50) * time.Millisecond) // a person types: the load spans the failover
			}
		})
	}
	producers.Wait()
	if err := <-failedOver; err != nil {
		t.Fatal(err)
	}
	// A failure timeout only: pass or fail is by what was delivered.
	for deadline := time.Now().Add(2 * time.Minute); rec.count() < people*len(want) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	// Anything doubled would come after the last expected reply: let every
	// queue drain first.
	waitIdle(t, first, bot.QueueInbound, bot.QueueOutbound, bot.LaneQueue("sms"))
	lost, doubled := 0, 0
	for i := range people {
		got := rec.texts(fmt.Sprintf("+52155%08d", 7000+i))
		if !slices.Equal(got, want) {
			t.Errorf("person %d got %d replies, want %d in order:\n got %q\nwant %q", i, len(got), len(want), got, want)
		}
		lost += max(0, len(want)-len(got))
		doubled += max(0, len(got)-len(want))
	}
	t.Logf("%d people, %d messages, %d replies over 3 pipelines with a failover: %d lost, %d doubled", people, total, rec.count(), lost, doubled)
}

// processStores opens n stores on the Redis at url, each with a client of
// its own as n serve processes would have, closed when the test ends.
func processStores(t *testing.T, url, prefix string, n int) []bot.Store {
	t.Helper()
	var out []bot.Store
	for range n {
		st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		out = append(out, st)
	}
	return out
}

// referenceTexts is what one person who writes script gets from a pipeline
// alone on the embedded store.
func referenceTexts(t *testing.T, script []string) []string {
	t.Helper()
	st, err := embedded.Open(t.TempDir()+"/ref.db", embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rec := newRecorder("sms")
	p := newPipeline(t, st, time.Now, rec)
	const from = "+5215500000999"
	for j, text := range script {
		accept(t, p, msg(from, fmt.Sprintf("REF%d", j), text))
		drain(t, p)
	}
	return rec.texts(from)
}

// waitIdle waits until st has nobody left in any of the queues.
func waitIdle(t *testing.T, st bot.Store, qs ...bot.Queue) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		left := int64(0)
		for _, q := range qs {
			n, err := st.Pending(context.Background(), q)
			if err != nil {
				left++
			}
			left += n
		}
		if left == 0 {
			return
		}
	}
	t.Error("the queues never emptied")
}
