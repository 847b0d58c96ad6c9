package casework

import (
	"context"
	"errors"
	"time"

	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// MatchView is a case that could be about the same people as the case
// asked about: the score and the reasons (codes with values, no names), the
// other case's status, and the caseworkers' decision on it, if any.
type MatchView struct {
	tracing.Match
	Status   tracing.Status
	Decision *tracing.MatchDecision
	// Findable: the other case is an Enlace user, safe, who agreed to be
	// found (not a request): the match says someone sought may be them.
	Findable bool
}

// Matches lists the cases that could be about the same people as case id,
// best first (at most MaxMatches), audited. Listing changes nothing; a case
// that may not be matched (no tracing consent, withdrawn, erased) has none,
// and such a case is never among another's matches: each candidate is read
// again from the store and checked before it is shown.
func (s *Service) Matches(ctx context.Context, by staff.Actor, id string) ([]MatchView, error) {
	if err := allowed(by); err != nil {
		return nil, err
	}
	now := s.now()
	rec, c, err := s.read(ctx, id, now)
	if err != nil {
		return nil, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionMatchList, id); err != nil {
		return nil, err
	}
	s.indexPut(c, rec.Updated) // the index is as fresh as the case asked about
	out := []MatchView{}
	if !c.Matchable() {
		return out, nil
	}
	for _, m := range s.index.Match(c, MaxMatches) {
		orec, other, err := s.read(ctx, m.CaseID, now)
		if errors.Is(err, ErrNotFound) {
			s.indexRemove(m.CaseID)
			continue
		}
		if err != nil {
			s.log.Warn("matched case unreadable", "case", m.CaseID, "err", err)
			continue
		}
		if !other.Matchable() {
			s.indexPut(other, orec.Updated) // changed elsewhere: the index drops it
			continue
		}
		mv := MatchView{Match: m, Status: orec.Status, Findable: other.Findable()}
		if d, ok := c.DecisionOn(m.CaseID); ok {
			mv.Decision = &d
		}
		out = append(out, mv)
	}
	return out, nil
}

// ConfirmMatch records that case id and case other are about the same people.
func (s *Service) ConfirmMatch(ctx context.Context, by staff.Actor, id, other string) (tracing.MatchDecision, error) {
	return s.decide(ctx, by, id, other, tracing.MatchConfirmed, staff.ActionMatchConfirm)
}

// DismissMatch records that case id and case other are not about the same people.
func (s *Service) DismissMatch(ctx context.Context, by staff.Actor, id, other string) (tracing.MatchDecision, error) {
	return s.decide(ctx, by, id, other, tracing.MatchDismissed, staff.ActionMatchDismiss)
}

// decide records the decision on both cases (each shows it among its
// matches) and audits it once, with both ids as the subject.
func (s *Service) decide(ctx context.Context, by staff.Actor, id, other string, d tracing.Decision, action string) (tracing.MatchDecision, error) {
	if err := allowed(by); err != nil {
		return tracing.MatchDecision{}, err
	}
	if !validID(id) || !validID(other) {
		return tracing.MatchDecision{}, ErrBadID
	}
	if id == other {
		return tracing.MatchDecision{}, ErrSameCase
	}
	var md tracing.MatchDecision
	record := func(self, peer string) error {
		_, _, err := s.change(ctx, self, func(rec *tracing.Record, c *tracing.Case, now time.Time) error {
			if !c.Matchable() {
				return ErrNotMatchable
			}
			c.Decide(peer, d, by.ID, now)
			md, _ = c.DecisionOn(peer)
			rec.Waiting = now
			return nil
		})
		if errors.Is(err, ErrWithdrawn) {
			return ErrNotMatchable
		}
		return err
	}
	for _, cid := range []string{id, other} { // both first, so neither records alone
		if _, c, err := s.read(ctx, cid, s.now()); err != nil {
			return tracing.MatchDecision{}, err
		} else if !c.Matchable() {
			return tracing.MatchDecision{}, ErrNotMatchable
		}
	}
	if err := record(other, id); err != nil {
		return tracing.MatchDecision{}, err
	}
	if err := record(id, other); err != nil {
		return tracing.MatchDecision{}, err
	}
	if err := s.cfg.Staff.Record(ctx, by, action, id+":"+other); err != nil {
		return tracing.MatchDecision{}, err
	}
	return md, nil
}
