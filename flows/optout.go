package flows

// Opting out, and leaving a dialog. The carriers' own opt-out words (STOP,
// STOPALL, UNSUBSCRIBE…) stop every message to a phone number at once; the
// channel layer (bot/phone) answers them and hands the engine an InputOptOut.
// The everyday words people type to get out of something ("cancelar",
// "salir", "sair", "parar", "kanpe"…, words.leave) only leave the dialog
// they are in; at the menu, on SMS and WhatsApp, they ask whether to stop
// every message, and only a yes opts out.

// StepStopAll asks "Do you want to stop all messages from Enlace?".
const StepStopAll = "stop_all"

// OptOut stops every message to the person's phone number, on SMS and
// WhatsApp, until it writes START. The replies of the same step confirm it
// and are sent even so.
type OptOut struct{}

// EffectName implements Effect.
func (OptOut) EffectName() string { return "optout" }

// dialogSteps are the steps that are not a dialog to leave.
var notDialogs = map[string]bool{"": true, StepLanguage: true, StepConsent: true, StepMenu: true, StepStopAll: true}

// leave answers a leave word: out of a dialog to the menu; at the menu (or
// before consent) on a phone channel, the question whether to stop all
// messages; on Telegram, where a person stops by blocking the bot, the menu.
func (e *Engine) leave(t *turn) {
	if !notDialogs[t.s.Step] {
		t.s.Draft = map[string]string{}
		t.say("dialog.left")
		e.enter(t, e.home(t))
		return
	}
	if !phoneChannels[t.sender.Channel] {
		e.enter(t, e.home(t))
		return
	}
	e.enter(t, StepStopAll)
}

func promptStopAll(e *Engine, t *turn) []Output {
	return []Output{{Text: text("stopall.confirm"), Choices: choices("stopall.yes", "stopall.no")}}
}

func handleStopAll(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "stopall.yes":
		e.optOut(t)
	case "stopall.no":
		t.say("stopall.kept")
		e.enter(t, e.afterStopAll(t))
	default:
		return false
	}
	return true
}

// optOut stops every message to the person's number: it pauses their
// check-in, so that nobody is warned because they can no longer answer, and
// confirms it in their language, saying how to come back.
func (e *Engine) optOut(t *turn) {
	t.emit(OptOut{})
	t.s.Family = t.s.Family.clone()
	t.say("twilio.optout")
	if f := t.s.Family; f != nil && f.Checkin != nil && !f.Checkin.Paused && t.s.Consent == ConsentAccepted {
		f.Checkin.Paused = true
		t.cancelTimers(timerRemind, timerDeadline)
		t.say("optout.paused")
	}
	switch {
	case t.s.Step == "":
		t.forget() // nothing to keep of someone who only said STOP
	case t.s.Consent == ConsentAccepted:
		t.s.Step, t.s.Draft = StepMenu, map[string]string{}
	case t.s.Step == StepStopAll:
		t.s.Step = e.afterStopAll(t)
	}
}

// afterStopAll is where the question whether to stop all messages leads
// back to: the step it was asked from (the menu, or an onboarding step).
func (e *Engine) afterStopAll(t *turn) string {
	back := t.s.Back
	if back == "" || back == StepStopAll || (t.s.Consent == ConsentAccepted && back != StepMenu) {
		back = e.home(t)
	}
	t.s.Step, t.s.Back = "", ""
	return back
}
