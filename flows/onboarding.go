package flows

import (
	"strconv"

	"github.com/enlace-rfl/enlace/languages"
)

// promptLanguage offers the five languages, asking in the guessed one.
func promptLanguage(e *Engine, t *turn) []Output {
	choices := make([]Choice, 0, len(languages.All))
	for _, l := range languages.All {
		choices = append(choices, choice("lang."+l))
	}
	return []Output{{Text: text("language.prompt"), Choices: choices}}
}

func handleLanguage(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	for _, l := range languages.All {
		if in.Choice == "lang."+l {
			t.s.Lang = l
			if t.s.Consent == ConsentAccepted {
				t.say("language.changed")
				e.enter(t, StepMenu)
			} else {
				e.enter(t, StepConsent)
			}
			return true
		}
	}
	return false
}

// promptConsent says what is kept, why, for how long, who sees it and how to
// erase it, before anything is kept.
func promptConsent(e *Engine, t *turn) []Output {
	// Two messages, so each fits in an SMS of at most three parts.
	return []Output{
		{Text: text("consent.text", "Days", strconv.Itoa(e.cfg.RetentionDays))},
		{Text: text("consent.question"), Choices: []Choice{choice("consent.accept"), choice("consent.decline")}},
	}
}

func handleConsent(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "consent.accept":
		e.accept(t)
	case "consent.decline":
		// Keep nothing; still give the help that needs no data.
		t.forget()
		t.say("consent.declined")
		t.reply(emergencyOutput(t.s.Country))
		t.say("nodata.options")
	default:
		return false
	}
	return true
}

func (e *Engine) accept(t *turn) {
	t.s.Consent = ConsentAccepted
	t.say("consent.thanks")
	t.s.Back = ""
	e.enter(t, e.payloadStep(t)) // the flow a /start payload names, else the menu
}
