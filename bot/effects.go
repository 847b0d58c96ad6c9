package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/enlace-rfl/enlace/flows"
)

// step is the commit one engine step builds: the effects of the step are
// applied to it one by one, in order, each by its own function below; the
// commit is then written atomically, and the after hooks run.
type step struct {
	person string
	// channel and address answer the step: where the person wrote from (for
	// a timer or a receipt, where they last wrote from).
	channel, address string
	replyTo          string // the exact address to answer at, when not address
	lang             string // the session's language, for replies
	commit           Commit
	replies          []Reply // rendered; merged and sealed in finish
	forget           bool
	optOut           bool            // the step opted the person out; its replies confirm it
	refused          map[string]bool // Receipts of Messages refused by their daily limit
	session          flows.Session   // the new session, once finished
	// before run once every effect is applied and the session is sealed, just
	// before the commit; after run once it is written.
	before, after []func(ctx context.Context) error
}

// apply applies one effect to the step being built. A new kind of effect is
// one type in flows and one case and function here.
func (p *Pipeline) apply(ctx context.Context, s *step, e flows.Effect) error {
	switch e := e.(type) {
	case flows.Reply:
		return p.applyReply(s, e)
	case flows.Message:
		return p.applyMessage(ctx, s, e)
	case flows.Escalation:
		return p.applyEscalation(s, e)
	case flows.SetTimer:
		return p.applySetTimer(s, e)
	case flows.CancelTimer:
		return p.applyCancelTimer(s, e)
	case flows.Erase:
		return p.applyErase(ctx, s)
	case flows.Forget:
		return p.applyForget(s)
	case flows.LinkPhone:
		return p.applyLinkPhone(s, e)
	case flows.OptOut:
		return p.applyOptOut(s)
	case flows.Transcript:
		return p.applyTranscript(s, e)
	case flows.LeaveConversation:
		return p.applyLeave(s)
	case flows.OpenCase: // tracing (bot/tracing.go)
		return p.applyOpenCase(s, e)
	case flows.SetCasePIN:
		return p.applySetCasePIN(s, e)
	case flows.CheckCasePIN:
		return p.applyCheckCasePIN(s, e)
	case flows.CaseRead:
		return p.applyCaseRead(s, e)
	case flows.CaseReply:
		return p.applyCaseReply(s, e)
	case flows.CaseReach:
		return p.applyCaseReach(s, e)
	}
	// A programming error, not the person's: keep the rest of the step.
	p.log.Error("effect has no applier; skipped", "effect", fmt.Sprintf("%T", e), "person", logID(s.person))
	return nil
}

// applyReply renders a reply to the person in their session's language.
// A reply that confirms only refused messages is dropped: the person was told
// why they were not sent instead.
func (p *Pipeline) applyReply(s *step, e flows.Reply) error {
	if len(e.Confirms) > 0 && !slices.ContainsFunc(e.Confirms, func(ref string) bool { return !s.refused[ref] }) {
		return nil
	}
	r := p.render(s.channel, s.address, s.lang, e.Output)
	r.Address = exactAddress(s.address, s.replyTo)
	r.Conv, r.Entry = e.Conv, e.Entry
	if e.Case != "" {
		// A tracing teaser: nobody asked for it just now (WhatsApp sends it as
		// the template outside the 24-hour window), and its delivery is
		// recorded on the case's update.
		r.Conv, r.Proactive = caseConvPrefix+e.Case, true
	}
	s.replies = append(s.replies, r)
	return nil
}

// applyMessage renders a message to someone else, on the channel it names
// (SMS for a phone number reached from Telegram), routed to where that
// number's person talks to Enlace, with a receipt for the sender if asked.
//
// A message with a Daily limit is counted by the reader's number first
// (keyed hash, purpose "safe-limit", 24 hours), so erasing the sender's data
// does not reset it; over the limit, the person gets the refusal instead.
func (p *Pipeline) applyMessage(ctx context.Context, s *step, e flows.Message) error {
	if e.Daily != nil {
		ok, err := p.store.Take(ctx, p.keys.Hash("safe-limit", e.To), e.Daily.PerDay, 24*time.Hour, p.now())
		if err != nil {
			return fmt.Errorf("bot: counting a contact's daily messages: %w", err)
		}
		if !ok {
			if s.refused == nil {
				s.refused = map[string]bool{}
			}
			s.refused[e.Receipt] = true
			return p.applyReply(s, flows.Reply{Output: e.Daily.Refused})
		}
	}
	channel, to, addr, lang := s.channel, e.To, "", s.lang
	switch {
	case e.Channel != "":
		channel = e.Channel
	case !phoneChannels[channel]:
		channel = "sms"
	}
	if e.Lang != "" {
		lang = e.Lang
	}
	if phoneChannels[channel] {
		var err error
		if channel, to, addr, err = p.route(ctx, channel, to); err != nil {
			return err
		}
	}
	if err := p.introduce(ctx, s, channel, e.To, addr, lang); err != nil {
		return err
	}
	r := p.render(channel, to, lang, e.Output)
	r.Address = addr
	r.Proactive = true
	if e.Receipt != "" {
		r.ReceiptTo, r.ReceiptRef = s.person, e.Receipt
	}
	s.replies = append(s.replies, r)
	return nil
}

// introduce sends intro.relative, in the reader's language, before the first
// message Enlace sends by SMS to a number (at its exact address addr, when
// not empty) whose person has no accepted session: a relative learns who
// writes to them, that someone chose their number, and how to stop. It is
// sent once per number (keyed hash, purpose "intro", SessionTTL), a mark that
// erasing the sender's data does not reset. A crash between the mark and the
// commit loses the introduction rather than repeating it.
//
// Only on SMS: a message to such a number goes by SMS (the flows ask for it,
// and routing moves it only for a person who accepted), and the WhatsApp
// adapter would send a proactive message to someone outside its 24-hour
// window as the one approved template, so an introduction there would be a
// second template message ahead of the one that matters.
func (p *Pipeline) introduce(ctx context.Context, s *step, channel, number, addr, lang string) error {
	if channel != "sms" {
		return nil
	}
	sess, ok, err := p.readSession(ctx, p.Person(channel, number))
	if err != nil {
		return fmt.Errorf("bot: introducing Enlace: %w", err)
	}
	if ok && sess.Consent == flows.ConsentAccepted {
		return nil
	}
	first, err := p.store.Take(ctx, p.keys.Hash("intro", number), 1, p.cfg.SessionTTL, p.now())
	if err != nil {
		return fmt.Errorf("bot: marking a number introduced: %w", err)
	}
	if first {
		r := p.render(channel, number, lang, flows.Output{Text: flows.Text{ID: "intro.relative"}})
		r.Address, r.Proactive = addr, true
		s.replies = append(s.replies, r)
	}
	return nil
}

// applyEscalation keeps an escalation, sealed, with where to answer the person.
func (p *Pipeline) applyEscalation(s *step, e flows.Escalation) error {
	raw, err := json.Marshal(escalationRecord{Escalation: e, Channel: s.channel, Address: s.address})
	if err != nil {
		return fmt.Errorf("bot: encoding escalation: %w", err)
	}
	s.commit.Escalations = append(s.commit.Escalations, Item{ID: p.escalationID(e.Reason), Data: p.keys.Seal(sealEscalation, s.person, raw)})
	s.after = append(s.after, func(context.Context) error {
		p.log.Info("escalation recorded", "person", logID(s.person), "reason", e.Reason)
		return nil
	})
	p.openConversation(s, e)
	return nil
}

func (p *Pipeline) applySetTimer(s *step, e flows.SetTimer) error {
	s.commit.SetTimers = append(s.commit.SetTimers, Timer{ID: e.ID, At: e.At})
	return nil
}

func (p *Pipeline) applyCancelTimer(s *step, e flows.CancelTimer) error {
	s.commit.CancelTimers = append(s.commit.CancelTimers, e.ID)
	return nil
}

// applyErase deletes every record about the person in the commit, and the
// identities linked to them once it is written.
func (p *Pipeline) applyErase(ctx context.Context, s *step) error {
	aliases, err := p.aliasesOf(ctx, s.person)
	if err != nil {
		return err
	}
	s.commit.Erase = true
	// Tracing cases are withdrawn before the commit: a crash repeats it, and
	// withdrawing twice is the same as once.
	s.before = append(s.before, func(ctx context.Context) error {
		return p.withdrawCases(ctx, append([]string{s.person}, aliases...))
	})
	s.after = append(s.after, func(ctx context.Context) error {
		for _, from := range aliases {
			if err := p.store.DeleteAlias(ctx, from); err != nil {
				return fmt.Errorf("bot: erasing a linked identity: %w", err)
			}
		}
		if err := p.eraseConversations(ctx, s.person); err != nil {
			return err
		}
		p.log.Info("person erased their data", "person", logID(s.person))
		return nil
	})
	return nil
}

func (p *Pipeline) applyForget(s *step) error {
	s.forget = true
	return nil
}

// applyLinkPhone links a Telegram identity to its number's person, once the
// session and timers it moves are known.
func (p *Pipeline) applyLinkPhone(s *step, e flows.LinkPhone) error {
	to := p.Person("sms", e.Phone)
	if to == s.person || s.channel != "telegram" {
		return nil
	}
	s.before = append(s.before, func(ctx context.Context) error { return p.link(ctx, s.person, to, s) })
	return nil
}

// build applies a step's effects, in order, to the commit of inbound message
// m (whose inbox item is inboundID), and finishes it.
func (p *Pipeline) build(ctx context.Context, person, inboundID string, m Message, res flows.Result) (*step, error) {
	s := &step{
		person: person, channel: m.Channel, address: m.From, replyTo: m.ReplyTo, lang: res.Session.Lang,
		commit: Commit{InboundID: inboundID, SessionTTL: p.cfg.SessionTTL},
	}
	for _, e := range res.Effects {
		if err := p.apply(ctx, s, e); err != nil {
			return nil, err
		}
	}
	if m.Input.Kind == flows.InputTimer && !slices.ContainsFunc(s.commit.SetTimers, func(t Timer) bool { return t.ID == m.Input.Timer }) {
		// A timer that fired is done unless the step set it again.
		s.commit.CancelTimers = append(s.commit.CancelTimers, m.Input.Timer)
	}
	if err := p.finish(ctx, s, res.Session); err != nil {
		return nil, err
	}
	return s, nil
}

// finish seals the session (unless forgotten) and the merged replies into the
// commit, then runs the hooks that need the finished commit.
func (p *Pipeline) finish(ctx context.Context, s *step, sess flows.Session) error {
	s.session = sess
	if !s.forget {
		sealed, err := p.sealSession(s.person, sess)
		if err != nil {
			return err
		}
		s.commit.Session = sealed
	}
	for _, r := range mergeReplies(s.replies) {
		r.OptOutNotice = s.optOut && !r.Proactive
		item, err := p.sealReply(s.person, r)
		if err != nil {
			return err
		}
		if len(s.commit.Outbox) == 0 {
			s.commit.Lane = p.laneOf(r.Channel).queue // known here, not to be opened again
		}
		s.commit.Outbox = append(s.commit.Outbox, item)
	}
	return runHooks(ctx, s.before)
}

func runHooks(ctx context.Context, hooks []func(context.Context) error) error {
	for _, h := range hooks {
		if err := h(ctx); err != nil {
			return err
		}
	}
	return nil
}

// applyOptOut stops every message to the person's phone number, on SMS and
// WhatsApp, before anything else of the step is written; the step's replies
// to them confirm it and are sent anyway.
func (p *Pipeline) applyOptOut(s *step) error {
	if !phoneChannels[s.channel] {
		return nil // only phone numbers opt out; Telegram users block the bot
	}
	s.optOut = true
	s.before = append(s.before, func(ctx context.Context) error {
		for ch := range phoneChannels {
			if err := p.store.SetFlag(ctx, s.person, optOutFlag(ch), true, p.now()); err != nil {
				return fmt.Errorf("bot: recording opt-out: %w", err)
			}
		}
		return nil
	})
	return nil
}

// exactAddress is a reply's Address: the provider's exact address when it is
// not the normalised one, else empty.
func exactAddress(address, replyTo string) string {
	if replyTo == address {
		return ""
	}
	return replyTo
}
