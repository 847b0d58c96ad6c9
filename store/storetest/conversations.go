package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

// RunConversations runs the conformance suite of bot.Conversations: the
// volunteer handoff's conversations, claims, transcripts and events. open
// returns a new, empty store for one subtest (closed by its own cleanup).
func RunConversations(t *testing.T, open func(t *testing.T) bot.Conversations) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s bot.Conversations)
	}{
		{"OpenJoins", testConvOpenJoins},
		{"QueueOrder", testConvQueueOrder},
		{"ConcurrentClaims", testConvConcurrentClaims},
		{"ClaimTimeout", testConvClaimTimeout},
		{"ReleaseAssign", testConvReleaseAssign},
		{"Transcript", testConvTranscript},
		{"EntryStatus", testConvEntryStatus},
		{"Close", testConvClose},
		{"Erase", testConvErase},
		{"Events", testConvEvents},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

// t0 is the fake clock's start for conversation tests.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func openConv(t *testing.T, s bot.Conversations, p, reason string, prio int, lang string, now time.Time) (bot.Conversation, bool) {
	t.Helper()
	c, created, err := s.OpenConversation(ctx, bot.Conversation{
		Person: p, Reason: reason, Priority: prio, Lang: lang, Channel: "sms", Contact: []byte("sealed\x00contact"),
	}, now)
	must(t, err)
	return c, created
}

func testConvOpenJoins(t *testing.T, s bot.Conversations) {
	p := person(t)
	c, created := openConv(t, s, p, "asked_for_help", 2, "ht", t0)
	if !created || c.State != bot.ConvWaiting || c.Person != p || c.Lang != "ht" || c.Channel != "sms" ||
		!c.Opened.Equal(t0) || !c.Queued.Equal(t0) || string(c.Contact) != "sealed\x00contact" || c.ID == "" {
		t.Fatalf("opened %+v (created %v)", c, created)
	}
	if c.ID[0] < 'a' || c.ID[0] > 'z' {
		t.Fatalf("conversation id %q: must start with a letter, never be all digits (the audit refuses those)", c.ID)
	}
	j, created := openConv(t, s, p, "danger", 4, "ht", t0.Add(time.Minute))
	if created || j.ID != c.ID || j.Reason != "danger" || j.Priority != 4 || !j.Queued.Equal(t0) {
		t.Fatalf("joined with a higher priority: %+v (created %v)", j, created)
	}
	j, _ = openConv(t, s, p, "repeated_misunderstanding", 1, "ht", t0.Add(2*time.Minute))
	if j.ID != c.ID || j.Reason != "danger" || j.Priority != 4 {
		t.Fatalf("a lower priority changed it: %+v", j)
	}
	got, err := s.OpenConversationOf(ctx, p, t0)
	must(t, err)
	if got.ID != c.ID || got.Priority != 4 {
		t.Fatalf("OpenConversationOf = %+v", got)
	}
	byID, err := s.Conversation(ctx, c.ID, t0)
	must(t, err)
	if byID.ID != c.ID || byID.Person != p {
		t.Fatalf("Conversation = %+v", byID)
	}
	_, err = s.OpenConversationOf(ctx, person(t), t0)
	wantErr(t, err, bot.ErrNotFound)
	_, err = s.Conversation(ctx, "nosuchconversation", t0)
	wantErr(t, err, bot.ErrNotFound)
}

// ours keeps the conversations of the given people, in order.
func ours(cs []bot.Conversation, people ...string) []string {
	var out []string
	for _, c := range cs {
		if slices.Contains(people, c.Person) {
			out = append(out, c.Person)
		}
	}
	return out
}

func testConvQueueOrder(t *testing.T, s bot.Conversations) {
	old, young, danger, checkin := person(t), person(t), person(t), person(t)
	openConv(t, s, young, "asked_for_help", 2, "es", t0.Add(2*time.Minute))
	openConv(t, s, old, "asked_for_help", 2, "es", t0)
	openConv(t, s, checkin, "missed_checkin", 3, "es", t0.Add(3*time.Minute))
	openConv(t, s, danger, "danger", 4, "es", t0.Add(4*time.Minute))
	cs, err := s.OpenConversations(ctx, t0)
	must(t, err)
	if got, want := ours(cs, old, young, danger, checkin), []string{danger, checkin, old, young}; !slices.Equal(got, want) {
		t.Fatalf("queue order = %v, want %v", got, want)
	}
	// A request for a person that then speaks of danger moves up.
	openConv(t, s, young, "danger", 4, "es", t0.Add(5*time.Minute))
	cs, err = s.OpenConversations(ctx, t0)
	must(t, err)
	if got, want := ours(cs, old, young, danger, checkin), []string{young, danger, checkin, old}; !slices.Equal(got, want) {
		t.Fatalf("after joining with danger = %v, want %v", got, want)
	}
}

func testConvConcurrentClaims(t *testing.T, s bot.Conversations) {
	c, _ := openConv(t, s, person(t), "asked_for_help", 2, "ht", t0)
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = s.ClaimConversation(ctx, c.ID, fmt.Sprintf("staff%02d", i), t0.Add(time.Second), time.Hour)
		})
	}
	wg.Wait()
	winner := ""
	for i, err := range errs {
		if err == nil {
			if winner != "" {
				t.Fatalf("two claims won: %s and staff%02d", winner, i)
			}
			winner = fmt.Sprintf("staff%02d", i)
		}
	}
	if winner == "" {
		t.Fatalf("no claim won: %v", errs)
	}
	for i, err := range errs {
		var held *bot.HeldError
		if err != nil && (!errors.As(err, &held) || held.Holder != winner || !errors.Is(err, bot.ErrHeld)) {
			t.Fatalf("claim %d lost with %v, want *HeldError naming %s", i, err, winner)
		}
	}
	got, err := s.Conversation(ctx, c.ID, t0)
	must(t, err)
	if got.State != bot.ConvClaimed || got.Holder != winner || !got.Claimed.Equal(t0.Add(time.Second)) {
		t.Fatalf("after the claims: %+v", got)
	}
	// Claiming one's own claim changes nothing.
	again, err := s.ClaimConversation(ctx, c.ID, winner, t0.Add(time.Minute), time.Hour)
	must(t, err)
	if !again.Claimed.Equal(t0.Add(time.Second)) {
		t.Fatalf("a second claim by the holder moved the claim: %+v", again)
	}
}

func testConvClaimTimeout(t *testing.T, s bot.Conversations) {
	const timeout = 10 * time.Minute
	c, _ := openConv(t, s, person(t), "asked_for_help", 2, "es", t0)
	_, err := s.ClaimConversation(ctx, c.ID, "ana", t0, timeout)
	must(t, err)
	released, err := s.ReleaseStale(ctx, t0.Add(timeout-time.Millisecond), timeout)
	must(t, err)
	if slices.ContainsFunc(released, func(r bot.Conversation) bool { return r.ID == c.ID }) {
		t.Fatal("released before the timeout")
	}
	_, err = s.ClaimConversation(ctx, c.ID, "ben", t0.Add(timeout-time.Millisecond), timeout)
	var held *bot.HeldError
	if !errors.As(err, &held) || held.Holder != "ana" {
		t.Fatalf("claim before the timeout: %v", err)
	}
	released, err = s.ReleaseStale(ctx, t0.Add(timeout), timeout)
	must(t, err)
	if !slices.ContainsFunc(released, func(r bot.Conversation) bool { return r.ID == c.ID && r.State == bot.ConvWaiting }) {
		t.Fatalf("not back in the queue after the timeout: %+v", released)
	}
	got, err := s.Conversation(ctx, c.ID, t0)
	must(t, err)
	if got.State != bot.ConvWaiting || got.Holder != "" || !got.Queued.Equal(t0) {
		t.Fatalf("back in the queue: %+v (it keeps its place)", got)
	}
	// A claim with a reply does not time out.
	_, err = s.ClaimConversation(ctx, c.ID, "ben", t0.Add(timeout), timeout)
	must(t, err)
	_, err = s.AppendEntry(ctx, c.Person, c.ID, bot.Entry{ID: "r1", Data: []byte("reply")}, "ben", t0.Add(timeout+time.Minute))
	must(t, err)
	released, err = s.ReleaseStale(ctx, t0.Add(10*timeout), timeout)
	must(t, err)
	if len(released) != 0 {
		t.Fatalf("a claim with a reply was released: %+v", released)
	}
	_, err = s.ClaimConversation(ctx, c.ID, "cat", t0.Add(10*timeout), timeout)
	if !errors.As(err, &held) || held.Holder != "ben" {
		t.Fatalf("claim of a replied claim: %v", err)
	}
	// A stale claim may be taken by a claim, before anyone sweeps.
	d, _ := openConv(t, s, person(t), "asked_for_help", 2, "es", t0)
	_, err = s.ClaimConversation(ctx, d.ID, "ana", t0, timeout)
	must(t, err)
	got, err = s.ClaimConversation(ctx, d.ID, "ben", t0.Add(timeout), timeout)
	must(t, err)
	if got.Holder != "ben" {
		t.Fatalf("stale claim taken: %+v", got)
	}
}

func testConvReleaseAssign(t *testing.T, s bot.Conversations) {
	c, _ := openConv(t, s, person(t), "missed_checkin", 3, "fr", t0)
	_, err := s.ClaimConversation(ctx, c.ID, "ana", t0, time.Hour)
	must(t, err)
	_, err = s.ReleaseConversation(ctx, c.ID, "ben", t0)
	if !errors.Is(err, bot.ErrHeld) {
		t.Fatalf("release by someone else: %v", err)
	}
	got, err := s.AssignConversation(ctx, c.ID, "ben", t0.Add(time.Minute))
	must(t, err)
	if got.Holder != "ben" || !got.Claimed.Equal(t0.Add(time.Minute)) {
		t.Fatalf("reassigned: %+v", got)
	}
	got, err = s.ReleaseConversation(ctx, c.ID, "ben", t0.Add(2*time.Minute))
	must(t, err)
	if got.State != bot.ConvWaiting || got.Holder != "" {
		t.Fatalf("released: %+v", got)
	}
	cs, err := s.OpenConversations(ctx, t0)
	must(t, err)
	if !slices.ContainsFunc(cs, func(o bot.Conversation) bool { return o.ID == c.ID && o.State == bot.ConvWaiting }) {
		t.Fatal("a released conversation is not listed as waiting")
	}
}

func entryIDs(es []bot.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testConvTranscript(t *testing.T, s bot.Conversations) {
	p := person(t)
	_, err := s.AppendEntry(ctx, p, "", bot.Entry{ID: "m0", Data: []byte("x")}, "", t0)
	wantErr(t, err, bot.ErrNotFound)
	c, _ := openConv(t, s, p, "asked_for_help", 2, "es", t0)
	for i := range 5 {
		id := fmt.Sprintf("m%d", i+1)
		ok, err := s.AppendEntry(ctx, p, "", bot.Entry{ID: id, Data: []byte("data-" + id + "\x00\xff")}, "", t0)
		must(t, err)
		if !ok {
			t.Fatalf("entry %s not appended", id)
		}
	}
	// A retry after a crash appends nothing.
	ok, err := s.AppendEntry(ctx, p, c.ID, bot.Entry{ID: "m3", Data: []byte("again")}, "", t0)
	must(t, err)
	if ok {
		t.Fatal("a repeated entry id was appended again")
	}
	// A reply needs the holder.
	_, err = s.AppendEntry(ctx, p, c.ID, bot.Entry{ID: "r1", Data: []byte("reply")}, "ana", t0)
	if !errors.Is(err, bot.ErrHeld) {
		t.Fatalf("reply to an unclaimed conversation: %v", err)
	}
	_, err = s.ClaimConversation(ctx, c.ID, "ana", t0, time.Hour)
	must(t, err)
	_, err = s.AppendEntry(ctx, p, c.ID, bot.Entry{ID: "r1", Data: []byte("reply")}, "ben", t0)
	var held *bot.HeldError
	if !errors.As(err, &held) || held.Holder != "ana" {
		t.Fatalf("reply by someone who does not hold it: %v", err)
	}
	_, err = s.AppendEntry(ctx, p, c.ID, bot.Entry{ID: "r1", Data: []byte("reply")}, "ana", t0.Add(time.Minute))
	must(t, err)
	got, err := s.Conversation(ctx, c.ID, t0)
	must(t, err)
	if !got.Replied.Equal(t0.Add(time.Minute)) {
		t.Fatalf("the reply was not recorded: %+v", got)
	}
	es, err := s.Entries(ctx, c.ID, t0)
	must(t, err)
	if got, want := entryIDs(es), []string{"m1", "m2", "m3", "m4", "m5", "r1"}; !slices.Equal(got, want) {
		t.Fatalf("transcript = %v, want %v", got, want)
	}
	if string(es[0].Data) != "data-m1\x00\xff" {
		t.Fatalf("entry data = %q", es[0].Data)
	}
	// Another person's message never lands in this conversation.
	_, err = s.AppendEntry(ctx, person(t), c.ID, bot.Entry{ID: "x1", Data: []byte("x")}, "", t0)
	if err == nil {
		t.Fatal("an entry was appended to another person's conversation")
	}
}

func testConvEntryStatus(t *testing.T, s bot.Conversations) {
	p := person(t)
	c, _ := openConv(t, s, p, "asked_for_help", 2, "es", t0)
	_, err := s.ClaimConversation(ctx, c.ID, "ana", t0, time.Hour)
	must(t, err)
	_, err = s.AppendEntry(ctx, p, c.ID, bot.Entry{ID: "r1", Data: []byte("reply")}, "ana", t0)
	must(t, err)
	for _, st := range []bot.EntryStatus{
		{Status: "queued", At: t0},
		{Via: "template"},
		{Status: "delivered", At: t0.Add(2 * time.Second)},
		{Status: "sent", At: t0.Add(3 * time.Second)}, // late: does not move back
	} {
		must(t, s.SetEntryStatus(ctx, p, c.ID, "r1", st, t0))
	}
	es, err := s.Entries(ctx, c.ID, t0)
	must(t, err)
	want := bot.EntryStatus{Status: "delivered", Via: "template", At: t0.Add(2 * time.Second)}
	if len(es) != 1 || es[0].Status.Status != want.Status || es[0].Status.Via != want.Via || !es[0].Status.At.Equal(want.At) {
		t.Fatalf("status = %+v, want %+v", es, want)
	}
	must(t, s.SetEntryStatus(ctx, p, c.ID, "r1", bot.EntryStatus{Status: "failed", Error: "twilio 30008", At: t0.Add(4 * time.Second)}, t0))
	es, err = s.Entries(ctx, c.ID, t0)
	must(t, err)
	if es[0].Status.Status != "failed" || es[0].Status.Error != "twilio 30008" {
		t.Fatalf("failure = %+v", es[0].Status)
	}
	// A status for a conversation that is gone is dropped.
	must(t, s.SetEntryStatus(ctx, p, "gonegonegone", "r1", bot.EntryStatus{Status: "sent"}, t0))
}

func testConvClose(t *testing.T, s bot.Conversations) {
	p := person(t)
	c, _ := openConv(t, s, p, "asked_for_help", 2, "es", t0)
	_, err := s.AppendEntry(ctx, p, "", bot.Entry{ID: "m1", Data: []byte("hi")}, "", t0)
	must(t, err)
	got, err := s.CloseConversation(ctx, c.ID, "answered", t0.Add(time.Hour), time.Hour)
	must(t, err)
	if got.State != bot.ConvClosed || got.Outcome != "answered" || !got.Closed.Equal(t0.Add(time.Hour)) {
		t.Fatalf("closed = %+v", got)
	}
	_, err = s.CloseConversation(ctx, c.ID, "answered", t0.Add(time.Hour), time.Hour)
	wantErr(t, err, bot.ErrClosed)
	_, err = s.ClaimConversation(ctx, c.ID, "ana", t0.Add(time.Hour), time.Hour)
	wantErr(t, err, bot.ErrClosed)
	_, err = s.AppendEntry(ctx, p, c.ID, bot.Entry{ID: "m2", Data: []byte("late")}, "", t0)
	wantErr(t, err, bot.ErrClosed)
	_, err = s.OpenConversationOf(ctx, p, t0)
	wantErr(t, err, bot.ErrNotFound)
	cs, err := s.OpenConversations(ctx, t0)
	must(t, err)
	if slices.ContainsFunc(cs, func(o bot.Conversation) bool { return o.ID == c.ID }) {
		t.Fatal("a closed conversation is listed as open")
	}
	// Kept, with its transcript, for reading.
	es, err := s.Entries(ctx, c.ID, t0)
	must(t, err)
	if len(es) != 1 {
		t.Fatalf("transcript after close = %v", entryIDs(es))
	}
	// The next escalation opens a new conversation.
	n, created := openConv(t, s, p, "asked_for_help", 2, "es", t0.Add(2*time.Hour))
	if !created || n.ID == c.ID {
		t.Fatalf("after close, open gave %+v (created %v)", n, created)
	}
}

func testConvErase(t *testing.T, s bot.Conversations) {
	p, other := person(t), person(t)
	old, _ := openConv(t, s, p, "asked_for_help", 2, "es", t0)
	_, err := s.CloseConversation(ctx, old.ID, "answered", t0, time.Hour)
	must(t, err)
	cur, _ := openConv(t, s, p, "danger", 4, "es", t0)
	_, err = s.AppendEntry(ctx, p, "", bot.Entry{ID: "m1", Data: []byte("hi")}, "", t0)
	must(t, err)
	_, err = s.ClaimConversation(ctx, cur.ID, "ana", t0, time.Hour)
	must(t, err)
	kept, _ := openConv(t, s, other, "asked_for_help", 2, "es", t0)
	ids, err := s.EraseConversations(ctx, p, t0)
	must(t, err)
	slices.Sort(ids)
	want := []string{old.ID, cur.ID}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Fatalf("erased %v, want %v", ids, want)
	}
	for _, id := range want {
		_, err := s.Conversation(ctx, id, t0)
		wantErr(t, err, bot.ErrNotFound)
		_, err = s.Entries(ctx, id, t0)
		wantErr(t, err, bot.ErrNotFound)
		_, err = s.ClaimConversation(ctx, id, "ben", t0, time.Hour)
		wantErr(t, err, bot.ErrNotFound)
	}
	_, err = s.OpenConversationOf(ctx, p, t0)
	wantErr(t, err, bot.ErrNotFound)
	cs, err := s.OpenConversations(ctx, t0)
	must(t, err)
	if got := ours(cs, p, other); !slices.Equal(got, []string{other}) {
		t.Fatalf("after erase the open conversations are %v", got)
	}
	if _, err := s.Conversation(ctx, kept.ID, t0); err != nil {
		t.Fatalf("another person's conversation: %v", err)
	}
	ids, err = s.EraseConversations(ctx, p, t0)
	must(t, err)
	if len(ids) != 0 {
		t.Fatalf("a second erase found %v", ids)
	}
}

func testConvEvents(t *testing.T, s bot.Conversations) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := s.SubscribeConversations(sctx)
	must(t, err)
	c, _ := openConv(t, s, person(t), "asked_for_help", 2, "ht", t0)
	_, err = s.ClaimConversation(ctx, c.ID, "ana", t0, time.Hour)
	must(t, err)
	_, err = s.CloseConversation(ctx, c.ID, "answered", t0, time.Hour)
	must(t, err)
	var got []bot.ConvState
	timeout := time.After(10 * time.Second) // a hang guard, not a measure
	for len(got) < 3 {
		select {
		case e := <-events:
			if e.ID == c.ID {
				if e.Lang != "ht" {
					t.Fatalf("event %+v lacks the language", e)
				}
				got = append(got, e.State)
			}
		case <-timeout:
			t.Fatalf("events so far %v, want waiting, claimed, closed", got)
		}
	}
	if want := []bot.ConvState{bot.ConvWaiting, bot.ConvClaimed, bot.ConvClosed}; !slices.Equal(got, want) {
		t.Fatalf("events = %v, want %v", got, want)
	}
	cancel()
	for range events { // closed once the subscription ends
	}
}
