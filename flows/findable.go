package flows

import (
	"strconv"

	"github.com/enlace-rfl/enlace/tracing"
)

// Being findable: a person who just told their family they are safe is asked,
// once, whether relatives who search for them through the tracing service may
// find them. Yes, after a consent of its own (caseworkers see their name and
// how to reach them here, never where they are; nothing reaches a relative
// without the person's word), asks their full name and year of birth and
// keeps them as a case of kind tracing.KindFindable, matched against the
// requests of people who search (OpenCase). The person gets a code and a PIN,
// like a request: a caseworker's news reaches them as the teaser alone.
const (
	StepFindOffer = "find_offer" // may relatives who search find you?
	StepFindName  = "find_name"  // your full name
	StepFindYear  = "find_year"  // your year of birth or age
)

// Draft keys of being findable.
const (
	draftFindName = "fd.name"
)

func registerFindable(e *Engine) {
	e.steps[StepFindOffer] = step{prompt: promptFindOffer, handle: handleFindOffer}
	e.steps[StepFindName] = step{prompt: promptFindName, handle: handleFindName}
	e.steps[StepFindYear] = step{prompt: promptFindYear, handle: handleFindYear}
}

// offerFindable asks, once per person, whether relatives who search may find
// them; it reports whether it asked.
func (e *Engine) offerFindable(t *turn) bool {
	if !e.tracingOn() || (t.s.Tracing != nil && t.s.Tracing.Offered) {
		return false
	}
	t.s.Tracing = t.s.Tracing.with(func(ts *TracingState) { ts.Offered = true })
	e.enter(t, StepFindOffer)
	return true
}

func promptFindOffer(e *Engine, t *turn) []Output {
	return []Output{
		{Text: text("findable.info", "Days", strconv.Itoa(e.cfg.CaseRetentionDays))},
		{Text: text("findable.offer"), Choices: choices("findable.yes", "findable.no")},
	}
}

func handleFindOffer(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "findable.yes":
		delete(t.s.Draft, draftFindName)
		e.enter(t, StepFindName)
	case "findable.no":
		t.say("findable.declined")
		e.enter(t, StepMenu)
	default:
		return false
	}
	return true
}

func promptFindName(e *Engine, t *turn) []Output {
	return []Output{{Text: text("findable.name")}}
}

func handleFindName(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	name := cleanName(in.Text, maxTraceName)
	if letters(name) < 2 {
		t.say("tracing.name.invalid")
		t.reply(promptFindName(e, t)...)
		return true
	}
	t.s.Draft[draftFindName] = name
	e.enter(t, StepFindYear)
	return true
}

func promptFindYear(e *Engine, t *turn) []Output {
	return []Output{{Text: text("findable.year"), Choices: choices("tracing.skip")}}
}

func handleFindYear(e *Engine, t *turn, in Input) bool {
	name := t.s.Draft[draftFindName]
	if name == "" {
		e.enter(t, StepFindName)
		return true
	}
	year := 0
	switch {
	case in.Kind == InputChoice && in.Choice == "tracing.skip":
	case in.Kind == InputText:
		y, ok := birthYear(in.Text, t.now)
		if !ok {
			t.say("tracing.age.invalid")
			t.reply(promptFindYear(e, t)...)
			return true
		}
		year = y
	default:
		return false
	}
	me := tracing.Person{FullName: name, BirthYear: year}
	c := tracing.Case{
		Kind: tracing.KindFindable, Status: tracing.StatusNew,
		Consent:  tracing.Consent{Tracing: true, At: t.now},
		Reach:    tracing.Reach{Channel: t.s.Channel, Address: t.s.Address, Lang: t.s.Lang},
		Enquirer: me, Sought: tracing.Sought{Person: me},
		Created: t.now, Updated: t.now,
	}
	t.emit(OpenCase{Case: c})
	delete(t.s.Draft, draftFindName)
	t.say("tracing.wait")
	e.moveTo(t, StepTraceOpening)
	return true
}
