package embedded_test

import (
	"path/filepath"
	"testing"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/storetest"
)

func TestConversationsConformance(t *testing.T) {
	storetest.RunConversations(t, func(t *testing.T) bot.Conversations {
		return open(t, filepath.Join(t.TempDir(), "enlace.db"))
	})
}
