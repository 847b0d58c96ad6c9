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
	if t.sender.Channel == "telegram" && t.s.Phone == "" {
		cs = append(cs, choice("menu.link"))
	}
	return []Output{{Text: text("menu.prompt"), Choices: cs}}
}

// askOwnPhone asks a Telegram user to share their own number with the
// phone's contact button, so that SMS and WhatsApp from it are the same
// conversation. Nothing is asked of people on the phone channels: their
// number is already who they are.
func (e *Engine) askOwnPhone(t *turn) {
	t.reply(Output{Text: text("link.prompt"), Request: RequestContact, Choices: []Choice{choice("help.menu")}})
}

// linkPhone links the Telegram identity that wrote to its own number.
func (e *Engine) linkPhone(t *turn, phone string) {
	num, err := parsePhone(phone, "")
	if err != nil {
		num, err = parsePhone("+"+onlyDigits(phone), "")
	}
	if err != nil {
		t.say("link.invalid")
		e.enter(t, StepMenu)
		return
	}
	t.linkPhone(num)
	t.s.Phone = num
	t.say("link.done", "Phone", phoneDisplay(num))
	e.enter(t, StepMenu)
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
	case "menu.link":
		if t.sender.Channel != "telegram" {
			return false
		}
		e.askOwnPhone(t)
	case "help.menu":
		e.enter(t, StepMenu)
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
	t.escalate(ReasonAskedForHelp, t.s.Step)
	t.say("person.requested")
	t.reply(emergencyOutput(t.s.Country))
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
		t.erase()
		t.forget()
		t.say("erase.done")
	case "erase.no":
		t.say("erase.kept")
		e.enter(t, e.home(t))
	default:
		return false
	}
	return true
}
