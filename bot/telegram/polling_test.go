package telegram_test

import (
	"context"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestPollingLosesNothing: polling removes the webhook, hands every update to
// the pipeline once, and does not confirm an update it could not record.
func TestPollingLosesNothing(t *testing.T) {
	rec := newRecorder()
	a, api := newAdapter(t, rec, nil)
	files := []string{
		"updates/enlace_location.json",       // 700001
		"updates/enlace_start_shelters.json", // 700008
		"updates/enlace_callback_lang_en.json",
		"updates/enlace_text_special.json",
		"updates/teloxide_private_text_message.json", // 892252934
	}
	for _, f := range files[:2] {
		api.PushUpdate(fixture(t, f))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); a.Poll(ctx) }()
	defer func() { cancel(); wg.Wait() }()

	waitFor(t, func() bool { return len(rec.messages()) == 2 })
	rec.setDown(true) // the store goes away: the next updates must wait
	for _, f := range files[2:] {
		api.PushUpdate(fixture(t, f))
	}
	n := len(api.Calls("getUpdates"))
	waitFor(t, func() bool { return len(api.Calls("getUpdates")) >= n+2 })
	if got := len(rec.messages()); got != 2 {
		t.Fatalf("recorded %d updates with the store down, want 2", got)
	}
	// While the store is down no getUpdates confirms the update it failed on.
	for _, c := range api.Calls("getUpdates") {
		if off, _ := strconv.ParseInt(c.Params["offset"], 10, 64); off > 700009 {
			t.Errorf("getUpdates with offset %d confirmed an update that was not recorded", off)
		}
	}
	rec.setDown(false)
	waitFor(t, func() bool { return len(rec.messages()) == 5 && api.Pending() == 0 })

	var got []string
	for _, m := range rec.messages() {
		got = append(got, m.ID)
	}
	if want := []string{"u700001", "u700008", "u700009", "u700012", "u892252934"}; !reflect.DeepEqual(got, want) {
		t.Errorf("recorded: got %v, want %v", got, want)
	}
	calls := api.Calls("")
	if calls[0].Method != "deleteWebhook" {
		t.Errorf("first call: got %s, want deleteWebhook", calls[0].Method)
	}
	for _, c := range api.Calls("getUpdates") {
		if c.Params["allowed_updates"] != `["message","edited_message","callback_query","my_chat_member"]` {
			t.Errorf("allowed_updates: got %s", c.Params["allowed_updates"])
		}
	}
	// The button is answered in the background, right after the update is recorded.
	waitFor(t, func() bool { return len(api.Calls("answerCallbackQuery")) >= 1 })
	if got := api.Calls("answerCallbackQuery"); len(got) != 1 {
		t.Errorf("answerCallbackQuery: got %d calls, want 1", len(got))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
