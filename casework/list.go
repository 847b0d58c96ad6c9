package casework

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// Filter selects cases for the caseworkers' list. Status and caseworker are
// asked of the store; the others need the case opened and are applied after.
type Filter struct {
	// Statuses: only cases in one of these (all when empty).
	Statuses []tracing.Status
	// Caseworker: only cases assigned to this account id.
	Caseworker string
	// Nationality: only cases whose sought person has this nationality (ISO alpha-2).
	Nationality string
	// Place: the country (ISO alpha-2) or the gazetteer place id of the last contact.
	Place string
	// MinAge and MaxAge bound the sought person's age today (0: no bound); a
	// case without a birth year is left out when either is set.
	MinAge, MaxAge int
	// WaitingFor: only cases waiting at least this long.
	WaitingFor time.Duration
	// Offset and Limit page the list (Limit 0: 50, at most 500).
	Offset, Limit int
}

// Summary is one case in the list.
type Summary struct {
	ID         string
	Status     tracing.Status
	Closing    tracing.ClosingReason
	Caseworker string
	Waiting    time.Time
	Created    time.Time
	// Sought is the sought person's name; empty for a withdrawn case.
	Sought string
	// Findable: not a request but an Enlace user, safe, who agreed to be
	// found; Sought is their own name.
	Findable  bool
	Withdrawn bool
	// Unreadable: the case could not be opened (a key that is gone).
	Unreadable bool
}

func isCountry(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// check reports what of f is wrong.
func (f Filter) check() error {
	for _, st := range f.Statuses {
		if !tracing.KnownStatus(st) {
			return invalid("status", "is one of new, open, searching, located, closed")
		}
	}
	switch {
	case f.Caseworker != "" && !validID(f.Caseworker):
		return ErrBadID
	case f.Nationality != "" && !isCountry(f.Nationality):
		return invalid("nationality", "is a country code of two capital letters (HN, HT)")
	case f.Place != "" && !isCountry(f.Place) && !validID(f.Place):
		return invalid("place", "is a country code of two capital letters or a place id")
	case f.MinAge < 0 || f.MaxAge < 0 || f.MinAge > 120 || f.MaxAge > 120:
		return invalid("age", "is from 0 to 120")
	case f.MaxAge != 0 && f.MinAge > f.MaxAge:
		return invalid("min_age", "is above max_age")
	case f.WaitingFor < 0:
		return invalid("waiting", "is not negative")
	case f.Offset < 0 || f.Limit < 0 || f.Limit > tracing.MaxListLimit:
		return invalid("limit", fmt.Sprintf("offset is 0 or more, limit 1 to %d", tracing.MaxListLimit))
	}
	return nil
}

// opens reports whether the filter needs the cases opened.
func (f Filter) opens() bool {
	return f.Nationality != "" || f.Place != "" || f.MinAge != 0 || f.MaxAge != 0
}

// wants reports whether the opened case c passes the filter at now.
func (f Filter) wants(c *tracing.Case, now time.Time) bool {
	if c.Erased {
		return false // nothing is known of it to filter on
	}
	p := c.Sought
	if f.Nationality != "" && p.Nationality != f.Nationality {
		return false
	}
	if f.Place != "" {
		if isCountry(f.Place) && p.LastPlace.Country != f.Place || !isCountry(f.Place) && p.LastPlace.PlaceID != f.Place {
			return false
		}
	}
	if f.MinAge != 0 || f.MaxAge != 0 {
		if p.BirthYear == 0 {
			return false
		}
		age := now.Year() - p.BirthYear
		if age < f.MinAge || f.MaxAge != 0 && age > f.MaxAge {
			return false
		}
	}
	return true
}

// List returns the cases f selects, longest waiting first (audited: the list
// shows the sought persons' names).
func (s *Service) List(ctx context.Context, by staff.Actor, f Filter) ([]Summary, error) {
	if err := allowed(by); err != nil {
		return nil, err
	}
	if err := f.check(); err != nil {
		return nil, err
	}
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseList, ""); err != nil {
		return nil, err
	}
	now := s.now()
	offset, limit := tracing.ListQuery{Offset: f.Offset, Limit: f.Limit}.PageBounds()
	q := tracing.ListQuery{Statuses: slices.Clone(f.Statuses), Caseworker: f.Caseworker, Limit: tracing.MaxListLimit}
	out := []Summary{}
	skipped := 0
	for {
		recs, err := s.cfg.Cases.ListCases(ctx, q, now)
		if err != nil {
			return nil, fmt.Errorf("casework: listing cases: %w", err)
		}
		for _, rec := range recs {
			if f.WaitingFor > 0 && now.Sub(rec.Waiting) < f.WaitingFor {
				continue
			}
			sum := Summary{ID: rec.ID, Status: rec.Status, Caseworker: rec.Caseworker, Waiting: rec.Waiting, Created: rec.Created}
			var c *tracing.Case
			if f.opens() || skipped >= offset {
				var err error
				if c, err = tracing.OpenCase(s.cfg.Keys, rec.ID, rec.Sealed); err != nil {
					if f.opens() {
						continue
					}
					sum.Unreadable = true
				}
			}
			if c != nil && f.opens() && !f.wants(c, now) {
				continue
			}
			if skipped < offset {
				skipped++
				continue
			}
			if c != nil {
				sum.Closing = c.Closing
				sum.Withdrawn = c.Erased || c.Closing == tracing.ClosedWithdrawn
				if !sum.Withdrawn {
					sum.Sought, sum.Findable = c.Sought.FullName, c.Findable()
				}
			}
			out = append(out, sum)
			if len(out) == limit {
				return out, nil
			}
		}
		if len(recs) < tracing.MaxListLimit {
			return out, nil
		}
		q.Offset += len(recs)
	}
}
