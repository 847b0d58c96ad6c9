package tracing

import (
	"errors"
	"fmt"
	"time"
)

// Status is where a case stands. The order is new → open → searching → located →
// closed; see Transition for the steps allowed between them.
type Status string

// The statuses of a case.
const (
	StatusNew       Status = "new"       // opened by the person, no caseworker has looked yet
	StatusOpen      Status = "open"      // a caseworker took it
	StatusSearching Status = "searching" // the tracing service is searching
	StatusLocated   Status = "located"   // the sought person was found
	StatusClosed    Status = "closed"    // ended, with a ClosingReason
)

// ClosingReason says why a case was closed.
type ClosingReason string

// The reasons a case closes.
const (
	ClosedContactRestored ClosingReason = "contact_restored" // the two are in touch again
	ClosedReunited        ClosingReason = "reunited"         // the two are together again
	ClosedUnableToLocate  ClosingReason = "unable_to_locate" // the search ended without finding them
	ClosedWithdrawn       ClosingReason = "withdrawn"        // the person withdrew the request (or erased their data)
)

// Circumstance is what happened when contact was lost.
type Circumstance string

// The circumstances a person can choose from.
const (
	SeparatedOnRoute  Circumstance = "separated_on_route"
	Detained          Circumstance = "detained"
	Deported          Circumstance = "deported"
	LostContact       Circumstance = "lost_contact"
	OtherCircumstance Circumstance = "other"
)

// Sex as the enquirer gives it; SexUnknown when not given.
type Sex string

// The values of Sex.
const (
	SexUnknown Sex = ""
	SexFemale  Sex = "female"
	SexMale    Sex = "male"
	SexOther   Sex = "other"
)

// Relationship of the sought person to the enquirer.
type Relationship string

// The relationships the chat offers.
const (
	RelChild    Relationship = "child"
	RelParent   Relationship = "parent"
	RelSibling  Relationship = "sibling"
	RelSpouse   Relationship = "spouse"
	RelRelative Relationship = "other_relative"
	RelFriend   Relationship = "friend"
)

// Month is a month of a year, the precision people remember a last contact with.
type Month struct {
	Year  int `json:"year,omitempty"`
	Month int `json:"month,omitempty"` // 1-12, 0 when only the year is known
}

// IsZero reports whether no date was given.
func (m Month) IsZero() bool { return m.Year == 0 }

// monthsApart is the distance between two months; -1 when either is unknown.
// When only the year is known on one side, it counts from the middle of that year.
func monthsApart(a, b Month) int {
	if a.IsZero() || b.IsZero() {
		return -1
	}
	am, bm := a.Month, b.Month
	if am == 0 {
		am = 6
	}
	if bm == 0 {
		bm = 6
	}
	d := (a.Year*12 + am) - (b.Year*12 + bm)
	if d < 0 {
		d = -d
	}
	return d
}

// Place is where the last contact was: a town of the gazetteer when the person
// chose one (PlaceID), else the name as typed, and its country (ISO 3166 alpha-2).
type Place struct {
	PlaceID string `json:"place_id,omitempty"`
	Name    string `json:"name,omitempty"`
	Country string `json:"country,omitempty"`
}

// Person is what is known of someone in a case: the enquirer or the sought person.
// Every field but FullName may be empty.
type Person struct {
	// FullName as the enquirer writes it, accents and both surnames included.
	FullName string `json:"full_name"`
	// OtherNames: nicknames and other names the person is known by.
	OtherNames []string `json:"other_names,omitempty"`
	Sex        Sex      `json:"sex,omitempty"`
	// BirthYear, given or worked out from an age (BirthYearFromAge).
	BirthYear int `json:"birth_year,omitempty"`
	// Nationality, ISO 3166 alpha-2 ("HN", "HT").
	Nationality string `json:"nationality,omitempty"`
}

// BirthYearFromAge turns an age given at now into a birth year. The year may be
// one off (birthday not yet passed); matching allows two years either way.
func BirthYearFromAge(age int, now time.Time) int {
	if age < 0 || age > 120 {
		return 0
	}
	return now.Year() - age
}

// Sought is the person searched for, with what the enquirer knows of the loss.
type Sought struct {
	Person
	Relationship Relationship `json:"relationship,omitempty"`
	LastPlace    Place        `json:"last_place,omitzero"`
	LastContact  Month        `json:"last_contact,omitzero"`
	What         Circumstance `json:"what,omitempty"`
}

// Reach is how the enquirer can be reached: the channel and address they wrote
// from (updated when they check the case from another phone) and, optionally, a
// safe contact's number.
type Reach struct {
	Channel     string `json:"channel,omitempty"`
	Address     string `json:"address,omitempty"`
	SafeContact string `json:"safe_contact,omitempty"`
	// Lang is the language the enquirer chats in (es, en, fr, ht, pt):
	// notifications are written in it.
	Lang string `json:"lang,omitempty"`
}

// Consent is what the enquirer agreed to for this case, and when.
type Consent struct {
	// Tracing: the case may be kept, seen by caseworkers and matched.
	Tracing bool `json:"tracing"`
	// ShareNetwork: it may be shared with the Red Cross/Red Crescent tracing network.
	ShareNetwork bool      `json:"share_network"`
	At           time.Time `json:"at,omitzero"`
}

// Case is one tracing request: one enquirer looking for one person. An enquirer
// looking for several people has several cases.
type Case struct {
	ID string `json:"id"` // opaque, assigned by the store
	// Kind is KindRequest (someone looks for a relative) or KindFindable
	// (someone who told Enlace they are safe agreed to be found by relatives
	// who search: Sought and Enquirer are both that person).
	Kind     Kind          `json:"kind,omitempty"`
	Code     Code          `json:"code"`
	Status   Status        `json:"status"`
	Closing  ClosingReason `json:"closing,omitempty"`
	Enquirer Person        `json:"enquirer,omitzero"`
	Reach    Reach         `json:"reach,omitzero"`
	Sought   Sought        `json:"sought"`
	Consent  Consent       `json:"consent"`
	PINHash  string        `json:"pin_hash,omitempty"`
	PIN      PINGuard      `json:"pin,omitzero"`
	Created  time.Time     `json:"created"`
	Updated  time.Time     `json:"updated"`
	Closed   time.Time     `json:"closed,omitzero"`
	// Erased: the person erased their data. The store keeps no personal data of an
	// erased case, only that it was withdrawn.
	Erased bool `json:"erased,omitempty"`
	// Updates are the tracing notifications sent to the enquirer, oldest first.
	Updates []Update `json:"updates,omitempty"`
	// Notes are the caseworkers' notes, oldest first.
	Notes []Note `json:"notes,omitempty"`
	// Replies are what the enquirer wrote back after reading an update.
	Replies []Message `json:"replies,omitempty"`
	// MatchDecisions are the caseworkers' decisions on this case's matches,
	// one per other case (the latest decision about it).
	MatchDecisions []MatchDecision `json:"match_decisions,omitempty"`
}

// Decision is what a caseworker decided about a match.
type Decision string

// The decisions on a match.
const (
	MatchConfirmed Decision = "confirmed" // the two cases are about the same people
	MatchDismissed Decision = "dismissed" // they are not
)

// MatchDecision is a caseworker's decision about the match of a case with
// Other (a case id): by whom (staff account id) and when.
type MatchDecision struct {
	Other    string    `json:"other"`
	Decision Decision  `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Decide records a decision about the match with other at now, replacing an
// earlier one about the same case.
func (c *Case) Decide(other string, d Decision, by string, now time.Time) {
	md := MatchDecision{Other: other, Decision: d, By: by, At: now}
	for i := range c.MatchDecisions {
		if c.MatchDecisions[i].Other == other {
			c.MatchDecisions[i] = md
			return
		}
	}
	c.MatchDecisions = append(c.MatchDecisions, md)
}

// DecisionOn returns the decision recorded about the match with other, if any.
func (c *Case) DecisionOn(other string) (MatchDecision, bool) {
	for _, md := range c.MatchDecisions {
		if md.Other == other {
			return md, true
		}
	}
	return MatchDecision{}, false
}

// Kind says what a case is.
type Kind string

// The kinds of case.
const (
	KindRequest  Kind = ""         // a tracing request: an enquirer looks for the sought person
	KindFindable Kind = "findable" // an Enlace user, safe, who agreed to be found (sought = enquirer)
)

// Findable reports whether the case is a person who agreed to be found.
func (c *Case) Findable() bool { return c.Kind == KindFindable }

// Matchable reports whether the case may be matched at all: only with tracing
// consent, never once withdrawn or erased. The matcher enforces this on both sides.
func (c *Case) Matchable() bool {
	return c.Consent.Tracing && !c.Erased && c.Closing != ClosedWithdrawn && c.Sought.FullName != ""
}

// ErrTransition means a status change the rules do not allow.
var ErrTransition = errors.New("tracing: status change not allowed")

// transitions lists, for each status, where it may go. A case may go back one step
// when a lead fails (located → searching, searching → open), and closes from any
// status. Only a case closed as unable to locate may reopen, when news comes in;
// the others ended for good.
var transitions = map[Status][]Status{
	StatusNew:       {StatusOpen, StatusClosed},
	StatusOpen:      {StatusSearching, StatusClosed},
	StatusSearching: {StatusLocated, StatusOpen, StatusClosed},
	StatusLocated:   {StatusSearching, StatusClosed},
	StatusClosed:    {StatusOpen},
}

// closingFrom lists from which statuses each reason may close a case: contact can
// only be restored, or people reunited, once the person was located.
var closingFrom = map[ClosingReason][]Status{
	ClosedContactRestored: {StatusLocated},
	ClosedReunited:        {StatusLocated},
	ClosedUnableToLocate:  {StatusOpen, StatusSearching},
	ClosedWithdrawn:       {StatusNew, StatusOpen, StatusSearching, StatusLocated},
}

// CanTransition reports whether a case may go from one status to another, closing
// with reason (which must be empty unless to is StatusClosed).
func CanTransition(from Status, fromReason ClosingReason, to Status, reason ClosingReason) error {
	allowed := false
	for _, s := range transitions[from] {
		allowed = allowed || s == to
	}
	if !allowed {
		return fmt.Errorf("%w: %s → %s", ErrTransition, from, to)
	}
	if from == StatusClosed && fromReason != ClosedUnableToLocate {
		return fmt.Errorf("%w: a case closed as %s does not reopen", ErrTransition, fromReason)
	}
	if to != StatusClosed {
		if reason != "" {
			return fmt.Errorf("%w: a closing reason only goes with closed", ErrTransition)
		}
		return nil
	}
	froms, known := closingFrom[reason]
	if !known {
		return fmt.Errorf("%w: unknown closing reason %q", ErrTransition, reason)
	}
	for _, s := range froms {
		if s == from {
			return nil
		}
	}
	return fmt.Errorf("%w: %s cannot close as %s", ErrTransition, from, reason)
}

// Transition moves the case to status to (with reason when closing) at now.
func (c *Case) Transition(to Status, reason ClosingReason, now time.Time) error {
	if c.Erased {
		return fmt.Errorf("%w: the case was erased", ErrTransition)
	}
	if err := CanTransition(c.Status, c.Closing, to, reason); err != nil {
		return err
	}
	c.Status, c.Closing, c.Updated = to, reason, now
	if to == StatusClosed {
		c.Closed = now
	} else {
		c.Closed = time.Time{}
	}
	return nil
}

// Withdraw closes the case as withdrawn by the person, from whatever status, and
// drops every personal detail: what is left says only "withdrawn by the person".
// Stores call it when the enquirer erases their data, then save what remains.
func (c *Case) Withdraw(now time.Time) {
	*c = Case{ID: c.ID, Code: c.Code, Status: StatusClosed, Closing: ClosedWithdrawn,
		Created: c.Created, Updated: now, Closed: now, Erased: true}
}

// Expires is when a closed case's data is to be deleted, retention after it was
// closed; the zero time for a case still open (it is kept until it closes).
func (c *Case) Expires(retention time.Duration) time.Time {
	if c.Status != StatusClosed || c.Closed.IsZero() {
		return time.Time{}
	}
	return c.Closed.Add(retention)
}
