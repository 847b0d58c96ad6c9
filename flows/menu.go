package flows

import (
	"strconv"
	"time"
)

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
	if e.tracingOn() {
		// Last but the link, so the numbers people learnt stay where they were.
		cs = append(cs, choice("menu.tracing"))
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
		e.askForPerson(t, "")
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
	case "menu.tracing": // tracing requests (flows/tracing.go)
		if !e.tracingOn() {
			return false
		}
		e.enter(t, StepTraceMenu)
	case "menu.family": // safe contacts, "I am safe", check-ins (flows/contacts.go)
		e.enter(t, StepFamily)
	case "menu.emergency", "menu.language", "menu.erase": // the global words' own options
		word, _, _ := e.globalWord(in)
		e.global(t, word)
	default:
		return false
	}
	return true
}

// askForPerson records that the person asked for a human and tells them the
// truth: the request is kept for a volunteer, when someone usually reads one
// (Config.VolunteerWait, or that nobody can say), and whom to call in danger.
// Nobody is promised to answer: the volunteer inbox comes later.
//
// typed is what the person wrote when they asked in their own words ("" for
// the menu's button): it starts the conversation's transcript, so the
// volunteer reads how they asked.
func (e *Engine) askForPerson(t *turn, typed string) {
	t.emit(Escalation{Reason: ReasonAskedForHelp, At: t.now, Lang: t.s.Lang, Step: t.s.Step, Text: limitRunes(typed, maxDangerText)})
	t.startHandoff(ReasonAskedForHelp)
	t.reply(Output{Text: e.keptText(t)})
	t.reply(emergencyOutput(t.s.Country))
	e.waitForVolunteer(t)
}

// waitForVolunteer ends a turn that handed the person to the volunteers: no
// menu (what they write now is for the volunteers), only how to get it back.
func (e *Engine) waitForVolunteer(t *turn) {
	t.s.Draft = map[string]string{}
	t.s.Step, t.s.Back = StepMenu, ""
	t.say("handoff.menu")
}

// keptText says that a message is kept for a volunteer, and when one usually
// reads it when the operator configured it (VolunteerWait).
func (e *Engine) keptText(t *turn) Text {
	if tx, off := e.offDutyText(t); off {
		return tx
	}
	if e.cfg.VolunteerWait <= 0 {
		return text("person.kept")
	}
	return text("person.kept.wait", "Wait", e.duration(t.s.Lang, e.cfg.VolunteerWait))
}

// duration says a duration in words, rounded up to whole hours, or to whole
// days from two days on: "1 hour", "12 hours", "3 days".
func (e *Engine) duration(lang string, d time.Duration) string {
	hours := int((d + time.Hour - 1) / time.Hour)
	switch {
	case hours <= 1:
		return e.cat.Text(lang, "wait.hour", nil)
	case hours < 48:
		return e.cat.Text(lang, "wait.hours", map[string]string{"N": strconv.Itoa(hours)})
	}
	return e.cat.Text(lang, "wait.days", map[string]string{"N": strconv.Itoa((hours + 23) / 24)})
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
		e.askForPerson(t, "")
	case "help.menu":
		e.enter(t, StepMenu)
	default:
		return false
	}
	return true
}

func promptEraseConfirm(e *Engine, t *turn) []Output {
	id := "erase.confirm"
	if e.tracingOn() {
		id = "erase.confirm.tracing" // the person's tracing requests stop too
	}
	return []Output{{Text: text(id), Choices: []Choice{choice("erase.yes"), choice("erase.no")}}}
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
