package redis_test

import (
	"context"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
	"github.com/enlace-rfl/enlace/store/storetest"
)

func TestConversationsConformance(t *testing.T) {
	srv := redistest.Start(t)
	storetest.RunConversations(t, func(t *testing.T) bot.Conversations { return open(t, srv) })
}

// TestClusterConversations runs the conversations suite on a real
// three-master Redis Cluster: each conversation's keys share its person's
// hash tag, and the indexes are changed by single-key commands only.
func TestClusterConversations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster")
	}
	c := redistest.StartCluster(t)
	storetest.RunConversations(t, func(t *testing.T) bot.Conversations {
		st, err := redisstore.Open(context.Background(), c.URL, redisstore.Options{Prefix: redistest.UniquePrefix()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	})
}

// TestConversationEventsAcrossProcesses: a volunteer's console on one
// process hears of a conversation another process opened and claimed (Redis
// pub/sub), on a single Redis and on a cluster, with the language and state
// only.
func TestConversationEventsAcrossProcesses(t *testing.T) {
	urls := map[string]string{"single": redistest.Start(t).URL}
	if !testing.Short() {
		urls["cluster"] = redistest.StartCluster(t).URL
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			prefix := redistest.UniquePrefix()
			openOne := func() *redisstore.Store {
				st, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = st.Close() })
				return st
			}
			console, pipeline := openOne(), openOne() // two processes, one store
			sctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			events, err := console.SubscribeConversations(sctx)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
			c, _, err := pipeline.OpenConversation(context.Background(), bot.Conversation{Person: "p0123456789abcdef",
				Reason: "danger", Priority: 4, Lang: "ht", Channel: "sms", Contact: []byte("sealed")}, now)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := pipeline.ClaimConversation(context.Background(), c.ID, "ana", now, time.Hour); err != nil {
				t.Fatal(err)
			}
			var got []bot.ConvState
			guard := time.After(20 * time.Second) // a hang guard, not a measure
			for len(got) < 2 {
				select {
				case e := <-events:
					if e.ID == c.ID && e.Lang == "ht" {
						got = append(got, e.State)
					}
				case <-guard:
					t.Fatalf("the other process heard %v, want waiting then claimed", got)
				}
			}
			if got[0] != bot.ConvWaiting || got[1] != bot.ConvClaimed {
				t.Fatalf("events %v, want waiting then claimed", got)
			}
		})
	}
}
