package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/tracing"
)

// The pipeline's side of the volunteer inbox (flows/handoff.go is the
// engine's): an escalation opens or joins the person's conversation; what the
// person writes during a handoff is appended to it, sealed, once; staff
// actions reach the person as inbound events of theirs (StaffEvent), so the
// session changes in order with the person's own messages; a staff reply
// leaves through the outbox like every reply, and its delivery status is
// recorded on its transcript entry.

// Sealing purposes of the inbox's records.
const (
	sealEntry   = "entry"
	sealContact = "contact"
)

// staffChannel is the channel of the inbound events staff actions produce.
const staffChannel = "staff"

// Authors of transcript entries.
const (
	EntryPerson = "person" // what the person wrote
	EntryReply  = "reply"  // a staff member's reply to the person
	EntryNote   = "note"   // an internal note, never sent
)

// EntryRecord is one transcript entry, as sealed in a Conversation's Entry.
type EntryRecord struct {
	From string `json:"from"`
	// Staff is the account id of the staff member who wrote a reply or note.
	Staff string          `json:"staff,omitempty"`
	Kind  flows.InputKind `json:"kind,omitempty"`
	Text  string          `json:"text"`
	At    time.Time       `json:"at"`
}

// ContactRecord is where a conversation's person can be answered, as sealed
// in Conversation.Contact.
type ContactRecord struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
}

// SealEntry seals a transcript entry of person's conversation.
func (p *Pipeline) SealEntry(person string, e EntryRecord) ([]byte, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("bot: encoding transcript entry: %w", err)
	}
	return p.keys.Seal(sealEntry, person, raw), nil
}

// OpenEntry opens a transcript entry sealed by SealEntry.
func (p *Pipeline) OpenEntry(person string, data []byte) (EntryRecord, error) {
	var e EntryRecord
	raw, err := p.keys.Open(sealEntry, person, data)
	if err == nil {
		err = json.Unmarshal(raw, &e)
	}
	if err != nil {
		return e, fmt.Errorf("bot: opening transcript entry: %w", err)
	}
	return e, nil
}

// OpenContact opens a conversation's sealed contact.
func (p *Pipeline) OpenContact(person string, data []byte) (ContactRecord, error) {
	var c ContactRecord
	raw, err := p.keys.Open(sealContact, person, data)
	if err == nil {
		err = json.Unmarshal(raw, &c)
	}
	if err != nil {
		return c, fmt.Errorf("bot: opening contact: %w", err)
	}
	return c, nil
}

func (p *Pipeline) sealContact(person, channel, address string) []byte {
	raw, _ := json.Marshal(ContactRecord{Channel: channel, Address: address})
	return p.keys.Seal(sealContact, person, raw)
}

// Conversations is the store of conversations with staff the pipeline uses,
// nil when the inbox is not set up.
func (p *Pipeline) Conversations() Conversations { return p.conv }

// StaffEvent brings what staff did to a person's conversation (in.Action:
// claimed, released, reply, closed) to the person's inbox, once per id, to be
// handled in order with the person's messages. A person whose data is gone
// gives ErrNotFound: nothing is recorded about them.
func (p *Pipeline) StaffEvent(ctx context.Context, person, id string, in flows.Input) error {
	in.Kind = flows.InputStaff
	m := Message{Channel: staffChannel, ID: id, Received: p.now(), Input: in}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("bot: encoding staff event: %w", err)
	}
	if _, err := p.acceptKnown(ctx, person, m, raw); err != nil {
		return fmt.Errorf("bot: staff event: %w", err)
	}
	return nil
}

// openConversation opens (or joins) the person's conversation for an
// escalation, before the step is committed: a crash in between repeats it,
// and joining is idempotent. The words that raised it start the transcript.
func (p *Pipeline) openConversation(s *step, e flows.Escalation) {
	if p.conv == nil {
		return
	}
	s.before = append(s.before, func(ctx context.Context) error {
		c := Conversation{
			Person: s.person, Reason: e.Reason, Priority: flows.ReasonPriority(e.Reason),
			Lang: e.Lang, Channel: s.channel, Contact: p.sealContact(s.person, s.channel, s.address),
		}
		conv, created, err := p.conv.OpenConversation(ctx, c, p.now())
		if err != nil {
			return fmt.Errorf("bot: opening conversation: %w", err)
		}
		if created {
			p.log.Info("conversation opened for the inbox", "person", logID(s.person), "reason", e.Reason)
			if err := p.notifyVolunteers(ctx, conv); err != nil {
				p.log.Warn("could not notify the volunteers' chat", "err", err)
			}
		}
		if e.Text == "" {
			return nil
		}
		return p.appendEntry(ctx, s.person, conv.ID, "m-"+s.commit.InboundID, EntryRecord{From: EntryPerson, Kind: flows.InputText, Text: e.Text, At: e.At})
	})
}

// applyTranscript appends what the person wrote to their open conversation.
func (p *Pipeline) applyTranscript(s *step, e flows.Transcript) error {
	if p.conv == nil {
		return nil
	}
	s.before = append(s.before, func(ctx context.Context) error {
		return p.appendEntry(ctx, s.person, "", "m-"+s.commit.InboundID, EntryRecord{From: EntryPerson, Kind: e.Kind, Text: e.Text, At: e.At})
	})
	return nil
}

// appendEntry appends one of the person's entries once (id makes a repeat
// after a crash a no-op). A conversation closed or gone meanwhile takes
// nothing: the message was handled as the session said, and is not kept.
func (p *Pipeline) appendEntry(ctx context.Context, person, conv, id string, rec EntryRecord) error {
	data, err := p.SealEntry(person, rec)
	if err != nil {
		return err
	}
	_, err = p.conv.AppendEntry(ctx, person, conv, Entry{ID: id, Data: data}, "", p.now())
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrClosed) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("bot: appending to conversation: %w", err)
	}
	return nil
}

// applyLeave closes the person's open conversation: they left it.
func (p *Pipeline) applyLeave(s *step) error {
	if p.conv == nil {
		return nil
	}
	s.before = append(s.before, func(ctx context.Context) error {
		c, err := p.conv.OpenConversationOf(ctx, s.person, p.now())
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bot: leaving conversation: %w", err)
		}
		_, err = p.conv.CloseConversation(ctx, c.ID, OutcomeLeft, p.now(), p.cfg.TranscriptTTL)
		if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("bot: leaving conversation: %w", err)
		}
		return nil
	})
	return nil
}

// OutcomeLeft is the outcome of a conversation the person left ("menu").
const OutcomeLeft = "left"

// eraseConversations removes the person's conversations once their erase
// is written.
func (p *Pipeline) eraseConversations(ctx context.Context, person string) error {
	if p.conv == nil {
		return nil
	}
	if _, err := p.conv.EraseConversations(ctx, person, p.now()); err != nil {
		return fmt.Errorf("bot: erasing conversations: %w", err)
	}
	return nil
}

// entryStatus records what is known of a staff reply's delivery on its
// transcript entry. Other replies have no entry.
func (p *Pipeline) entryStatus(ctx context.Context, person string, r Reply, st EntryStatus) error {
	if id, ok := caseOf(r.Conv); ok && r.Entry != "" {
		return p.caseDelivery(ctx, id, r.Entry, tracing.DeliveryStep{Channel: r.Channel, Status: st.Status, Error: st.Error})
	}
	if r.Entry == "" || p.conv == nil {
		return nil
	}
	if st.Via == "" {
		st.Via = r.Channel
	}
	st.At = p.now()
	if err := p.conv.SetEntryStatus(ctx, person, r.Conv, r.Entry, st, p.now()); err != nil {
		return fmt.Errorf("bot: recording reply status: %w", err)
	}
	return nil
}

// EntryStatus records a provider's report on a staff reply (a Twilio status
// callback): person, conversation and entry as the reply carried them.
func (p *Pipeline) EntryStatus(ctx context.Context, person, conv, entry string, st EntryStatus) error {
	if id, ok := caseOf(conv); ok {
		return p.caseDelivery(ctx, id, entry, tracing.DeliveryStep{Channel: st.Via, Status: st.Status, Error: st.Error})
	}
	if p.conv == nil {
		return nil
	}
	st.At = p.now()
	if err := p.conv.SetEntryStatus(ctx, person, conv, entry, st, p.now()); err != nil {
		return fmt.Errorf("bot: recording reply status: %w", err)
	}
	return nil
}

// ReleaseStaleClaims puts back in the queue every claim whose holder has not
// replied within the claim timeout, and tells each person's session.
func (p *Pipeline) ReleaseStaleClaims(ctx context.Context) (int, error) {
	if p.conv == nil {
		return 0, nil
	}
	cs, err := p.conv.ReleaseStale(ctx, p.now(), p.cfg.ClaimTimeout)
	if err != nil {
		return 0, fmt.Errorf("bot: releasing stale claims: %w", err)
	}
	for _, c := range cs {
		id := "released-" + c.ID + "-" + strconv.FormatInt(c.Claimed.UnixMilli(), 10)
		if err := p.StaffEvent(ctx, c.Person, id, flows.Input{Action: flows.StaffReleased, Conv: c.ID}); err != nil && !errors.Is(err, ErrNotFound) {
			return 0, err
		}
	}
	return len(cs), nil
}

// notifyVolunteers tells the volunteers' Telegram chat (Config.NotifyChat)
// that a conversation is waiting: its language and reason, never anything
// about the person. Phones miss web push; a chat message they do not.
func (p *Pipeline) notifyVolunteers(ctx context.Context, c Conversation) error {
	if p.cfg.NotifyChat == "" {
		return nil
	}
	if _, ok := p.channel("telegram"); !ok {
		return nil
	}
	lang := p.cfg.NotifyLang
	tx := flows.Text{ID: "notify.waiting", Refs: map[string]string{"Lang": "lang." + c.Lang, "Reason": "reason." + c.Reason}}
	return p.Send(ctx, "telegram", p.cfg.NotifyChat, lang, flows.Output{Text: tx})
}
