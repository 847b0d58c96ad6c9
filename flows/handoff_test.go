package flows_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/flows"
)

func staff(a flows.StaffAction, text, entry string) flows.Input {
	return flows.Input{Kind: flows.InputStaff, Action: a, Text: text, Conv: "c1", Entry: entry}
}

// transcripts lists the texts a result sends to the person's conversation.
func transcripts(r flows.Result) []string {
	var out []string
	for _, tr := range flows.EffectsOf[flows.Transcript](r.Effects) {
		out = append(out, tr.Text)
	}
	return out
}

// TestHandoff follows a person from asking for a volunteer to being handed
// back: while the conversation is with staff, what they write goes to it and
// the bot stays silent, except for safety and the words that always work.
func TestHandoff(t *testing.T) {
	type turn struct {
		in        flows.Input
		wantIDs   []string
		wantTrans []string
		wantState string // "" = no handoff
		wantLeave bool
		wantEsc   []string
		wantEntry string // the Entry of the staff reply
		wantErase bool
	}
	ht := flows.Sender{Channel: "sms", Address: "+50937001234"}
	onboard := []turn{
		{in: text("bonjou"), wantIDs: []string{"language.prompt"}},
		{in: text("4"), wantIDs: []string{"consent.text", "consent.question"}},
		{in: text("1"), wantIDs: []string{"consent.thanks", "menu.prompt"}},
	}
	cases := []struct {
		name  string
		turns []turn
	}{
		{"asked for a person, claimed, silent, reply, closed", append(slices.Clone(onboard),
			turn{in: text("mwen bezwen pale ak yon moun"), wantIDs: []string{"person.kept", "emergency.two", "handoff.menu"}, wantTrans: nil, wantState: flows.HandoffWaiting, wantEsc: []string{flows.ReasonAskedForHelp}},
			turn{in: text("mwen la"), wantIDs: []string{"handoff.kept"}, wantTrans: []string{"mwen la"}, wantState: flows.HandoffWaiting},
			turn{in: text("ou la?"), wantTrans: []string{"ou la?"}, wantState: flows.HandoffWaiting},
			turn{in: staff(flows.StaffClaimed, "", ""), wantState: flows.HandoffClaimed},
			turn{in: text("1"), wantTrans: []string{"1"}, wantState: flows.HandoffClaimed},
			turn{in: text("mwen nan Tapachula"), wantTrans: []string{"mwen nan Tapachula"}, wantState: flows.HandoffClaimed},
			turn{in: staff(flows.StaffReply, "Bonjou, mwen se Ana.", "e1"), wantIDs: []string{"staff.reply"}, wantState: flows.HandoffClaimed, wantEntry: "e1"},
			turn{in: staff(flows.StaffClosed, "", ""), wantIDs: []string{"handoff.closed"}},
			turn{in: text("meni"), wantIDs: []string{"menu.prompt"}},
		)},
		{"danger words during a handoff still get the numbers", append(slices.Clone(onboard),
			turn{in: text("mwen bezwen pale ak yon moun"), wantIDs: []string{"person.kept", "emergency.two", "handoff.menu"}, wantState: flows.HandoffWaiting, wantEsc: []string{flows.ReasonAskedForHelp}},
			turn{in: staff(flows.StaffClaimed, "", ""), wantState: flows.HandoffClaimed},
			turn{in: text("yo menase m"), wantIDs: []string{"danger.two", "danger.kept"}, wantTrans: []string{"yo menase m"}, wantState: flows.HandoffClaimed, wantEsc: []string{flows.ReasonDanger}},
		)},
		{"menu leaves the conversation", append(slices.Clone(onboard),
			turn{in: text("mwen bezwen pale ak yon moun"), wantIDs: []string{"person.kept", "emergency.two", "handoff.menu"}, wantState: flows.HandoffWaiting, wantEsc: []string{flows.ReasonAskedForHelp}},
			turn{in: staff(flows.StaffClaimed, "", ""), wantState: flows.HandoffClaimed},
			turn{in: text("MENI"), wantIDs: []string{"handoff.left", "menu.prompt"}, wantTrans: []string{"MENI"}, wantLeave: true},
			turn{in: staff(flows.StaffClosed, "", "")}, // closed already: nothing more said
		)},
		{"erase works during a handoff", append(slices.Clone(onboard),
			turn{in: text("mwen bezwen pale ak yon moun"), wantIDs: []string{"person.kept", "emergency.two", "handoff.menu"}, wantState: flows.HandoffWaiting, wantEsc: []string{flows.ReasonAskedForHelp}},
			turn{in: staff(flows.StaffClaimed, "", ""), wantState: flows.HandoffClaimed},
			turn{in: text("efase"), wantIDs: []string{"erase.confirm"}, wantTrans: []string{"efase"}, wantState: flows.HandoffClaimed},
			turn{in: text("1"), wantIDs: []string{"erase.done"}, wantTrans: []string{"1"}, wantErase: true},
		)},
		{"a released conversation waits again and says so once", append(slices.Clone(onboard),
			turn{in: text("mwen bezwen pale ak yon moun"), wantIDs: []string{"person.kept", "emergency.two", "handoff.menu"}, wantState: flows.HandoffWaiting, wantEsc: []string{flows.ReasonAskedForHelp}},
			turn{in: staff(flows.StaffClaimed, "", ""), wantState: flows.HandoffClaimed},
			turn{in: staff(flows.StaffReleased, "", ""), wantState: flows.HandoffWaiting},
			turn{in: text("alo"), wantIDs: []string{"handoff.kept"}, wantTrans: []string{"alo"}, wantState: flows.HandoffWaiting},
			turn{in: text("alo"), wantTrans: []string{"alo"}, wantState: flows.HandoffWaiting},
		)},
		{"a claim of a missed check-in silences the bot until closed", append(slices.Clone(onboard),
			turn{in: staff(flows.StaffClaimed, "", ""), wantState: flows.HandoffClaimed},
			turn{in: text("wi"), wantTrans: []string{"wi"}, wantState: flows.HandoffClaimed},
			turn{in: staff(flows.StaffClosed, "", ""), wantIDs: []string{"handoff.closed"}},
		)},
		{"staff events for a person whose data is gone do nothing", []turn{
			{in: staff(flows.StaffReply, "hola", "e1")},
		}},
	}
	e := newEngine(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s flows.Session
			for i, tu := range tc.turns {
				r := e.Step(context.Background(), s, tu.in, ht, t0.Add(time.Duration(i)*time.Minute))
				if got := ids(r); !slices.Equal(got, tu.wantIDs) {
					t.Fatalf("turn %d (%v %q): got %v, want %v", i+1, tu.in.Kind, tu.in.Text, got, tu.wantIDs)
				}
				if got := transcripts(r); !slices.Equal(got, tu.wantTrans) {
					t.Errorf("turn %d: transcript got %q, want %q", i+1, got, tu.wantTrans)
				}
				state := ""
				if r.Session.Handoff != nil {
					state = r.Session.Handoff.State
				}
				if state != tu.wantState {
					t.Errorf("turn %d: handoff got %q, want %q", i+1, state, tu.wantState)
				}
				if got := flows.Has[flows.LeaveConversation](r.Effects); got != tu.wantLeave {
					t.Errorf("turn %d: leave got %v, want %v", i+1, got, tu.wantLeave)
				}
				var esc []string
				for _, x := range flows.EffectsOf[flows.Escalation](r.Effects) {
					esc = append(esc, x.Reason)
				}
				if !slices.Equal(esc, tu.wantEsc) {
					t.Errorf("turn %d: escalations got %v, want %v", i+1, esc, tu.wantEsc)
				}
				if got := flows.Has[flows.Erase](r.Effects); got != tu.wantErase {
					t.Errorf("turn %d: erase got %v, want %v", i+1, got, tu.wantErase)
				}
				if tu.wantEntry != "" {
					reps := flows.EffectsOf[flows.Reply](r.Effects)
					if len(reps) != 1 || reps[0].Entry != tu.wantEntry || reps[0].Conv != "c1" || reps[0].Text.Data["Text"] != tu.in.Text {
						t.Errorf("turn %d: staff reply effects %+v, want one for entry %s", i+1, reps, tu.wantEntry)
					}
				}
				if tu.in.Kind == flows.InputStaff && !r.Session.Updated.Equal(s.Updated) {
					t.Errorf("turn %d: a staff event moved the person's last message time", i+1)
				}
				s = r.Session
				if flows.Has[flows.Forget](r.Effects) || flows.Has[flows.Erase](r.Effects) {
					s = flows.Session{}
				}
			}
		})
	}
}

// TestCheckinAlertsDuringHandoff: while a volunteer holds the conversation,
// the bot is silent to the person's messages, but a missed check-in still
// warns the safe contacts.
func TestCheckinAlertsDuringHandoff(t *testing.T) {
	e := newEngine(t)
	s := checkinSession(t, e)
	s = e.Step(context.Background(), s, staff(flows.StaffClaimed, "", ""), mxSMS, t0.Add(time.Hour)).Session
	if s.Handoff == nil || s.Handoff.State != flows.HandoffClaimed {
		t.Fatalf("after the claim: %+v", s.Handoff)
	}
	r := e.Step(context.Background(), s, timer("checkin-deadline"), mxSMS, t0.Add(13*time.Hour))
	if out := proactive(r); len(out) != 1 || out[0].To != rosa.Phone {
		t.Fatalf("a missed check-in during a handoff: alerts %+v, want one to the contact", out)
	}
}

// TestAskingInOwnWordsStartsTheTranscript: a person who asks for a human in
// their own words has those words in the escalation (the transcript's first
// entry); the menu's button carries none.
func TestAskingInOwnWordsStartsTheTranscript(t *testing.T) {
	e := newEngine(t)
	ht := flows.Sender{Channel: "sms", Address: "+50937001234"}
	var s flows.Session
	for i, in := range []string{"bonjou", "4", "1"} {
		s = e.Step(context.Background(), s, text(in), ht, t0.Add(time.Duration(i)*time.Minute)).Session
	}
	r := e.Step(context.Background(), s, text("mwen bezwen pale ak yon moun tanpri"), ht, t0.Add(time.Hour))
	esc := flows.EffectsOf[flows.Escalation](r.Effects)
	if len(esc) != 1 || esc[0].Reason != flows.ReasonAskedForHelp || esc[0].Text != "mwen bezwen pale ak yon moun tanpri" {
		t.Fatalf("escalations %+v: want the person's words", esc)
	}
	r = e.Step(context.Background(), s, pick("menu.person"), ht, t0.Add(time.Hour))
	if esc := flows.EffectsOf[flows.Escalation](r.Effects); len(esc) != 1 || esc[0].Text != "" {
		t.Fatalf("escalations from the button %+v: want no text", esc)
	}
}
