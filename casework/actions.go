package casework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// ClosingReasons are the reasons a case closes with.
var ClosingReasons = []tracing.ClosingReason{tracing.ClosedContactRestored, tracing.ClosedReunited, tracing.ClosedUnableToLocate, tracing.ClosedWithdrawn}

// Every change by a caseworker sets the record's Waiting to now: the list,
// longest waiting first, puts first the cases nobody has acted on for longest.

// Assign gives a case to the caseworker account to (the actor themself when
// to is empty). A new case becomes open: a caseworker took it.
func (s *Service) Assign(ctx context.Context, by staff.Actor, id, to string) (View, error) {
	if err := allowed(by); err != nil {
		return View{}, err
	}
	if to == "" {
		to = by.ID
	}
	if !validID(to) {
		return View{}, ErrBadID
	}
	a, err := s.cfg.Staff.Get(ctx, to)
	if errors.Is(err, staff.ErrNotFound) {
		return View{}, ErrNotCaseworker
	}
	if err != nil {
		return View{}, fmt.Errorf("casework: reading the account: %w", err)
	}
	if a.Disabled || !a.Can(staff.PermTracing) {
		return View{}, ErrNotCaseworker
	}
	rec, c, err := s.change(ctx, id, func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
		if rec.Caseworker == to && c.Status != tracing.StatusNew {
			return errUnchanged
		}
		rec.Caseworker, rec.Waiting = to, now
		if c.Status == tracing.StatusNew {
			return c.Transition(tracing.StatusOpen, "", now)
		}
		return nil
	})
	if err != nil {
		return View{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseAssign, id); err != nil {
		return View{}, err
	}
	return viewOf(rec, c), nil
}

// Transition moves a case to status to, with a closing reason when to is
// closed. A change the rules do not allow is an ErrTransition saying which.
func (s *Service) Transition(ctx context.Context, by staff.Actor, id string, to tracing.Status, reason tracing.ClosingReason) (View, error) {
	if err := allowed(by); err != nil {
		return View{}, err
	}
	if !tracing.KnownStatus(to) {
		return View{}, invalid("status", "is one of new, open, searching, located, closed")
	}
	if reason != "" && !slices.Contains(ClosingReasons, reason) {
		return View{}, invalid("reason", "is contact_restored, reunited, unable_to_locate or withdrawn")
	}
	if to == tracing.StatusClosed && reason == "" {
		return View{}, invalid("reason", "is needed to close a case")
	}
	rec, c, err := s.change(ctx, id, func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
		rec.Waiting = now
		return c.Transition(to, reason, now)
	})
	if err != nil {
		return View{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseStatus, id); err != nil {
		return View{}, err
	}
	return viewOf(rec, c), nil
}

// AddNote adds a caseworker's note, sealed in the case; the enquirer never sees it.
func (s *Service) AddNote(ctx context.Context, by staff.Actor, id, text string) (tracing.Note, error) {
	if err := allowed(by); err != nil {
		return tracing.Note{}, err
	}
	text, err := checkText("text", text, MaxNoteRunes)
	if err != nil {
		return tracing.Note{}, err
	}
	var note tracing.Note
	_, _, err = s.change(ctx, id, func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
		note = tracing.Note{By: by.ID, Text: text, At: now}
		c.Notes = append(c.Notes, note)
		rec.Waiting = now
		return nil
	})
	if err != nil {
		return tracing.Note{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseNote, id); err != nil {
		return tracing.Note{}, err
	}
	return note, nil
}

// ResetPIN clears the PIN of a case and its lock, for an enquirer who forgot
// it and whom the caseworker has checked in person (at an assistance point):
// their chat is asked for a new PIN at once. With to, the case moves to the
// phone the enquirer has now (theirs was lost or taken) and the question goes
// there: the old one, in whoever's hands, gets nothing. Audited.
//
// NewReach is checked as an interview's channel and address; no language
// keeps the case's.
func (s *Service) ResetPIN(ctx context.Context, by staff.Actor, id string, to *NewReach) (View, error) {
	if err := allowed(by); err != nil {
		return View{}, err
	}
	rec, c, err := s.change(ctx, id, func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
		if to != nil {
			lang := to.Lang
			if lang == "" {
				lang = c.Reach.Lang
			}
			reach, err := checkReach(Interview{Channel: to.Channel, Address: to.Address, Lang: lang})
			if err != nil {
				return err
			}
			c.Reach = reach // the old phone is told nothing
		}
		c.PINHash, c.PIN = "", tracing.PINGuard{}
		rec.Waiting = now
		return nil
	})
	if err != nil {
		return View{}, err
	}
	if err := s.cfg.Cases.PINClear(ctx, id); err != nil {
		return View{}, fmt.Errorf("casework: clearing the PIN lock of %s: %w", id, err)
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCasePINReset, id); err != nil {
		return View{}, err
	}
	reset := "pin-reset-" + rec.Updated.UTC().Format("20060102T150405.000000000")
	if cn, ok := s.cfg.Notifier.(CaseNotifier); ok {
		err = cn.CasePINReset(ctx, c, reset)
	} else {
		var person string
		if person, err = s.cfg.Notifier.PersonOf(ctx, c.Reach.Channel, c.Reach.Address); err == nil {
			err = s.cfg.Notifier.StaffEvent(ctx, person, reset+"-"+c.ID, flows.Input{Action: flows.StaffTracingOpened,
				Case: c.ID, Text: c.Code.String(), Outcome: flows.CasePINReset})
		}
	}
	if err != nil {
		s.log.Warn("PIN reset: the enquirer's chat was not asked for a new PIN", "case", id, "err", err)
		return viewOf(rec, c), ErrNotNotified
	}
	return viewOf(rec, c), nil
}

// NewReach is where a PIN reset moves a case (ResetPIN).
type NewReach struct{ Channel, Address, Lang string }

// Notification is what a caseworker sends the enquirer: a template (with its
// parameter), or their own short text. Entry is an id the caller makes once
// per notification: sending the same entry again sends it once (empty: a
// fresh one); the same entry with another template, parameter or text is
// ErrEntryReused. There is no template for news of a death: such news is given
// in a personal contact, never by message.
type Notification struct {
	Entry    string
	Template tracing.Template
	Param    string
	Text     string
}

// check cleans and checks n.
func (n Notification) check() (Notification, error) {
	if n.Entry == "" {
		n.Entry = randomHex(8)
	}
	if !validID(n.Entry) {
		return n, ErrBadID
	}
	if !tracing.KnownTemplate(n.Template) {
		return n, invalid("template", "is news, contact_point, still_searching, safe_wants_contact or own_text (news of a death is never sent by message: arrange a personal contact)")
	}
	var err error
	switch n.Template {
	case tracing.TemplateOwnText:
		if n.Param != "" {
			return n, invalid("param", "goes only with contact_point")
		}
		n.Text, err = checkText("text", n.Text, MaxOwnTextRunes)
	case tracing.TemplateContactPoint:
		if n.Text != "" {
			return n, invalid("text", "goes only with own_text")
		}
		n.Param, err = checkText("param", n.Param, MaxParamRunes)
	default:
		if n.Param != "" || n.Text != "" {
			return n, invalid("template", "takes no param or text (param: contact_point; text: own_text)")
		}
	}
	return n, err
}

// SendUpdate sends the enquirer a notification: it is kept in the case as a
// queued tracing.Update, then reaches their chat (flows.StaffTracingUpdate),
// which sends only a teaser and shows the update after the right PIN. When the
// chat cannot be reached the update stays queued and the error is
// ErrNotNotified: the same entry again retries it without a second update.
func (s *Service) SendUpdate(ctx context.Context, by staff.Actor, id string, n Notification) (tracing.Update, error) {
	if err := allowed(by); err != nil {
		return tracing.Update{}, err
	}
	n, err := n.check()
	if err != nil {
		return tracing.Update{}, err
	}
	updateID := "u-" + n.Entry
	var upd tracing.Update
	fresh := false
	rec, c, err := s.change(ctx, id, func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
		for _, u := range c.Updates {
			if u.ID == updateID {
				if u.Template != n.Template || u.Param != n.Param || u.Text != n.Text {
					return ErrEntryReused // another notification: sending the first again would hide it
				}
				upd = u
				return errUnchanged // sent before: only the chat is told again
			}
		}
		upd = tracing.Update{ID: updateID, Template: n.Template, Param: n.Param, Text: n.Text, By: by.ID, Created: now}
		c.Updates = append(c.Updates, upd)
		rec.Waiting, fresh = now, true
		return nil
	})
	if err != nil {
		return tracing.Update{}, err
	}
	if fresh {
		if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseNotify, id); err != nil {
			return tracing.Update{}, err
		}
	}
	if cn, ok := s.cfg.Notifier.(CaseNotifier); ok {
		err = cn.CaseUpdateEvent(ctx, c, updateID)
	} else {
		err = s.cfg.Notifier.StaffEvent(ctx, rec.EnquirerKey, updateID,
			flows.Input{Action: flows.StaffTracingUpdate, Case: id, Entry: updateID})
	}
	if err != nil {
		s.log.Warn("tracing update not handed to the chat", "case", id, "update", updateID, "err", err)
		return upd, fmt.Errorf("%w: %w", ErrNotNotified, err)
	}
	return upd, nil
}
