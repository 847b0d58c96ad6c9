package redis_test

import (
	"context"
	"testing"

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
