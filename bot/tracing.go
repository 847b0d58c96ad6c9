package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/tracing"
)

// The pipeline's side of tracing requests (flows/tracing.go is the
// engine's): it stores the case a person confirmed and gives it a code, keeps
// the hash of the PIN they chose, checks a PIN against the case of a code
// (counting wrong ones, locking after three), and records what the person
// read, wrote back, and where news should reach them. Each effect is applied
// just before the step's commit, so a crash repeats it: every one is
// idempotent. The answers the engine waits for (the code, how a PIN check
// went) come back as inbound events of the person's, once per step.

// ErrNoCases means the pipeline keeps no tracing cases.
var ErrNoCases = errors.New("bot: no tracing cases kept here")

// caseConvPrefix marks a reply's Conv as a tracing case (a teaser): its
// delivery is recorded on the case's update, Entry.
const caseConvPrefix = "case-"

// pinPepperKind names the keyed hash that is the PINs' pepper: the hashing
// key never moves when sealing keys rotate, so PINs keep verifying.
const pinPepperKind = "tracing-pin-pepper"

// pinHasher hashes and checks PINs with the service's pepper.
func (p *Pipeline) pinHasher() tracing.PINHasher {
	return tracing.PINHasher{Pepper: []byte(p.keys.Hash(pinPepperKind, "v1")), Params: p.cfg.PINParams}
}

// caseID is the id of the case a person's step opens: the same however often
// the step is repeated after a crash, so a case is never stored twice.
func (p *Pipeline) caseID(person, inboundID string) string {
	return "k" + p.keys.Hash("case-id", person+"/"+inboundID)[:24]
}

func (p *Pipeline) applyOpenCase(s *step, e flows.OpenCase) error {
	if p.cases == nil {
		return nil // the engine offers no tracing without cases
	}
	id := p.caseID(s.person, s.commit.InboundID)
	channel, address, lang := s.channel, s.address, s.lang
	s.before = append(s.before, func(ctx context.Context) error {
		c := e.Case
		c.ID, c.Status = id, tracing.StatusNew
		c.Reach.Channel, c.Reach.Address, c.Reach.Lang = channel, address, lang
		code, err := p.storeNewCase(ctx, &c, s.person)
		if err != nil {
			return err
		}
		p.log.Info("tracing case opened", "person", logID(s.person), "case", id)
		return p.caseOpenedEvent(ctx, s.person, channel, address, s.replyTo, lang, id, code, c.Kind)
	})
	return nil
}

// storeNewCase stores a new case under its id with a fresh code, unless it is
// stored already (a repeated step): then it returns the code it has.
func (p *Pipeline) storeNewCase(ctx context.Context, c *tracing.Case, enquirer string) (tracing.Code, error) {
	now := p.now()
	if rec, err := p.cases.GetCase(ctx, c.ID, now); err == nil {
		old, err := tracing.OpenCase(p.keys, rec.ID, rec.Sealed)
		if err != nil {
			return "", fmt.Errorf("bot: opening a stored case: %w", err)
		}
		return old.Code, nil
	} else if !errors.Is(err, tracing.ErrNotFound) {
		return "", fmt.Errorf("bot: reading a case: %w", err)
	}
	c.Created, c.Updated = now, now
	for range 10 {
		code, err := tracing.NewCode()
		if err != nil {
			return "", fmt.Errorf("bot: drawing a case code: %w", err)
		}
		c.Code = code
		rec, err := tracing.NewRecord(p.keys, c, enquirer, "", now, p.cfg.CaseRetention)
		if err != nil {
			return "", fmt.Errorf("bot: sealing a case: %w", err)
		}
		err = p.cases.PutCase(ctx, rec, now)
		if errors.Is(err, tracing.ErrCodeTaken) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("bot: storing a case: %w", err)
		}
		return code, nil
	}
	return "", fmt.Errorf("bot: storing a case: %w (ten codes in a row)", tracing.ErrCodeTaken)
}

// caseOpenedEvent tells the person's conversation the code of their new case,
// once per case.
func (p *Pipeline) caseOpenedEvent(ctx context.Context, person, channel, address, replyTo, lang, id string, code tracing.Code, kind tracing.Kind) error {
	in := flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: id, Text: string(code), Outcome: string(kind)}
	return p.caseEvent(ctx, person, "opened-"+id, Message{Channel: channel, From: address, ReplyTo: replyTo, LangHint: lang, Input: in})
}

// caseEvent records an answer of the tracing side as an inbound message of
// the person's, from where they write, once per id: it is handled after the
// step that asked for it.
func (p *Pipeline) caseEvent(ctx context.Context, person, id string, m Message) error {
	m.ID, m.Received = "case:"+id, p.now()
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("bot: encoding a tracing event: %w", err)
	}
	if _, err := p.accept(ctx, person, m, raw); err != nil {
		return fmt.Errorf("bot: tracing event: %w", err)
	}
	return nil
}

// enquirerOf is the person the case's contact stands for.
func (p *Pipeline) enquirerOf(ctx context.Context, c *tracing.Case) (string, error) {
	if c.Reach.Channel == "" || c.Reach.Address == "" {
		return "", errors.New("bot: the case has no channel to reach the enquirer")
	}
	return p.PersonOf(ctx, c.Reach.Channel, c.Reach.Address)
}

// CaseOpened tells the enquirer of a case a caseworker took in an interview
// its code and asks them for a PIN, on the channel and address they gave
// (their first message from Enlace, maybe), in their language. Once per case.
func (p *Pipeline) CaseOpened(ctx context.Context, c *tracing.Case) error {
	person, err := p.enquirerOf(ctx, c)
	if err != nil {
		return err
	}
	return p.caseOpenedEvent(ctx, person, c.Reach.Channel, c.Reach.Address, "", c.Reach.Lang, c.ID, c.Code, c.Kind)
}

// CasePINReset tells the enquirer a caseworker cleared their PIN and asks
// for a new one, on the case's channel, once per reset (id).
func (p *Pipeline) CasePINReset(ctx context.Context, c *tracing.Case, id string) error {
	person, err := p.enquirerOf(ctx, c)
	if err != nil {
		return err
	}
	in := flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingOpened, Case: c.ID, Text: string(c.Code), Outcome: flows.CasePINReset}
	return p.caseEvent(ctx, person, id+"-"+c.ID, Message{Channel: c.Reach.Channel, From: c.Reach.Address, LangHint: c.Reach.Lang, Input: in})
}

func (p *Pipeline) applySetCasePIN(s *step, e flows.SetCasePIN) error {
	if p.cases == nil {
		return nil
	}
	s.before = append(s.before, func(ctx context.Context) error {
		return p.updateCase(ctx, e.Case, func(c *tracing.Case) (bool, error) {
			if c.PINHash != "" {
				return false, nil // set already (a repeated step): never replaced from chat
			}
			h, err := p.pinHasher().Hash(e.PIN)
			if err != nil {
				return false, fmt.Errorf("bot: hashing a PIN: %w", err)
			}
			c.PINHash = h
			return true, nil
		})
	})
	return nil
}

// updateCase changes a stored case with f (false: leave it) and stores it
// again, with its assignment, waiting time and retention as they were, only
// over the case f changed (tracing.ChangeCase): when a caseworker or another
// process changed it meanwhile, f runs again on the fresh case, so neither
// change is lost. A case that is gone stays gone.
func (p *Pipeline) updateCase(ctx context.Context, id string, f func(c *tracing.Case) (bool, error)) error {
	_, _, err := tracing.ChangeCase(ctx, p.cases, p.keys, id, p.cfg.CaseRetention, p.now, caseChangeTries,
		func(_ *tracing.Record, c *tracing.Case, _ time.Time) error {
			changed, err := f(c)
			if err == nil && !changed {
				return tracing.ErrUnchanged
			}
			return err
		})
	if errors.Is(err, tracing.ErrNotFound) {
		p.log.Warn("tracing case gone; nothing recorded", "case", id)
		return nil
	}
	if err != nil {
		return fmt.Errorf("bot: changing a case: %w", err)
	}
	return nil
}

func (p *Pipeline) applyCheckCasePIN(s *step, e flows.CheckCasePIN) error {
	if p.cases == nil {
		return nil
	}
	channel, address, replyTo := s.channel, s.address, s.replyTo
	eventID := "pin-" + s.commit.InboundID
	s.before = append(s.before, func(ctx context.Context) error {
		in, c, err := p.checkPIN(ctx, e, eventID)
		if err != nil {
			return err
		}
		if in.Outcome == flows.CaseLockedNow && c != nil {
			if err := p.warnLocked(ctx, s.person, c, eventID); err != nil {
				return err
			}
		}
		return p.caseEvent(ctx, s.person, eventID, Message{Channel: channel, From: address, ReplyTo: replyTo, Input: in})
	})
	return nil
}

// warnLocked tells a case's enquirer that wrong PINs from another phone
// locked their case (someone has its code): once, by the step's event id.
// Wrong PINs from their own phone they were just told about.
func (p *Pipeline) warnLocked(ctx context.Context, from string, c *tracing.Case, eventID string) error {
	if c.Erased || c.Reach.Channel == "" || c.Reach.Address == "" {
		return nil // no one to tell
	}
	owner, err := p.enquirerOf(ctx, c)
	if err != nil {
		return err // the store did not answer: the step is tried again, the warning not lost
	}
	if owner == from {
		return nil // told already, on this phone
	}
	in := flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingLocked, Case: c.ID}
	return p.caseEvent(ctx, owner, "locked-"+eventID, Message{Channel: c.Reach.Channel, From: c.Reach.Address, LangHint: c.Reach.Lang, Input: in})
}

// checkPIN checks a PIN against a case, by code or id. An unknown code and a
// wrong PIN answer alike. Three wrong PINs lock the case for a day; each
// wrong PIN and the lock are audited (by case id only).
func (p *Pipeline) checkPIN(ctx context.Context, e flows.CheckCasePIN, eventID string) (flows.Input, *tracing.Case, error) {
	now := p.now()
	in := flows.Input{Kind: flows.InputCase, Outcome: flows.CaseWrong}
	id := e.Case
	if id == "" {
		code, err := tracing.ParseCode(e.Code)
		if err != nil {
			return in, nil, nil
		}
		id, err = p.cases.CaseByCode(ctx, tracing.CodeKey(p.keys, code), now)
		if errors.Is(err, tracing.ErrNotFound) {
			// No such case: the same work and answer as a wrong PIN.
			_, _ = p.pinHasher().Verify(dummyPINHash, e.PIN)
			return in, nil, nil
		}
		if err != nil {
			return in, nil, fmt.Errorf("bot: finding a case by code: %w", err)
		}
	}
	in.Case = id
	rec, err := p.cases.GetCase(ctx, id, now)
	if errors.Is(err, tracing.ErrNotFound) {
		return in, nil, nil
	}
	if err != nil {
		return in, nil, fmt.Errorf("bot: reading a case: %w", err)
	}
	state, err := p.cases.PINState(ctx, id, now)
	if err != nil {
		return in, nil, fmt.Errorf("bot: reading a case's PIN state: %w", err)
	}
	if state.Locked(now) {
		in.Outcome = flows.CaseLocked
		return in, nil, nil
	}
	c, err := tracing.OpenCase(p.keys, rec.ID, rec.Sealed)
	if err != nil {
		return in, nil, fmt.Errorf("bot: opening a case: %w", err)
	}
	ok := false
	if c.PINHash != "" && !c.Erased {
		if ok, err = p.pinHasher().Verify(c.PINHash, e.PIN); err != nil {
			p.log.Error("unreadable PIN hash", "case", id, "err", err)
			ok = false
		}
	}
	if !ok {
		outcome, _, err := p.cases.PINFailure(ctx, id, now)
		if err != nil {
			return in, nil, fmt.Errorf("bot: counting a wrong PIN: %w", err)
		}
		if err := p.audit(ctx, AuditPINFailed, id); err != nil {
			return in, nil, err
		}
		if outcome == tracing.PINLockedNow {
			in.Outcome = flows.CaseLockedNow
			p.log.Warn("tracing case locked after wrong PINs", "case", id)
			return in, c, p.audit(ctx, AuditPINLocked, id)
		}
		if outcome == tracing.PINLocked {
			in.Outcome = flows.CaseLocked
		}
		return in, nil, nil
	}
	if err := p.cases.PINReset(ctx, id, now); err != nil {
		return in, nil, fmt.Errorf("bot: forgetting wrong PINs: %w", err)
	}
	in.Outcome, in.View = flows.CaseOK, caseView(c)
	return in, nil, nil
}

// dummyPINHash is checked when no case has the code, so that answer takes
// the time a wrong PIN takes.
var dummyPINHash = func() string {
	h, _ := tracing.PINHasher{Pepper: []byte("enlace-no-such-case-pepper")}.Hash("468135")
	return h
}()

// caseView is what the person may read of their case: code, status, and the
// updates they have not read.
func caseView(c *tracing.Case) *flows.CaseView {
	v := &flows.CaseView{Code: string(c.Code), Status: string(c.Status)}
	if c.Erased {
		v.Status = string(tracing.StatusClosed)
		return v
	}
	for _, u := range c.Unread() {
		v.Updates = append(v.Updates, flows.CaseUpdate{ID: u.ID, Template: string(u.Template), Param: u.Param, Text: u.Text})
	}
	return v
}

func (p *Pipeline) applyCaseRead(s *step, e flows.CaseRead) error {
	if p.cases == nil {
		return nil
	}
	channel := s.channel
	s.before = append(s.before, func(ctx context.Context) error {
		return p.updateCase(ctx, e.Case, func(c *tracing.Case) (bool, error) {
			now, changed := p.now(), false
			for i := range c.Updates {
				u := &c.Updates[i]
				if u.Read.IsZero() && slices.Contains(e.Updates, u.ID) {
					u.Read = now
					u.Delivery = append(u.Delivery, tracing.DeliveryStep{Channel: channel, Status: tracing.DeliveryRead, At: now})
					changed = true
				}
			}
			return changed, nil
		})
	})
	return nil
}

func (p *Pipeline) applyCaseReply(s *step, e flows.CaseReply) error {
	if p.cases == nil {
		return nil
	}
	channel, inbound := s.channel, s.commit.InboundID
	s.before = append(s.before, func(ctx context.Context) error {
		return p.updateCase(ctx, e.Case, func(c *tracing.Case) (bool, error) {
			for _, r := range c.Replies {
				if r.ID == inbound {
					return false, nil // kept already (a repeated step)
				}
			}
			c.Replies = append(c.Replies, tracing.Message{ID: inbound, Text: e.Text, Channel: channel, At: p.now()})
			return true, nil
		})
	})
	return nil
}

func (p *Pipeline) applyCaseReach(s *step, e flows.CaseReach) error {
	if p.cases == nil {
		return nil
	}
	s.before = append(s.before, func(ctx context.Context) error {
		return p.updateCase(ctx, e.Case, func(c *tracing.Case) (bool, error) {
			if c.Reach.Channel == e.Channel && c.Reach.Address == e.Address && c.Reach.Lang == e.Lang {
				return false, nil
			}
			c.Reach.Channel, c.Reach.Address, c.Reach.Lang = e.Channel, e.Address, e.Lang
			return true, nil
		})
	})
	return nil
}

// CaseUpdateEvent brings a caseworker's update (the case's Updates entry
// entry) to the enquirer: the engine sends the teaser alone. It goes where
// the person the case's contact stands for last wrote from (their session:
// the channel they last used, a linked Telegram or WhatsApp included), and to
// the case's contact itself when Enlace has no session for them. Once per update.
func (p *Pipeline) CaseUpdateEvent(ctx context.Context, c *tracing.Case, entry string) error {
	person, err := p.enquirerOf(ctx, c)
	if err != nil {
		return err
	}
	in := flows.Input{Kind: flows.InputStaff, Action: flows.StaffTracingUpdate, Case: c.ID, Entry: entry}
	id := "update-" + c.ID + "-" + entry
	err = p.StaffEvent(ctx, person, "case:"+id, in)
	if !errors.Is(err, ErrNotFound) {
		return err
	}
	return p.caseEvent(ctx, person, id, Message{Channel: c.Reach.Channel, From: c.Reach.Address, LangHint: c.Reach.Lang, Input: in})
}

// caseOf returns the case id a reply's Conv names, if it is a teaser's.
func caseOf(conv string) (string, bool) { return strings.CutPrefix(conv, caseConvPrefix) }

// caseDelivery records a step of a teaser's delivery on its case's update.
func (p *Pipeline) caseDelivery(ctx context.Context, id, entry string, st tracing.DeliveryStep) error {
	if p.cases == nil {
		return nil
	}
	st.At, st.Status = p.now(), tracing.DeliveryOf(st.Status)
	return p.updateCase(ctx, id, func(c *tracing.Case) (bool, error) {
		for i := range c.Updates {
			if c.Updates[i].ID == entry {
				c.Updates[i].Delivery = append(c.Updates[i].Delivery, st)
				return true, nil
			}
		}
		return false, nil
	})
}

// Audit actions the pipeline records (by case id only).
const (
	AuditPINFailed = "case.pin_failed"
	AuditPINLocked = "case.pin_locked"
)

// audit records an action of the pipeline in the staff audit, when one is set.
func (p *Pipeline) audit(ctx context.Context, action, subject string) error {
	if p.auditFn == nil {
		return nil
	}
	if err := p.auditFn(ctx, action, subject); err != nil {
		return fmt.Errorf("bot: audit %s: %w", action, err)
	}
	return nil
}

// teaserFallback sends a teaser that one channel can never deliver on the
// next one Enlace knows for the person: a Telegram user's own number (shared
// with the contact button) on SMS, a WhatsApp number on SMS. The failed
// step is on the update already; the new one is recorded as queued, saying
// what it falls back from.
func (p *Pipeline) teaserFallback(ctx context.Context, person string, r Reply) error {
	id, ok := caseOf(r.Conv)
	if !ok || r.Entry == "" {
		return nil
	}
	to := ""
	switch r.Channel {
	case "telegram":
		sealed, err := p.loadSession(ctx, person)
		if err != nil || sealed == nil {
			return err
		}
		sess, err := p.openSession(person, sealed)
		if err != nil {
			return fmt.Errorf("bot: opening a session: %w", err)
		}
		to = sess.Phone
	case "whatsapp":
		to = r.To
	}
	if _, ok := p.channel("sms"); !ok || to == "" {
		return nil
	}
	fr := p.render("sms", to, r.Lang, flows.Output{Text: flows.Text{ID: "tracing.teaser"}})
	fr.Conv, fr.Entry = r.Conv, r.Entry
	item, err := p.sealReply(person, fr)
	if err != nil {
		return err
	}
	if err := p.store.Enqueue(ctx, person, []Item{item}, p.now()); err != nil {
		return fmt.Errorf("bot: queueing a teaser on SMS: %w", err)
	}
	p.log.Info("tracing teaser falls back to SMS", "from", r.Channel, "case", id)
	return p.caseDelivery(ctx, id, r.Entry, tracing.DeliveryStep{Channel: "sms", Status: tracing.DeliveryQueued, Error: "fallback from " + r.Channel})
}

// withdrawnEnquirer is the enquirer key of withdrawn cases: nobody's.
const withdrawnEnquirer = "withdrawn"

// withdrawCases replaces every case the people (a person and the identities
// linked to them) opened by what is left once a person erased their data:
// "withdrawn by the person", its code, when it was opened and closed, and
// nothing else; it never matches again.
func (p *Pipeline) withdrawCases(ctx context.Context, people []string) error {
	if p.cases == nil {
		return nil
	}
	now := p.now()
	for _, person := range people {
		ids, err := p.cases.CasesOf(ctx, person, now)
		if err != nil {
			return fmt.Errorf("bot: finding the person's cases: %w", err)
		}
		for _, id := range ids {
			if err := p.withdrawCase(ctx, id, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// caseChangeTries is how often a change to a case that others keep
// changing meanwhile is tried before it fails (and the step is retried).
const caseChangeTries = 10

// withdrawCase withdraws one case of a person who erased their data: its
// details go, its PIN stops working, its enquirer is nobody. A case changed
// meanwhile is read and withdrawn again; one that cannot be opened is
// withdrawn all the same, with a code of its own.
func (p *Pipeline) withdrawCase(ctx context.Context, id string, now time.Time) error {
	for range caseChangeTries {
		rec, err := p.cases.GetCase(ctx, id, now)
		if errors.Is(err, tracing.ErrNotFound) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bot: reading a case: %w", err)
		}
		c := &tracing.Case{ID: id, Created: rec.Created}
		if old, err := tracing.OpenCase(p.keys, rec.ID, rec.Sealed); err == nil {
			c = old
		}
		c.Withdraw(now)
		if c.Code == "" { // unreadable before: a code of its own, so the record is whole
			if c.Code, err = tracing.NewCode(); err != nil {
				return fmt.Errorf("bot: drawing a case code: %w", err)
			}
		}
		next, err := tracing.NewRecord(p.keys, c, withdrawnEnquirer, rec.Caseworker, rec.Waiting, p.cfg.CaseRetention)
		if err != nil {
			return fmt.Errorf("bot: sealing a withdrawn case: %w", err)
		}
		if err := p.cases.PINReset(ctx, id, now); err != nil {
			return fmt.Errorf("bot: withdrawing a case: %w", err)
		}
		switch err := p.cases.ReplaceCase(ctx, next, rec.Sealed, now); {
		case errors.Is(err, tracing.ErrChanged):
			continue // changed meanwhile: withdraw what is there now
		case err != nil && !errors.Is(err, tracing.ErrNotFound):
			return fmt.Errorf("bot: withdrawing a case: %w", err)
		}
		p.log.Info("tracing case withdrawn: the person erased their data", "case", id)
		return nil
	}
	return fmt.Errorf("bot: withdrawing a case: it changed %d times while being withdrawn", caseChangeTries)
}
