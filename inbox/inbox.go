// Package inbox is the staff logic of the volunteer inbox: which
// conversations a staff member sees, in what order, and what they may do to
// one (open it, unmask the person's address, claim, release, reassign, reply,
// write a note, close). Every view of personal data and every action is
// audited before it happens (staff.Service.Record). A change is made in the
// store first, atomically (of twenty claims one wins), and then reaches the
// person's session as a staff event (bot.Pipeline.StaffEvent), in order with
// the person's own messages; a reply leaves through the outbox.
//
// The console and the API (package console) are built on Service; it does no
// I/O of its own beyond the store and the pipeline it is given.
package inbox

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/plaintext"
	"github.com/enlace-rfl/enlace/staff"
)

// Audit actions of the inbox.
const (
	ActionOpen     = "conversation.open"
	ActionUnmask   = "conversation.unmask"
	ActionClaim    = "conversation.claim"
	ActionRelease  = "conversation.release"
	ActionAssign   = "conversation.assign"
	ActionReply    = "conversation.reply"
	ActionNote     = "conversation.note"
	ActionClose    = "conversation.close"
	maxReplyRunes  = 1000
	whatsAppWindow = 24 * time.Hour
)

// Outcomes a staff member closes a conversation with.
var Outcomes = []string{"answered", "referred", "emergency", "no_response"}

// Errors the console turns into clear answers.
var (
	// ErrForbidden: the staff member's role or languages do not allow it.
	ErrForbidden = errors.New("inbox: not allowed for this account")
	// ErrNotFound: no such conversation (or it was erased).
	ErrNotFound = errors.New("inbox: no such conversation")
	// ErrEmpty, ErrTooLong, ErrBadOutcome, ErrBadID, ErrNoReason: bad input.
	ErrEmpty      = errors.New("inbox: the text is empty")
	ErrTooLong    = fmt.Errorf("inbox: the text is longer than %d characters", maxReplyRunes)
	ErrBadOutcome = errors.New("inbox: unknown outcome")
	ErrBadID      = errors.New("inbox: malformed id")
	ErrNoReason   = errors.New("inbox: a reason is needed to show the address")
	// ErrEntryReused: a reply's entry was sent before with another text;
	// the new text is not sent.
	ErrEntryReused = errors.New("inbox: this entry was sent before with another text")
	// ErrClosed: the conversation is closed.
	ErrClosed = bot.ErrClosed
	// ErrHeld: someone else holds it (errors.As a *bot.HeldError says who).
	ErrHeld = bot.ErrHeld
)

// Config is what a Service is built from.
type Config struct {
	Conversations bot.Conversations
	Pipeline      *bot.Pipeline
	Staff         *staff.Service
	ClaimTimeout  time.Duration // ENLACE_CLAIM_TIMEOUT (15m)
	TranscriptTTL time.Duration // ENLACE_TRANSCRIPT_TTL (30 days)
	Clock         func() time.Time
}

// Service is the volunteer inbox's staff logic.
type Service struct{ cfg Config }

// New builds a Service.
func New(cfg Config) *Service {
	if cfg.ClaimTimeout <= 0 {
		cfg.ClaimTimeout = 15 * time.Minute
	}
	if cfg.TranscriptTTL <= 0 {
		cfg.TranscriptTTL = 30 * 24 * time.Hour
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	return &Service{cfg: cfg}
}

// Item is one open conversation as the inbox lists it: no personal data.
type Item struct {
	ID       string        `json:"id"`
	State    bot.ConvState `json:"state"`
	Reason   string        `json:"reason"`
	Priority int           `json:"priority"`
	Lang     string        `json:"lang"`
	Channel  string        `json:"channel"`
	Waiting  time.Duration `json:"waiting_ns"`
	Queued   time.Time     `json:"queued"`
	Holder   string        `json:"holder,omitempty"`
	// Mine: the viewer holds it (a closed one is nobody's: the person may
	// have left it); Speaks: it is in one of the viewer's languages.
	Mine   bool `json:"mine"`
	Speaks bool `json:"speaks"`
}

// visible says whether a can see c at all: staff of the inbox see what
// waits and what they hold; admins see everything open (to reassign).
func visible(a staff.Account, c bot.Conversation) bool {
	switch {
	case a.Can(staff.PermAdmin):
		return true
	case !a.Can(staff.PermInbox):
		return false
	}
	return c.State == bot.ConvWaiting || c.Holder == a.ID
}

// itemOf is a conversation as the viewer a sees it in the list and on its
// page: a closed one is nobody's (the person may have left it).
func itemOf(c bot.Conversation, a staff.Account, now time.Time) Item {
	return Item{ID: c.ID, State: c.State, Reason: c.Reason, Priority: c.Priority, Lang: c.Lang, Channel: c.Channel,
		Waiting: now.Sub(c.Queued), Queued: c.Queued, Holder: c.Holder,
		Mine: c.Holder == a.ID && c.State == bot.ConvClaimed, Speaks: a.Speaks(c.Lang)}
}

// List returns the open conversations a can see: what they hold first, then
// those in their languages, then the rest; each group most urgent first
// (danger, missed check-in, asked for a person, misunderstood), then the
// longest waiting.
func (s *Service) List(ctx context.Context, a staff.Account) ([]Item, error) {
	if !a.Can(staff.PermInbox) && !a.Can(staff.PermAdmin) {
		return nil, ErrForbidden
	}
	now := s.cfg.Clock()
	cs, err := s.cfg.Conversations.OpenConversations(ctx, now)
	if err != nil {
		return nil, fmt.Errorf("inbox: listing: %w", err)
	}
	var out []Item
	for _, c := range cs {
		if !visible(a, c) {
			continue
		}
		out = append(out, itemOf(c, a, now))
	}
	group := func(it Item) int {
		switch {
		case it.Mine:
			return 0
		case it.Speaks:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(out, func(x, y Item) int { return group(x) - group(y) }) // cs is most urgent first already
	return out, nil
}

// EntryView is one transcript entry as the conversation view shows it.
type EntryView struct {
	ID     string          `json:"id"`
	From   string          `json:"from"` // bot.EntryPerson, EntryReply, EntryNote
	Staff  string          `json:"staff,omitempty"`
	Kind   string          `json:"kind,omitempty"`
	Text   string          `json:"text"`
	At     time.Time       `json:"at"`
	Status bot.EntryStatus `json:"status,omitzero"`
}

// View is a conversation opened by a staff member.
type View struct {
	Item
	Opened  time.Time   `json:"opened"`
	Entries []EntryView `json:"entries"`
	// Address is the person's address masked to its last two characters.
	Address string `json:"address"`
	// WindowOpen says, on WhatsApp, whether a free-form reply may go now
	// (the person wrote within 24 hours); WindowUntil is when it closes.
	// Outside it a reply goes as the approved template, else by SMS.
	WindowOpen  bool      `json:"window_open"`
	WindowUntil time.Time `json:"window_until,omitzero"`
}

// Mask keeps the last two characters of an address: "•••• 34".
func Mask(address string) string {
	r := []rune(address)
	if len(r) <= 2 {
		return "••••"
	}
	return "•••• " + string(r[len(r)-2:])
}

// get finds a conversation a may see, or ErrNotFound / ErrForbidden.
func (s *Service) get(ctx context.Context, a staff.Account, id string) (bot.Conversation, error) {
	if !validID(id) {
		return bot.Conversation{}, ErrBadID
	}
	c, err := s.cfg.Conversations.Conversation(ctx, id, s.cfg.Clock())
	if errors.Is(err, bot.ErrNotFound) {
		return c, ErrNotFound
	}
	if err != nil {
		return c, fmt.Errorf("inbox: reading conversation: %w", err)
	}
	if !visible(a, c) && !(c.State == bot.ConvClosed && c.Holder == a.ID) {
		return c, ErrForbidden
	}
	return c, nil
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func validID(id string) bool { return idPattern.MatchString(id) }

// Open shows a conversation: its reason, language, channel, masked address
// and transcript. The view is audited before anything is shown.
func (s *Service) Open(ctx context.Context, by staff.Actor, a staff.Account, id string) (View, error) {
	if !a.Can(staff.PermInbox) {
		return View{}, ErrForbidden
	}
	c, err := s.get(ctx, a, id)
	if err != nil {
		return View{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionOpen, c.ID); err != nil {
		return View{}, err
	}
	now := s.cfg.Clock()
	v := View{Item: itemOf(c, a, now), Opened: c.Opened}
	entries, err := s.cfg.Conversations.Entries(ctx, c.ID, now)
	if err != nil && !errors.Is(err, bot.ErrNotFound) {
		return View{}, fmt.Errorf("inbox: reading transcript: %w", err)
	}
	for _, e := range entries {
		rec, err := s.cfg.Pipeline.OpenEntry(c.Person, e.Data)
		if err != nil {
			v.Entries = append(v.Entries, EntryView{ID: e.ID, From: "unreadable"})
			continue
		}
		v.Entries = append(v.Entries, EntryView{ID: e.ID, From: rec.From, Staff: rec.Staff, Kind: string(rec.Kind), Text: rec.Text, At: rec.At, Status: e.Status})
	}
	if contact, err := s.cfg.Pipeline.OpenContact(c.Person, c.Contact); err == nil {
		v.Address = Mask(contact.Address)
		if c.Channel == "whatsapp" {
			last, known, err := s.cfg.Pipeline.LastInbound(ctx, "whatsapp", contact.Address)
			if err == nil && known {
				v.WindowUntil = last.Add(whatsAppWindow)
				v.WindowOpen = now.Before(v.WindowUntil)
			}
		}
	}
	return v, nil
}

// Unmask shows the person's full address to a staff member who gives a
// reason; the reason is kept as a sealed note of the conversation and the
// unmasking is audited.
func (s *Service) Unmask(ctx context.Context, by staff.Actor, a staff.Account, id, reason string) (string, error) {
	if !a.Can(staff.PermInbox) {
		return "", ErrForbidden
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", ErrNoReason
	}
	c, err := s.get(ctx, a, id)
	if err != nil {
		return "", err
	}
	contact, err := s.cfg.Pipeline.OpenContact(c.Person, c.Contact)
	if err != nil {
		return "", fmt.Errorf("inbox: unmasking: %w", err)
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionUnmask, c.ID); err != nil {
		return "", err
	}
	if err := s.note(ctx, c, a, "unmask-"+strconv.FormatInt(s.cfg.Clock().UnixNano(), 36), "unmask: "+limitRunes(reason, 300)); err != nil {
		return "", err
	}
	return contact.Address, nil
}

// Claim gives a waiting conversation to a, atomically: of concurrent claims
// one wins, the others get a *bot.HeldError naming the holder. Only the
// winner's claim is audited.
func (s *Service) Claim(ctx context.Context, by staff.Actor, a staff.Account, id string) (bot.Conversation, error) {
	if !a.Can(staff.PermInbox) {
		return bot.Conversation{}, ErrForbidden
	}
	if !validID(id) {
		return bot.Conversation{}, ErrBadID
	}
	before, err := s.cfg.Conversations.Conversation(ctx, id, s.cfg.Clock())
	if err != nil {
		return before, s.storeErr("claiming", err)
	}
	if before.State == bot.ConvClaimed && before.Holder == a.ID {
		return before, nil // theirs already: nothing changes, nothing to audit
	}
	c, err := s.cfg.Conversations.ClaimConversation(ctx, id, a.ID, s.cfg.Clock(), s.cfg.ClaimTimeout)
	if err != nil {
		return c, s.storeErr("claiming", err)
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionClaim, c.ID); err != nil {
		return c, err
	}
	return c, s.event(ctx, c, "claim-"+c.ID+"-"+ms(c.Claimed), flows.Input{Action: flows.StaffClaimed, Conv: c.ID})
}

// Release puts a conversation a holds back in the queue.
func (s *Service) Release(ctx context.Context, by staff.Actor, a staff.Account, id string) (bot.Conversation, error) {
	if !a.Can(staff.PermInbox) {
		return bot.Conversation{}, ErrForbidden
	}
	c, err := s.get(ctx, a, id)
	if err != nil {
		return c, err
	}
	claimed := c.Claimed
	if c, err = s.cfg.Conversations.ReleaseConversation(ctx, id, a.ID, s.cfg.Clock()); err != nil {
		return c, s.storeErr("releasing", err)
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionRelease, c.ID); err != nil {
		return c, err
	}
	return c, s.event(ctx, c, "release-"+c.ID+"-"+ms(claimed), flows.Input{Action: flows.StaffReleased, Conv: c.ID})
}

// Assign gives an open conversation to another staff member of the inbox
// (admins only), whoever holds it.
func (s *Service) Assign(ctx context.Context, by staff.Actor, a staff.Account, id string, to staff.Account) (bot.Conversation, error) {
	if !a.Can(staff.PermAdmin) || !to.Can(staff.PermInbox) || to.Disabled {
		return bot.Conversation{}, ErrForbidden
	}
	if _, err := s.get(ctx, a, id); err != nil {
		return bot.Conversation{}, err
	}
	c, err := s.cfg.Conversations.AssignConversation(ctx, id, to.ID, s.cfg.Clock())
	if err != nil {
		return c, s.storeErr("assigning", err)
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionAssign, c.ID); err != nil {
		return c, err
	}
	return c, s.event(ctx, c, "claim-"+c.ID+"-"+ms(c.Claimed), flows.Input{Action: flows.StaffClaimed, Conv: c.ID})
}

// Reply sends text to the person on their channel, in the holder's words.
// Only the holder may reply. entry is the reply's id, made by the console
// when it showed the form: sending the same entry again (a double click, a
// retry after an error) sends it once.
func (s *Service) Reply(ctx context.Context, by staff.Actor, a staff.Account, id, entry, text string) error {
	c, text, err := s.writable(ctx, a, id, entry, text)
	if err != nil {
		return err
	}
	now := s.cfg.Clock()
	data, err := s.cfg.Pipeline.SealEntry(c.Person, bot.EntryRecord{From: bot.EntryReply, Staff: a.ID, Text: text, At: now})
	if err != nil {
		return err
	}
	entryID := "r-" + entry
	added, err := s.cfg.Conversations.AppendEntry(ctx, c.Person, c.ID, bot.Entry{ID: entryID, Data: data, Status: bot.EntryStatus{Status: "queued", At: now}}, a.ID, now)
	if err != nil {
		return s.storeErr("replying", err)
	}
	if !added {
		if err := s.sameEntry(ctx, c, entryID, text); err != nil {
			return err
		}
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionReply, c.ID); err != nil {
		return err
	}
	return s.event(ctx, c, entryID, flows.Input{Action: flows.StaffReply, Text: text, Conv: c.ID, Entry: entryID})
}

// sameEntry checks that an entry sent again (a retry, a form posted twice)
// carries the text it was first kept with: another text under the same entry
// (a form edited after a post that did arrive) is ErrEntryReused, never
// dropped without a word.
func (s *Service) sameEntry(ctx context.Context, c bot.Conversation, entryID, text string) error {
	entries, err := s.cfg.Conversations.Entries(ctx, c.ID, s.cfg.Clock())
	if err != nil {
		return s.storeErr("reading transcript", err)
	}
	for _, e := range entries {
		if e.ID != entryID {
			continue
		}
		rec, err := s.cfg.Pipeline.OpenEntry(c.Person, e.Data)
		if err != nil || rec.Text != text {
			return ErrEntryReused
		}
		return nil
	}
	return nil
}

// writable checks what a reply or a note needs: the inbox permission, a
// text, an entry id, and a conversation a may see. It returns the
// conversation and the text as it is kept.
func (s *Service) writable(ctx context.Context, a staff.Account, id, entry, text string) (bot.Conversation, string, error) {
	if !a.Can(staff.PermInbox) {
		return bot.Conversation{}, "", ErrForbidden
	}
	text, err := checkText(text)
	if err != nil {
		return bot.Conversation{}, "", err
	}
	if !validID(entry) {
		return bot.Conversation{}, "", ErrBadID
	}
	c, err := s.get(ctx, a, id)
	return c, text, err
}

// Note adds an internal note, never sent to the person.
func (s *Service) Note(ctx context.Context, by staff.Actor, a staff.Account, id, entry, text string) error {
	c, text, err := s.writable(ctx, a, id, entry, text)
	if err != nil {
		return err
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionNote, c.ID); err != nil {
		return err
	}
	return s.note(ctx, c, a, entry, text)
}

func (s *Service) note(ctx context.Context, c bot.Conversation, a staff.Account, entry, text string) error {
	now := s.cfg.Clock()
	data, err := s.cfg.Pipeline.SealEntry(c.Person, bot.EntryRecord{From: bot.EntryNote, Staff: a.ID, Text: text, At: now})
	if err != nil {
		return err
	}
	if _, err := s.cfg.Conversations.AppendEntry(ctx, c.Person, c.ID, bot.Entry{ID: "n-" + entry, Data: data}, "", now); err != nil {
		return s.storeErr("writing a note", err)
	}
	return nil
}

// Close ends a conversation the staff member holds (an admin: any) with an
// outcome; the person gets one short message and the bot again.
func (s *Service) Close(ctx context.Context, by staff.Actor, a staff.Account, id, outcome string) (bot.Conversation, error) {
	if !a.Can(staff.PermInbox) && !a.Can(staff.PermAdmin) {
		return bot.Conversation{}, ErrForbidden
	}
	if !slices.Contains(Outcomes, outcome) {
		return bot.Conversation{}, ErrBadOutcome
	}
	c, err := s.get(ctx, a, id)
	if err != nil {
		return c, err
	}
	if !a.Can(staff.PermAdmin) && c.Holder != a.ID {
		if c.State == bot.ConvClaimed {
			return c, &bot.HeldError{Holder: c.Holder}
		}
		return c, ErrForbidden // claim it first
	}
	if c, err = s.cfg.Conversations.CloseConversation(ctx, id, outcome, s.cfg.Clock(), s.cfg.TranscriptTTL); err != nil {
		return c, s.storeErr("closing", err)
	}
	if err := s.cfg.Staff.Record(ctx, by, ActionClose, c.ID); err != nil {
		return c, err
	}
	return c, s.event(ctx, c, "close-"+c.ID, flows.Input{Action: flows.StaffClosed, Conv: c.ID})
}

// Subscribe delivers the inbox's changes (no personal data) until ctx ends.
func (s *Service) Subscribe(ctx context.Context) (<-chan bot.ConvEvent, error) {
	return s.cfg.Conversations.SubscribeConversations(ctx)
}

// event tells the person's session what staff did. A person whose data is
// gone (erased) has nobody to tell.
func (s *Service) event(ctx context.Context, c bot.Conversation, id string, in flows.Input) error {
	err := s.cfg.Pipeline.StaffEvent(ctx, c.Person, id, in)
	if errors.Is(err, bot.ErrNotFound) {
		return nil
	}
	return err
}

func (s *Service) storeErr(what string, err error) error {
	switch {
	case errors.Is(err, bot.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, bot.ErrHeld), errors.Is(err, bot.ErrClosed):
		return err
	}
	return fmt.Errorf("inbox: %s: %w", what, err)
}

func checkText(text string) (string, error) {
	text = plaintext.Clean(text)
	switch {
	case text == "":
		return "", ErrEmpty
	case utf8.RuneCountInString(text) > maxReplyRunes:
		return "", ErrTooLong
	}
	return text, nil
}

func limitRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
