package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// ConvState is where a conversation with staff stands.
type ConvState string

// Conversation states: waiting in the queue, claimed by one staff member, closed.
const (
	ConvWaiting ConvState = "waiting"
	ConvClaimed ConvState = "claimed"
	ConvClosed  ConvState = "closed"
)

// Conversation is a handoff of one person to staff, as a store keeps it: an
// escalation becomes one, further escalations of the person join it while it
// is open (at most one open conversation per person). Nothing in it is
// personal data but Contact, which is sealed.
type Conversation struct {
	ID     string    `json:"id"`
	Person string    `json:"person"`
	State  ConvState `json:"state"`
	// Reason is the most urgent reason it was escalated for, Priority its rank
	// (higher first: see flows.ReasonPriority).
	Reason   string `json:"reason"`
	Priority int    `json:"priority"`
	Lang     string `json:"lang"`
	Channel  string `json:"channel"`
	// Opened is the first escalation; Queued is when it entered the queue,
	// from which its waiting time counts (a claim that times out keeps it).
	Opened time.Time `json:"opened"`
	Queued time.Time `json:"queued"`
	// Holder is the staff member (account id) who claimed it, at Claimed;
	// Replied is the holder's last reply (a claim with a reply does not time out).
	Holder  string    `json:"holder,omitempty"`
	Claimed time.Time `json:"claimed,omitzero"`
	Replied time.Time `json:"replied,omitzero"`
	Closed  time.Time `json:"closed,omitzero"`
	Outcome string    `json:"outcome,omitempty"`
	// Contact is the person's channel address, sealed (see Pipeline.sealContact).
	Contact []byte `json:"contact,omitempty"`
}

// Open reports whether the conversation is waiting or claimed.
func (c Conversation) Open() bool { return c.State == ConvWaiting || c.State == ConvClaimed }

// ClaimStale reports whether a claim has run out at now: claimed, no reply
// by the holder since, and older than timeout.
func (c Conversation) ClaimStale(now time.Time, timeout time.Duration) bool {
	return c.State == ConvClaimed && c.Replied.Before(c.Claimed) && !now.Before(c.Claimed.Add(timeout))
}

// Entry is one sealed record of a conversation's transcript (a message of
// the person, a staff reply, an internal note), in the order appended, with
// the delivery status of a reply.
type Entry struct {
	ID     string      `json:"id"`
	Data   []byte      `json:"data"`
	Status EntryStatus `json:"status,omitzero"`
}

// EntryStatus is what is known of a reply's delivery: its status (queued,
// sent, delivered, read, failed, undelivered), the way it went ("freeform",
// "template", "sms" for a WhatsApp reply), when, and why it failed.
type EntryStatus struct {
	Status string    `json:"status,omitempty"`
	Via    string    `json:"via,omitempty"`
	At     time.Time `json:"at,omitzero"`
	Error  string    `json:"error,omitempty"`
}

// StatusRank orders delivery statuses so that a late callback never moves a
// status back (a "sent" after "delivered"); failures are final.
func StatusRank(status string) int {
	switch status {
	case "queued":
		return 1
	case "accepted", "sending":
		return 2
	case "sent":
		return 3
	case "delivered":
		return 4
	case "read":
		return 5
	case "undelivered", "failed":
		return 6
	}
	return 0
}

// ConvEvent says that a conversation changed in a way the inbox shows (it
// was opened, joined, claimed, released, reassigned, closed or erased). It
// carries no personal data.
type ConvEvent struct {
	ID       string    `json:"id"`
	State    ConvState `json:"state"` // "" once erased
	Lang     string    `json:"lang,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Priority int       `json:"priority,omitempty"`
	Holder   string    `json:"holder,omitempty"`
}

// EventOf is the event announcing c's current state.
func EventOf(c Conversation) ConvEvent {
	return ConvEvent{ID: c.ID, State: c.State, Lang: c.Lang, Reason: c.Reason, Priority: c.Priority, Holder: c.Holder}
}

// ErrHeld means a conversation is claimed by someone else (HeldError says who).
var ErrHeld = errors.New("conversation held by another staff member")

// ErrClosed means the conversation is closed: nothing more can be done to it.
var ErrClosed = errors.New("conversation closed")

// HeldError is the answer to a claim or reply on a conversation another
// staff member holds.
type HeldError struct{ Holder string }

func (e *HeldError) Error() string { return fmt.Sprintf("conversation held by %s", e.Holder) }

// Unwrap makes errors.Is(err, ErrHeld) true.
func (e *HeldError) Unwrap() error { return ErrHeld }

// Conversations is what the volunteer handoff needs from storage. Both
// stores implement it (store/redis/conversations.go,
// store/embedded/conversations.go; store/storetest.RunConversations checks
// them). Every change that the inbox shows publishes a ConvEvent to every
// subscriber, across processes for Redis. An open conversation is kept for
// the store's Retention.Person after its last activity; keep is how long a
// closed one is kept (ENLACE_TRANSCRIPT_TTL). Like bot.Store, a store never
// reads the wall clock: now comes from the caller.
type Conversations interface {
	// OpenConversation opens a waiting conversation for c.Person with c's
	// reason, priority, language, channel and contact, or, when the person
	// has an open one, joins it: its reason and priority are raised to c's if
	// higher. created says which. The returned conversation is as stored.
	OpenConversation(ctx context.Context, c Conversation, now time.Time) (conv Conversation, created bool, err error)
	// Conversation returns a conversation by id, or ErrNotFound (also once
	// erased or expired).
	Conversation(ctx context.Context, id string, now time.Time) (Conversation, error)
	// OpenConversationOf returns the person's open conversation, or ErrNotFound.
	OpenConversationOf(ctx context.Context, person string, now time.Time) (Conversation, error)
	// OpenConversations lists every open conversation, most urgent first
	// (priority, then waiting time).
	OpenConversations(ctx context.Context, now time.Time) ([]Conversation, error)
	// ClaimConversation gives a waiting conversation to staff, atomically:
	// of concurrent claims exactly one wins; the others get a *HeldError
	// naming the holder. A claim whose holder has not replied within timeout
	// (ClaimStale) may be taken. Claiming one's own claim succeeds and
	// changes nothing. A closed one gives ErrClosed.
	ClaimConversation(ctx context.Context, id, staff string, now time.Time, timeout time.Duration) (Conversation, error)
	// AssignConversation gives an open conversation to staff whoever holds
	// it (an admin's reassignment); the claim starts again at now.
	AssignConversation(ctx context.Context, id, staff string, now time.Time) (Conversation, error)
	// ReleaseConversation puts a claimed conversation back in the queue if
	// staff holds it ("" whoever does); otherwise *HeldError.
	ReleaseConversation(ctx context.Context, id, staff string, now time.Time) (Conversation, error)
	// ReleaseStale puts every claim that ran out at now (ClaimStale) back in
	// the queue and returns those conversations.
	ReleaseStale(ctx context.Context, now time.Time, timeout time.Duration) ([]Conversation, error)
	// CloseConversation closes an open conversation with an outcome and keeps
	// it (and its transcript) for keep. ErrClosed if it already was.
	CloseConversation(ctx context.Context, id, outcome string, now time.Time, keep time.Duration) (Conversation, error)
	// AppendEntry appends e to the transcript of the person's conversation id
	// ("" for their open one) once: an entry ID appended before is skipped
	// (false). With holder set, the conversation must be claimed by holder
	// (*HeldError otherwise) and the entry counts as the holder's reply.
	// A closed or missing conversation gives ErrClosed or ErrNotFound.
	AppendEntry(ctx context.Context, person, id string, e Entry, holder string, now time.Time) (bool, error)
	// Entries returns a conversation's transcript, oldest first, with statuses.
	Entries(ctx context.Context, id string, now time.Time) ([]Entry, error)
	// SetEntryStatus records what is known of an entry's delivery: Status
	// only if it ranks above the one stored (StatusRank), Via and Error when
	// not empty. Nothing happens for a conversation that is gone.
	SetEntryStatus(ctx context.Context, person, id, entry string, st EntryStatus, now time.Time) error
	// EraseConversations deletes every conversation of the person, open or
	// closed, with their transcripts, and returns their ids.
	EraseConversations(ctx context.Context, person string, now time.Time) ([]string, error)
	// SubscribeConversations delivers every ConvEvent published from now
	// until ctx ends, when the channel is closed. A slow reader may miss
	// events (the channel is buffered; the inbox re-reads the list).
	SubscribeConversations(ctx context.Context) (<-chan ConvEvent, error)
}

// QueueScore orders open conversations in an index: most urgent first, then
// the longest waiting. Priorities run from 0 to 9.
func QueueScore(priority int, queued time.Time) float64 {
	priority = min(max(priority, 0), 9)
	return float64(9-priority)*1e13 + float64(queued.UnixMilli())
}

// SortConversations orders open conversations most urgent first: priority,
// then the longest waiting, then id (so the order is stable).
func SortConversations(cs []Conversation) {
	slices.SortStableFunc(cs, func(a, b Conversation) int {
		if a.Priority != b.Priority {
			return b.Priority - a.Priority
		}
		if c := a.Queued.Compare(b.Queued); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
