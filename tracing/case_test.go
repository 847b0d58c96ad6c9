package tracing

import (
	"errors"
	"testing"
	"time"
)

func TestTransitions(t *testing.T) {
	cases := []struct {
		from       Status
		fromReason ClosingReason
		to         Status
		reason     ClosingReason
		ok         bool
	}{
		{StatusNew, "", StatusOpen, "", true},
		{StatusOpen, "", StatusSearching, "", true},
		{StatusSearching, "", StatusLocated, "", true},
		{StatusLocated, "", StatusClosed, ClosedReunited, true},
		{StatusLocated, "", StatusClosed, ClosedContactRestored, true},
		{StatusLocated, "", StatusSearching, "", true},
		{StatusSearching, "", StatusOpen, "", true},
		{StatusSearching, "", StatusClosed, ClosedUnableToLocate, true},
		{StatusNew, "", StatusClosed, ClosedWithdrawn, true},
		{StatusClosed, ClosedUnableToLocate, StatusOpen, "", true},
		{StatusNew, "", StatusSearching, "", false},
		{StatusNew, "", StatusLocated, "", false},
		{StatusOpen, "", StatusClosed, ClosedReunited, false},
		{StatusNew, "", StatusClosed, "", false},
		{StatusNew, "", StatusClosed, "lost", false},
		{StatusOpen, "", StatusSearching, ClosedReunited, false},
		{StatusClosed, ClosedWithdrawn, StatusOpen, "", false},
		{StatusClosed, ClosedReunited, StatusOpen, "", false},
		{StatusClosed, ClosedUnableToLocate, StatusClosed, ClosedWithdrawn, false},
		{"", "", StatusOpen, "", false},
	}
	for _, tc := range cases {
		err := CanTransition(tc.from, tc.fromReason, tc.to, tc.reason)
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrTransition)) {
			t.Errorf("%s(%s) → %s(%s): %v, want ok=%v", tc.from, tc.fromReason, tc.to, tc.reason, err, tc.ok)
		}
	}
}

func TestCaseLifecycle(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	c := &Case{ID: "c1", Status: StatusNew, Created: t0, Consent: Consent{Tracing: true},
		Sought: Sought{Person: Person{FullName: "Ana López"}}}
	for _, s := range []Status{StatusOpen, StatusSearching, StatusLocated} {
		if err := c.Transition(s, "", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if !c.Expires(30 * 24 * time.Hour).IsZero() {
		t.Error("an open case expires")
	}
	closedAt := t0.Add(48 * time.Hour)
	if err := c.Transition(StatusClosed, ClosedReunited, closedAt); err != nil {
		t.Fatal(err)
	}
	if got := c.Expires(30 * 24 * time.Hour); !got.Equal(closedAt.Add(30 * 24 * time.Hour)) {
		t.Errorf("Expires = %v", got)
	}
	if !c.Matchable() {
		t.Error("a closed, reunited case with consent is not matchable")
	}
	c.Withdraw(closedAt.Add(time.Hour))
	if c.Matchable() || c.Sought.FullName != "" || c.Status != StatusClosed || c.Closing != ClosedWithdrawn || !c.Erased || c.ID != "c1" {
		t.Errorf("after Withdraw: %+v", c)
	}
	if err := c.Transition(StatusOpen, "", closedAt); err == nil {
		t.Error("an erased case reopened")
	}
}

func TestBirthYearFromAge(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	for age, want := range map[int]int{0: 2026, 34: 1992, 120: 1906, -1: 0, 121: 0} {
		if got := BirthYearFromAge(age, now); got != want {
			t.Errorf("BirthYearFromAge(%d) = %d, want %d", age, got, want)
		}
	}
}

func TestMonthsApart(t *testing.T) {
	cases := []struct {
		a, b Month
		want int
	}{
		{Month{2025, 8}, Month{2025, 8}, 0},
		{Month{2025, 11}, Month{2026, 2}, 3},
		{Month{2025, 0}, Month{2025, 8}, 2},
		{Month{}, Month{2025, 8}, -1},
	}
	for _, tc := range cases {
		if got := monthsApart(tc.a, tc.b); got != tc.want {
			t.Errorf("monthsApart(%v, %v) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	c := &Case{ID: "a"}
	c.Decide("b", MatchDismissed, "s1", now)
	c.Decide("c", MatchConfirmed, "s1", now)
	c.Decide("b", MatchConfirmed, "s2", now.Add(time.Hour))
	if len(c.MatchDecisions) != 2 {
		t.Fatalf("decisions %+v, want one per other case", c.MatchDecisions)
	}
	d, ok := c.DecisionOn("b")
	if want := (MatchDecision{Other: "b", Decision: MatchConfirmed, By: "s2", At: now.Add(time.Hour)}); !ok || d != want {
		t.Errorf("on b: %+v, want the latest %+v", d, want)
	}
	if _, ok := c.DecisionOn("z"); ok {
		t.Error("a decision on a case never decided")
	}
}
