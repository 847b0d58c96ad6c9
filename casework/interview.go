package casework

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/phone"
	"github.com/enlace-rfl/enlace/plaintext"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/tracing"
)

// Interview is a case taken in an interview at an assistance point: who is
// sought, who seeks them, where the enquirer can be reached, and the consent
// the caseworker confirms the enquirer gave.
type Interview struct {
	Sought tracing.Sought
	// Enquirer is the enquirer's name.
	Enquirer string
	// Channel (sms, whatsapp, telegram) and Address (an international phone
	// number, +52…; a Telegram chat id) the enquirer is reached at; Lang
	// the language they are written to in.
	Channel, Address, Lang string
	// SafeContact is an optional phone number of someone who can pass a message on.
	SafeContact string
	// ConsentTracing must be true: the enquirer agreed that the case is kept,
	// seen by caseworkers and matched. ConsentShareNetwork: it may be shared
	// with the Red Cross/Red Crescent tracing network.
	ConsentTracing, ConsentShareNetwork bool
}

// Created is a case entered from an interview.
type Created struct {
	View
	// Notified says the enquirer's chat was sent the code (and asked for a
	// PIN). When false, give them the code on paper: the case is kept.
	Notified bool
}

// Channels an enquirer can be reached on.
var Channels = []string{"sms", "whatsapp", "telegram"}

// Relationships, Circumstances and Sexes are the values a case's fields take.
var (
	Relationships = []tracing.Relationship{tracing.RelChild, tracing.RelParent, tracing.RelSibling, tracing.RelSpouse, tracing.RelRelative, tracing.RelFriend}
	Circumstances = []tracing.Circumstance{tracing.SeparatedOnRoute, tracing.Detained, tracing.Deported, tracing.LostContact, tracing.OtherCircumstance}
	Sexes         = []tracing.Sex{tracing.SexFemale, tracing.SexMale, tracing.SexOther}
)

func checkName(field, name string) (string, error) {
	name = strings.Join(strings.Fields(plaintext.Clean(name)), " ")
	switch {
	case name == "":
		return "", invalid(field, "is empty")
	case utf8.RuneCountInString(name) > MaxNameRunes:
		return "", invalid(field, fmt.Sprintf("is longer than %d characters", MaxNameRunes))
	}
	return name, nil
}

func telegramChat(s string) bool {
	if len(s) == 0 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkSought cleans and checks the sought person's fields.
func checkSought(p tracing.Sought, now time.Time) (tracing.Sought, error) {
	var err error
	if p.FullName, err = checkName("sought.full_name", p.FullName); err != nil {
		return p, err
	}
	if len(p.OtherNames) > 10 {
		return p, invalid("sought.other_names", "has more than 10 names")
	}
	others := p.OtherNames[:0:0]
	for _, n := range p.OtherNames {
		if n, err = checkName("sought.other_names", n); err != nil {
			return p, err
		}
		others = append(others, n)
	}
	p.OtherNames = others
	year := now.Year()
	switch {
	case p.Sex != tracing.SexUnknown && !slices.Contains(Sexes, p.Sex):
		return p, invalid("sought.sex", "is female, male or other")
	case p.BirthYear != 0 && (p.BirthYear < year-120 || p.BirthYear > year):
		return p, invalid("sought.birth_year", fmt.Sprintf("is from %d to %d", year-120, year))
	case p.Nationality != "" && !isCountry(p.Nationality):
		return p, invalid("sought.nationality", "is a country code of two capital letters (HN, HT)")
	case p.Relationship != "" && !slices.Contains(Relationships, p.Relationship):
		return p, invalid("sought.relationship", "is child, parent, sibling, spouse, other_relative or friend")
	case p.What != "" && !slices.Contains(Circumstances, p.What):
		return p, invalid("sought.what", "is separated_on_route, detained, deported, lost_contact or other")
	case p.LastPlace.Country != "" && !isCountry(p.LastPlace.Country):
		return p, invalid("sought.last_place.country", "is a country code of two capital letters")
	case p.LastPlace.PlaceID != "" && !validID(p.LastPlace.PlaceID):
		return p, invalid("sought.last_place.place_id", "is a gazetteer place id")
	case utf8.RuneCountInString(p.LastPlace.Name) > MaxNameRunes:
		return p, invalid("sought.last_place.name", fmt.Sprintf("is longer than %d characters", MaxNameRunes))
	case p.LastContact.Month < 0 || p.LastContact.Month > 12:
		return p, invalid("sought.last_contact.month", "is from 1 to 12, or 0 when only the year is known")
	case p.LastContact.Month != 0 && p.LastContact.Year == 0:
		return p, invalid("sought.last_contact.year", "is needed with a month")
	case p.LastContact.Year != 0 && (p.LastContact.Year < year-120 || p.LastContact.Year > year):
		return p, invalid("sought.last_contact.year", fmt.Sprintf("is from %d to %d", year-120, year))
	}
	p.LastPlace.Name = strings.TrimSpace(strings.ToValidUTF8(p.LastPlace.Name, ""))
	return p, nil
}

// checkReach checks and normalizes where the enquirer is reached.
func checkReach(in Interview) (tracing.Reach, error) {
	r := tracing.Reach{Channel: in.Channel, Address: strings.TrimSpace(in.Address), Lang: in.Lang}
	switch r.Channel {
	case "sms", "whatsapp":
		num, err := phone.Normalize(r.Address)
		if err != nil {
			return r, invalid("address", "is a valid phone number in international form (+52…)")
		}
		r.Address = num
	case "telegram":
		if !telegramChat(r.Address) {
			return r, invalid("address", "is a Telegram chat id (digits)")
		}
	default:
		return r, invalid("channel", "is sms, whatsapp or telegram")
	}
	if !languages.Has(r.Lang) {
		return r, invalid("lang", "is one of "+strings.Join(languages.All, ", "))
	}
	if sc := strings.TrimSpace(in.SafeContact); sc != "" {
		num, err := phone.Normalize(sc)
		if err != nil {
			return r, invalid("safe_contact", "is a valid phone number in international form (+52…)")
		}
		r.SafeContact = num
	}
	return r, nil
}

// CreateInterview enters a case taken in an interview: open, assigned to the
// caseworker who took it, with a new case code. The enquirer's chat then gets
// the code and is asked to choose a PIN (flows.StaffTracingOpened); when it
// cannot be reached, Created.Notified is false and the case is kept.
func (s *Service) CreateInterview(ctx context.Context, by staff.Actor, in Interview) (Created, error) {
	if err := allowed(by); err != nil {
		return Created{}, err
	}
	now := s.now()
	sought, err := checkSought(in.Sought, now)
	if err != nil {
		return Created{}, err
	}
	enquirer, err := checkName("enquirer", in.Enquirer)
	if err != nil {
		return Created{}, err
	}
	reach, err := checkReach(in)
	if err != nil {
		return Created{}, err
	}
	if !in.ConsentTracing {
		return Created{}, ErrNoConsent
	}
	if !validID(by.ID) {
		return Created{}, ErrBadID
	}
	person, err := s.cfg.Notifier.PersonOf(ctx, reach.Channel, reach.Address)
	if err != nil {
		return Created{}, fmt.Errorf("casework: the enquirer's identity: %w", err)
	}
	c := &tracing.Case{ID: newCaseID(), Status: tracing.StatusOpen, Enquirer: tracing.Person{FullName: enquirer},
		Reach: reach, Sought: sought, Consent: tracing.Consent{Tracing: true, ShareNetwork: in.ConsentShareNetwork, At: now},
		Created: now, Updated: now}
	var rec tracing.Record
	for try := 0; ; try++ {
		if c.Code, err = tracing.NewCode(); err != nil {
			return Created{}, err
		}
		if rec, err = tracing.NewRecord(s.cfg.Keys, c, person, by.ID, now, s.cfg.Retention); err != nil {
			return Created{}, fmt.Errorf("casework: sealing case: %w", err)
		}
		err = s.cfg.Cases.PutCase(ctx, rec, now)
		if errors.Is(err, tracing.ErrCodeTaken) && try < 10 {
			continue // one code in 148 million is taken: draw again
		}
		if err != nil {
			return Created{}, fmt.Errorf("casework: storing case: %w", err)
		}
		break
	}
	s.indexPut(c, rec.Updated)
	if err := s.cfg.Staff.Record(ctx, by, staff.ActionCaseCreate, c.ID); err != nil {
		return Created{}, err
	}
	out := Created{View: viewOf(rec, c), Notified: true}
	if cn, ok := s.cfg.Notifier.(CaseNotifier); ok {
		err = cn.CaseOpened(ctx, c)
	} else {
		err = s.cfg.Notifier.StaffEvent(ctx, person, "case-opened-"+c.ID,
			flows.Input{Action: flows.StaffTracingOpened, Case: c.ID, Text: c.Code.String()})
	}
	if err != nil {
		s.log.Warn("interview case: the enquirer's chat was not told the code", "case", c.ID, "err", err)
		out.Notified = false
	}
	return out, nil
}
