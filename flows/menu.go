package flows

// menuChoices are the main menu's options.
var menuChoices = []string{"menu.person", "menu.family", "menu.emergency", "menu.language", "menu.erase"}

func promptMenu(e *Engine, t *turn) []Output {
	forgetSearch(t) // the shelter finder's point is kept no longer than the search
	cs := make([]Choice, 0, len(menuChoices)+1)
	if e.sheltersOn(t) {
		cs = append(cs, choice("menu.shelters"))
	}
	for _, id := range menuChoices {
		cs = append(cs, choice(id))
	}
	return []Output{{Text: text("menu.prompt"), Choices: cs}}
}

func handleMenu(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "menu.person", "help.person":
		e.askForPerson(t)
	case "menu.shelters":
		if !e.sheltersOn(t) {
			return false
		}
		e.enter(t, StepShelters)
	case "menu.family": // safe contacts, "I am safe", check-ins (flows/contacts.go)
		e.enter(t, StepFamily)
	default:
		return false
	}
	return true
}

// askForPerson records that the person asked for a human. The volunteer inbox
// that answers it comes later; the escalation is kept in the store now.
func (e *Engine) askForPerson(t *turn) {
	t.esc = append(t.esc, Escalation{Reason: ReasonAskedForHelp, At: t.now, Lang: t.s.Lang, Step: t.s.Step})
	t.say("person.requested")
	t.out = append(t.out, emergencyOutput(t.s.Country))
	e.enter(t, StepMenu)
}

func promptHelpOffer(e *Engine, t *turn) []Output {
	return []Output{{Text: text("help.offer"), Choices: []Choice{choice("help.person"), choice("help.menu")}}}
}

func handleHelpOffer(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "help.person":
		e.askForPerson(t)
	case "help.menu":
		e.enter(t, StepMenu)
	default:
		return false
	}
	return true
}

func promptEraseConfirm(e *Engine, t *turn) []Output {
	return []Output{{Text: text("erase.confirm"), Choices: []Choice{choice("erase.yes"), choice("erase.no")}}}
}

func handleEraseConfirm(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "erase.yes":
		t.erase = true
		t.forget = true
		t.say("erase.done")
	case "erase.no":
		t.say("erase.kept")
		e.enter(t, e.home(t))
	default:
		return false
	}
	return true
}
