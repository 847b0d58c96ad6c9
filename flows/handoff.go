package flows

import (
	"strconv"
	"time"
)

// Handoff is a person's open conversation with staff, as the engine knows
// it. It begins when the person asks for a person or writes words of danger
// (the escalation opens a conversation in the volunteer inbox) and ends when
// staff close it or the person leaves ("menu"). While it lasts, what the
// person writes goes to the conversation (Transcript) and the bot does not
// answer it, except for safety: words of danger still get the emergency
// numbers, erase and the carriers' STOP still work, check-ins and their
// alerts still run.
type Handoff struct {
	// State is HandoffWaiting until a volunteer claims the conversation.
	State string    `json:"state"`
	Since time.Time `json:"since"`
	// Noted says the person was told, while waiting, that their messages are
	// kept for the volunteer: once is enough.
	Noted bool `json:"noted,omitempty"`
}

// Handoff states.
const (
	HandoffWaiting = "waiting"
	HandoffClaimed = "claimed"
)

// StaffAction is what staff did to a person's conversation, as an InputStaff
// event tells the engine. Staff logic makes the change in the store first
// (atomically: one claim wins); the event brings the person's session in
// line, in order with the person's own messages.
type StaffAction string

// Staff actions.
const (
	StaffClaimed  StaffAction = "claimed"
	StaffReleased StaffAction = "released"
	StaffReply    StaffAction = "reply"
	StaffClosed   StaffAction = "closed"
	// StaffTracingUpdate: a caseworker sent a tracing notification (Input.Case,
	// Input.Entry); the engine sends only the teaser ("tracing.teaser") and
	// shows the update after the right PIN.
	StaffTracingUpdate StaffAction = "tracing_update"
	// StaffTracingOpened: a caseworker entered a case taken in an interview
	// for this person (Input.Case; Input.Text the case code): the engine tells
	// them the code and asks them to choose a PIN.
	StaffTracingOpened StaffAction = "tracing_opened"
	// StaffTracingLocked: three wrong PINs from another phone locked one of
	// this person's cases (Input.Case): the engine tells them, without the
	// code, and where to go if it was not them.
	StaffTracingLocked StaffAction = "tracing_locked"
)

// Transcript adds what the person sent to their open conversation with staff
// (an effect: the pipeline appends it, sealed, once).
type Transcript struct {
	Kind InputKind `json:"kind"`
	// Text is what the person wrote, or for a pin "lat,lon"; empty for
	// media the bot cannot read.
	Text string    `json:"text,omitempty"`
	At   time.Time `json:"at"`
}

// LeaveConversation closes the person's open conversation with staff because
// they left it ("menu"): the pipeline closes it in the store.
type LeaveConversation struct{}

// EffectName implements Effect.
func (Transcript) EffectName() string { return "transcript" }

// EffectName implements Effect.
func (LeaveConversation) EffectName() string { return "conversation.leave" }

// handoffReasons are the escalations after which the person waits for a
// volunteer: they asked for one, or they are in danger. A missed check-in
// (the person is not writing) and repeated misunderstanding also reach the
// inbox, but the bot goes on talking to the person until a volunteer claims
// the conversation.
var handoffReasons = map[string]bool{ReasonAskedForHelp: true, ReasonDanger: true}

// startHandoff marks the person as waiting for a volunteer after an
// escalation for reason.
func (t *turn) startHandoff(reason string) {
	if !handoffReasons[reason] || t.s.Handoff != nil {
		return
	}
	t.s.Handoff = &Handoff{State: HandoffWaiting, Since: t.now}
}

// staffEvent brings the session in line with what staff did. A person whose
// data is gone gets nothing.
func (e *Engine) staffEvent(t *turn, in Input, from Sender) {
	if in.Action == StaffTracingOpened {
		e.caseOpened(t, in, from) // may be the first message to the person
		return
	}
	if t.s.Step == "" {
		t.forget()
		return
	}
	h := t.s.Handoff
	switch in.Action {
	case StaffClaimed:
		if h == nil {
			h = &Handoff{Since: t.now}
		}
		h.State = HandoffClaimed
		t.s.Handoff = h
	case StaffReleased:
		if h != nil {
			h.State, h.Noted = HandoffWaiting, false
		}
	case StaffReply:
		if in.Text == "" {
			return
		}
		if h == nil {
			h = &Handoff{Since: t.now}
			t.s.Handoff = h
		}
		h.State = HandoffClaimed
		t.emit(Reply{Output: Output{Text: text("staff.reply", "Text", in.Text)}, Conv: in.Conv, Entry: in.Entry})
	case StaffTracingUpdate:
		e.tracingUpdate(t, in)
	case StaffTracingLocked:
		if in.Case != "" {
			t.say("tracing.locked.owner")
		}
	case StaffClosed:
		if h == nil {
			return // closed already (the person left): nothing more to say
		}
		t.s.Handoff = nil
		t.s.Draft = map[string]string{}
		t.s.Step, t.s.Back, t.s.Choices = StepMenu, "", nil
		t.say("handoff.closed")
	}
}

// transcribe sends what the person wrote to their open conversation.
func (t *turn) transcribe(in Input) {
	if t.s.Handoff == nil {
		return
	}
	tr := Transcript{Kind: in.Kind, At: t.now}
	switch in.Kind {
	case InputText:
		tr.Text = limit(in.Text, 2000)
	case InputChoice:
		tr.Kind, tr.Text = InputText, in.Choice
	case InputCommand:
		tr.Kind, tr.Text = InputText, "/"+in.Command
	case InputLocation:
		tr.Text = strconv.FormatFloat(in.Lat, 'f', 5, 64) + "," + strconv.FormatFloat(in.Lon, 'f', 5, 64)
	case InputContact:
		tr.Text = in.Phone
	case InputMedia:
	default:
		return
	}
	t.emit(tr)
}

// handoffSteps are the dialogs that run as usual during a handoff, because
// the person started them with a word that always works: erase, language,
// stop every message.
var handoffSteps = map[string]bool{StepEraseConfirm: true, StepLanguage: true, StepStopAll: true}

// inHandoff handles a message of a person whose conversation is with staff:
// "menu" (and "back", "leave") leaves it; erase, emergency, language and help
// work as always; anything else is for the volunteer, and the bot stays
// silent (once, while nobody has claimed it yet, it says the message is kept).
func (e *Engine) inHandoff(t *turn, in Input) {
	if word, _, ok := e.globalWord(in); ok {
		switch word {
		case wordMenu, wordBack, wordLeave:
			t.s.Handoff = nil
			t.emit(LeaveConversation{})
			t.say("handoff.left")
			t.s.Draft = map[string]string{}
			e.enter(t, StepMenu)
		default:
			e.global(t, word)
		}
		return
	}
	if handoffSteps[t.s.Step] {
		e.run(t, in)
		return
	}
	if h := t.s.Handoff; h.State == HandoffWaiting && !h.Noted && !t.danger {
		h.Noted = true
		t.say("handoff.kept")
	}
}
