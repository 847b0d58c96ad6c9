package flows

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/languages"
	"github.com/enlace-rfl/enlace/textmatch"
)

// ReasonMissedCheckin is recorded when a person did not check in by their
// deadline and their contacts were warned.
const ReasonMissedCheckin = "missed_checkin"

// The person's check-in timers (IDs the stores accept: letters, digits, - and _).
const (
	timerRemind   = "checkin-remind"
	timerDeadline = "checkin-deadline"
)

// maxCheckinAhead is the furthest ahead a check-in deadline may be.
const maxCheckinAhead = 30 * 24 * time.Hour

// Checkin asks Enlace to warn the person's contacts when they go silent.
type Checkin struct {
	Every    time.Duration `json:"every,omitempty"` // recurring interval; 0 for one deadline
	Deadline time.Time     `json:"deadline"`
	RemindAt time.Time     `json:"remind_at"`
	Last     time.Time     `json:"last"`              // when the person last checked in (or set it)
	To       []string      `json:"to,omitempty"`      // contact IDs to warn; none: all
	Message  string        `json:"message,omitempty"` // their own text; empty: the default one
	Paused   bool          `json:"paused,omitempty"`
	Reminded bool          `json:"reminded,omitempty"`
	// Missed says the contacts were warned and the person has not written since.
	Missed bool `json:"missed,omitempty"`
}

// checkinHours are the intervals offered, in hours.
var checkinHours = []int{12, 24, 48, 72}

// startCheckin opens the check-in: its settings if there is one, otherwise a
// new one, first asking for what is missing (a contact, the person's name).
func (e *Engine) startCheckin(t *turn) {
	t.s.Draft = map[string]string{}
	f := t.s.Family
	switch {
	case f != nil && f.Checkin != nil:
		e.enter(t, StepCheckinMenu)
	case f == nil || len(f.Contacts) == 0:
		t.say("safe.nocontacts")
		t.s.Draft["then"] = StepCheckinEvery
		e.enter(t, StepContactName)
	case f.Name == "":
		t.s.Draft["then"] = StepCheckinEvery
		e.enter(t, StepProfileName)
	default:
		e.enterCheckinTime(t)
	}
}

func promptCheckinMenu(e *Engine, t *turn) []Output {
	f := t.s.Family
	if f == nil || f.Checkin == nil {
		return restart(e, t)
	}
	c := f.Checkin
	when := e.when(t.s.Lang, c.Deadline, t.zone())
	switch {
	case c.Paused || c.Missed:
		return []Output{{Text: text("checkin.status.paused"), Choices: choices("checkin.resume", "checkin.change", "checkin.stop")}}
	case c.Every > 0:
		return []Output{{Text: text("checkin.status.every", "Hours", strconv.Itoa(int(c.Every.Hours())), "When", when),
			Choices: choices("checkin.ok", "checkin.pause", "checkin.change", "checkin.stop")}}
	}
	return []Output{{Text: text("checkin.status.once", "When", when),
		Choices: choices("checkin.ok", "checkin.pause", "checkin.change", "checkin.stop")}}
}

func handleCheckinMenu(e *Engine, t *turn, in Input) bool {
	f := t.s.Family
	if in.Kind != InputChoice || f == nil || f.Checkin == nil {
		return false
	}
	c := f.Checkin
	switch in.Choice {
	case "checkin.pause":
		c.Paused = true
		t.cancelTimers(timerRemind, timerDeadline)
		t.say("checkin.paused")
		e.enter(t, StepMenu)
	case "checkin.resume":
		if c.Every == 0 && c.Deadline.Sub(t.now) < time.Hour {
			t.say("checkin.when.past") // a one-off deadline that has passed: set a new one
			e.enter(t, StepCheckinEvery)
			return true
		}
		c.Paused, c.Missed = false, false
		if c.Every > 0 {
			c.Deadline = t.now.Add(c.Every)
		}
		c.Last = t.now
		e.schedule(t, c)
		e.saySet(t, c)
		e.enter(t, StepMenu)
	case "checkin.change":
		t.s.Draft = map[string]string{}
		e.enterCheckinTime(t)
	case "checkin.stop":
		e.stopCheckin(t)
		t.say("checkin.stopped")
		e.enter(t, StepMenu)
	default:
		return false
	}
	return true
}

func (e *Engine) stopCheckin(t *turn) {
	if t.s.Family != nil {
		t.s.Family.Checkin = nil
	}
	t.cancelTimers(timerRemind, timerDeadline)
}

func promptCheckinEvery(e *Engine, t *turn) []Output {
	ids := make([]string, 0, len(checkinHours)+1)
	for _, h := range checkinHours {
		ids = append(ids, "checkin."+strconv.Itoa(h)+"h")
	}
	return []Output{{Text: text("checkin.every.ask"), Choices: choices(append(ids, "checkin.date")...)}}
}

func handleCheckinEvery(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputText {
		// A day and time written at once ("viernes 8 de la noche") is the
		// last choice, answered: the same as choosing it and writing it.
		// It must name a day: "12" or "24 horas" here is how often.
		if at, day, err := e.parseWhenDay(in.Text, t.now, location(t.zone())); err == nil && day {
			e.answerWhen(t, at, nil)
			return true
		}
		return false
	}
	if in.Kind != InputChoice {
		return false
	}
	if in.Choice == "checkin.date" {
		e.enter(t, StepCheckinWhen)
		return true
	}
	for _, h := range checkinHours {
		if in.Choice == "checkin."+strconv.Itoa(h)+"h" {
			t.s.Draft["every"] = strconv.Itoa(h)
			t.s.Draft["deadline"] = strconv.FormatInt(t.now.Add(time.Duration(h)*time.Hour).Unix(), 10)
			e.checkinContacts(t)
			return true
		}
	}
	return false
}

func promptCheckinWhen(e *Engine, t *turn) []Output {
	return []Output{{Text: text("checkin.when.ask")}}
}

func handleCheckinWhen(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	at, err := e.parseWhen(in.Text, t.now, location(t.zone()))
	e.answerWhen(t, at, err)
	return true
}

// answerWhen takes a parsed deadline, or says what is wrong with it.
func (e *Engine) answerWhen(t *turn, at time.Time, err error) {
	switch {
	case errors.Is(err, errWhenPast):
		t.say("checkin.when.past")
	case errors.Is(err, errWhenFar):
		t.say("checkin.when.far", "Days", strconv.Itoa(int(maxCheckinAhead.Hours()/24)))
	case err != nil:
		t.say("checkin.when.bad")
	default:
		delete(t.s.Draft, "every")
		t.s.Draft["deadline"] = strconv.FormatInt(at.Unix(), 10)
		e.checkinContacts(t)
	}
}

// checkinContacts asks whom to warn when there is a choice. A session with
// no family at all (a stale or hand-made one) gets the same as one contact:
// promptCheckinMsg sends it back to the start.
func (e *Engine) checkinContacts(t *turn) {
	if t.s.Family != nil && len(t.s.Family.Contacts) > 1 {
		e.enter(t, StepCheckinTo)
		return
	}
	delete(t.s.Draft, "to")
	e.enter(t, StepCheckinMsg)
}

func promptCheckinTo(e *Engine, t *turn) []Output {
	if t.s.Draft["deadline"] == "" || t.s.Family == nil {
		return restart(e, t)
	}
	return []Output{{Text: text("checkin.to.ask"), Choices: pickChoices(t.s.Family, "safe.all")}}
}

func handleCheckinTo(e *Engine, t *turn, in Input) bool {
	if in.Kind == InputChoice && in.Choice == "safe.all" {
		delete(t.s.Draft, "to")
		e.enter(t, StepCheckinMsg)
		return true
	}
	c := picked(t.s.Family, in)
	if c == nil {
		return false
	}
	t.s.Draft["to"] = c.ID
	e.enter(t, StepCheckinMsg)
	return true
}

// draftCheckin is the check-in the dialog has put together so far.
func draftCheckin(t *turn) (*Checkin, bool) {
	d := t.s.Draft
	unix, err := strconv.ParseInt(d["deadline"], 10, 64)
	if err != nil || t.s.Family == nil {
		return nil, false
	}
	c := &Checkin{Deadline: time.Unix(unix, 0).UTC(), Last: t.now}
	if h, err := strconv.Atoi(d["every"]); err == nil {
		c.Every = time.Duration(h) * time.Hour
	}
	if d["to"] != "" {
		c.To = strings.Split(d["to"], ",")
	}
	c.Message = d["own"] // the person's own words, once written (previewed before it is kept)
	return c, true
}

func promptCheckinMsg(e *Engine, t *turn) []Output {
	c, ok := draftCheckin(t)
	if !ok {
		return restart(e, t)
	}
	// As the contacts will read it: in each of their languages.
	var out []Output
	seen := map[string]bool{}
	for _, to := range e.warned(t.s.Family, c) {
		if seen[to.Lang] {
			continue
		}
		seen[to.Lang] = true
		sms := e.alertText(t, c, to).Render(e.cat, to.Lang)
		out = append(out, Output{Text: text("checkin.msg.preview", "Text", sms)})
	}
	return append(out, Output{Text: text("checkin.msg.ask"), Choices: choices("checkin.msg.yes", "checkin.msg.own")})
}

func handleCheckinMsg(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputChoice {
		return false
	}
	switch in.Choice {
	case "checkin.msg.yes":
		e.setCheckin(t, t.s.Draft["own"])
	case "checkin.msg.own":
		e.enter(t, StepCheckinOwn)
	default:
		return false
	}
	return true
}

func promptCheckinOwn(e *Engine, t *turn) []Output {
	if t.s.Draft["deadline"] == "" {
		return restart(e, t)
	}
	return []Output{{Text: text("safe.free.ask", "Max", strconv.Itoa(maxFreeText))}}
}

func handleCheckinOwn(e *Engine, t *turn, in Input) bool {
	if in.Kind != InputText {
		return false
	}
	s, ok := takeText(t, in.Text, maxFreeText)
	if ok {
		// Shown as each contact will read it, then kept on a yes (or
		// written again).
		t.s.Draft["own"] = s
		e.enter(t, StepCheckinMsg)
	}
	return true
}

func (e *Engine) setCheckin(t *turn, message string) {
	c, ok := draftCheckin(t)
	if !ok {
		e.enter(t, StepFamily)
		return
	}
	c.Message = message
	t.s.Family.Checkin = c
	t.s.Draft = map[string]string{}
	e.schedule(t, c)
	e.saySet(t, c)
	e.enter(t, StepMenu)
}

func (e *Engine) saySet(t *turn, c *Checkin) {
	t.say("checkin.set", "When", e.whenAs("time.short", t.s.Lang, c.Deadline, t.zone()), "Names", e.names(t.s.Lang, e.warned(t.s.Family, c)))
}

// schedule sets the reminder (ReminderLead before the deadline, or halfway
// there when that is sooner) and the deadline timer (after the grace period).
func (e *Engine) schedule(t *turn, c *Checkin) {
	lead := e.cfg.ReminderLead
	if c.Every > 0 && lead > c.Every/2 {
		lead = c.Every / 2
	}
	c.RemindAt = c.Deadline.Add(-lead)
	if !c.RemindAt.After(t.now) {
		c.RemindAt = t.now.Add(c.Deadline.Sub(t.now) / 2)
	}
	c.Reminded = false
	t.setTimer(timerRemind, c.RemindAt)
	t.setTimer(timerDeadline, c.Deadline.Add(e.cfg.CheckinGrace))
}

// warned are the contacts a check-in warns.
func (e *Engine) warned(f *Family, c *Checkin) []*Contact {
	var cs []*Contact
	for i := range f.Contacts {
		if len(c.To) == 0 || strings.Contains(","+strings.Join(c.To, ",")+",", ","+f.Contacts[i].ID+",") {
			cs = append(cs, &f.Contacts[i])
		}
	}
	return cs
}

// alertText is what a contact reads when the person missed a check-in, in
// the contact's language: an alarm whatever the person wrote, naming the
// deadline with its time zone, then their own message if they wrote one.
func (e *Engine) alertText(t *turn, c *Checkin, to *Contact) Text {
	when := e.whenAs("time.short", to.Lang, c.Deadline, t.zone())
	if c.Message != "" {
		return text("checkin.alarm.msg", "Name", t.s.Family.Name, "When", when, "Text", c.Message)
	}
	return text("checkin.sms", "Name", t.s.Family.Name, "When", when)
}

// checkIn is run on every message from the person: a message checks them in.
// A recurring check-in moves to its next deadline; a one-off one ends, once its
// reminder is due (a message right after setting it does not end it). It
// reports whether the message was only that ("I am OK" after a reminder), so
// nothing else should answer it.
func (e *Engine) checkIn(t *turn, in Input) bool {
	t.s.Family = t.s.Family.clone() // every message passes here first
	f := t.s.Family
	if f == nil || f.Checkin == nil || t.s.Consent != ConsentAccepted {
		return false
	}
	c := f.Checkin
	if c.Missed {
		t.say("checkin.back")
		c.Missed, c.Paused = false, true
		return false
	}
	if c.Paused {
		return false
	}
	ok := e.isOK(t, in, c)
	if c.Every == 0 {
		if t.now.Before(c.RemindAt) && !ok {
			return false
		}
		e.stopCheckin(t)
		t.say("checkin.done.end")
	} else {
		// Say so when it matters: after a reminder, or when the deadline moves
		// by more than half an interval; not on every message of a dialog.
		announce := ok || c.Reminded || t.now.Sub(c.Last) >= c.Every/2
		c.Deadline, c.Last = t.now.Add(c.Every), t.now
		e.schedule(t, c)
		if announce {
			t.say("checkin.done.next", "When", e.when(t.s.Lang, c.Deadline, t.zone()))
		}
	}
	if !ok {
		return false
	}
	if t.s.Step == StepCheckinMenu || t.s.Step == "" {
		t.s.Step = StepMenu
	}
	if st, known := e.steps[t.s.Step]; known {
		t.reply(st.prompt(e, t)...)
	}
	return true
}

// isOK says whether the input answers "I am OK": the choice, or a yes when the
// last thing said was the reminder.
func (e *Engine) isOK(t *turn, in Input, c *Checkin) bool {
	switch in.Kind {
	case InputChoice:
		return in.Choice == "checkin.ok"
	case InputText:
		if id, ok := e.matchChoice(t, in.Text); ok {
			return id == "checkin.ok"
		}
		m, ok := e.words[textmatch.Normalize(in.Text)]
		return ok && m.word == wordYes && c.Reminded
	}
	return false
}

// handleCheckinTimer reminds the person, or warns their contacts when the
// deadline and its grace period passed. A timer that fires after the person
// moved it (it was claimed as they wrote) is set again for its new time.
func handleCheckinTimer(e *Engine, t *turn, in Input) {
	t.s.Family = t.s.Family.clone()
	f := t.s.Family
	if f == nil || f.Checkin == nil || f.Checkin.Paused || f.Checkin.Missed {
		return
	}
	c := f.Checkin
	switch in.Timer {
	case timerRemind:
		if c.Reminded {
			return
		}
		if t.now.Before(c.RemindAt) {
			t.setTimer(timerRemind, c.RemindAt)
			return
		}
		c.Reminded = true
		t.reply(Output{Text: text("checkin.reminder", "When", e.when(t.s.Lang, c.Deadline, t.zone()),
			"Names", e.names(t.s.Lang, e.warned(f, c))), Choices: choices("checkin.ok")})
		t.s.Choices = []string{"checkin.ok"}
	case timerDeadline:
		if due := c.Deadline.Add(e.cfg.CheckinGrace); t.now.Before(due) {
			t.setTimer(timerDeadline, due)
			return
		}
		e.alert(t, c)
	}
}

// alert warns the contacts of a missed check-in, records an escalation for
// the volunteers and tells the person.
func (e *Engine) alert(t *turn, c *Checkin) {
	f := t.s.Family
	cs := e.warned(f, c)
	for _, to := range cs {
		t.emit(Message{To: to.Phone, Lang: to.Lang, Channel: "sms", Output: Output{Text: e.alertText(t, c, to)}, Receipt: "checkin:" + to.ID})
	}
	t.escalate(ReasonMissedCheckin, StepCheckinMenu)
	t.say("checkin.missed", "When", e.when(t.s.Lang, c.Deadline, t.zone()), "Names", e.names(t.s.Lang, cs))
	c.Missed, c.Reminded = true, false
	t.cancelTimers(timerRemind)
}

// --- time -------------------------------------------------------------------

// when writes a time for people, in the person's time zone and the reader's
// language, naming the zone: "viernes 4 de diciembre a las 18:00 (hora de Tijuana)".
func (e *Engine) when(lang string, at time.Time, zone string) string {
	return e.whenAs("time.when", lang, at, zone)
}

// whenAs writes a time with one of the templates time.when (long) or
// time.short ("4 dic 18:00", for messages to contacts).
func (e *Engine) whenAs(id, lang string, at time.Time, zone string) string {
	at = at.In(location(zone))
	pick := func(list string, i, n int) string {
		if items := strings.Split(e.cat.Text(lang, list, nil), ","); len(items) == n {
			return strings.TrimSpace(items[i])
		}
		return ""
	}
	return e.cat.Text(lang, id, map[string]string{
		"Weekday": pick("time.weekdays", int(at.Weekday()), 7),
		"Month":   pick("time.months", int(at.Month())-1, 12),
		"Mon":     pick("time.months.short", int(at.Month())-1, 12),
		"Day":     strconv.Itoa(at.Day()),
		"Time": e.cat.Text(lang, "time.zoned", map[string]string{
			"Time": at.Format("15:04"), "Zone": e.zoneName(lang, zone),
		}),
	})
}

var (
	errWhenBad  = errors.New("checkin: unreadable date")
	errWhenPast = errors.New("checkin: date in the past")
	errWhenFar  = errors.New("checkin: date too far ahead")
)

var (
	isoDate   = regexp.MustCompile(`\b(\d{4})-(\d{1,2})-(\d{1,2})\b`)
	dayMonth  = regexp.MustCompile(`\b(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?\b`)
	clockTime = regexp.MustCompile(`\b(\d{1,2})(?:\s*[:h]\s*(\d{2})?)?\s*(a\.?m\.?|p\.?m\.?|hrs|hs|h)?(?:\s|$|[^\w])`)
)

// parseWhen reads a day and time as people write them, in any of the five
// languages: "viernes 18:00", "friday 6pm", "vendredi 18h", "vandredi 18:00",
// "sexta 18:00", "18:00" (its next occurrence), "2026-12-04 18:00", "4/12 18:00"
// (day/month), "mañana 9:00". It must be in the next maxCheckinAhead.
func (e *Engine) parseWhen(typed string, now time.Time, loc *time.Location) (time.Time, error) {
	at, _, err := e.parseWhenDay(typed, now, loc)
	return at, err
}

// parseWhenDay is parseWhen, and whether the text named a day (a date, a
// weekday, today or tomorrow) rather than an hour alone.
func (e *Engine) parseWhenDay(typed string, now time.Time, loc *time.Location) (time.Time, bool, error) {
	s := strings.ToLower(strings.TrimSpace(typed)) + " "
	now = now.In(loc)
	year, month, day := 0, 0, 0
	explicitYear := false
	if m := isoDate.FindStringSubmatch(s); m != nil {
		year, _ = strconv.Atoi(m[1])
		month, _ = strconv.Atoi(m[2])
		day, _ = strconv.Atoi(m[3])
		explicitYear = true
		s = strings.Replace(s, m[0], " ", 1)
	} else if m := dayMonth.FindStringSubmatch(s); m != nil {
		day, _ = strconv.Atoi(m[1])
		month, _ = strconv.Atoi(m[2])
		if m[3] != "" {
			year, _ = strconv.Atoi(m[3])
			if year < 100 {
				year += 2000
			}
			explicitYear = true
		}
		s = strings.Replace(s, m[0], " ", 1)
	}
	m := clockTime.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false, errWhenBad
	}
	hour, _ := strconv.Atoi(m[1])
	minute, _ := strconv.Atoi(m[2])
	switch suffix := strings.ReplaceAll(m[3], ".", ""); suffix {
	case "am", "pm":
		if hour < 1 || hour > 12 {
			return time.Time{}, false, errWhenBad
		}
		hour %= 12
		if suffix == "pm" {
			hour += 12
		}
	}
	if hour > 23 || minute > 59 {
		return time.Time{}, false, errWhenBad
	}
	s = strings.Replace(s, m[0], " ", 1)
	part, s := e.dayPart(s)
	if m[3] == "" || m[3] == "h" || m[3] == "hs" || m[3] == "hrs" {
		switch {
		case part == partAfternoon && hour >= 1 && hour <= 11:
			hour += 12 // "6 de la tarde"
		case part == partNight && hour == 12:
			hour = 0 // "12 de la noche"
		case part == partNight && hour >= 5 && hour <= 11:
			hour += 12 // "8 de la noche"; "2 de la noche" is after midnight
		}
	}
	weekday, days := e.dayWords(s)

	var at time.Time
	switch {
	case month != 0:
		if year == 0 {
			year = now.Year()
		}
		at = time.Date(year, time.Month(month), day, hour, minute, 0, 0, loc)
		if at.Day() != day || int(at.Month()) != month {
			return time.Time{}, false, errWhenBad // 31/2
		}
		if !explicitYear && !at.After(now) {
			if next := at.AddDate(1, 0, 0); next.Sub(now) <= maxCheckinAhead {
				at = next // "2/1" written at the end of December
			}
		}
	case weekday >= 0:
		at = time.Date(now.Year(), now.Month(), now.Day(), hour, minute, 0, 0, loc)
		for at.Weekday() != time.Weekday(weekday) || !at.After(now) {
			at = at.AddDate(0, 0, 1)
		}
	case days >= 0:
		at = time.Date(now.Year(), now.Month(), now.Day()+days, hour, minute, 0, 0, loc)
	default:
		at = time.Date(now.Year(), now.Month(), now.Day(), hour, minute, 0, 0, loc)
		if !at.After(now) {
			at = at.AddDate(0, 0, 1)
		}
	}
	switch {
	case !at.After(now):
		return time.Time{}, false, errWhenPast
	case at.Sub(now) > maxCheckinAhead:
		return time.Time{}, false, errWhenFar
	}
	return at, month != 0 || weekday >= 0 || days >= 0, nil
}

// Parts of the day a typed time may name (dayPart).
const (
	partNone = iota
	partAfternoon
	partNight
	partMorning
)

// dayPart finds a part of the day after a typed time ("de la tarde", "du
// soir", "diswa", "in the morning": the catalog's time.afternoon, time.night
// and time.morning, every language), and returns what is left of s without
// it, normalized: "de la mañana" is then never read as "mañana" (tomorrow).
func (e *Engine) dayPart(s string) (int, string) {
	norm := " " + textmatch.Normalize(s) + " "
	best, bestLen, at := partNone, 0, -1
	for _, lang := range languages.All {
		for part, id := range map[int]string{partAfternoon: "time.afternoon", partNight: "time.night", partMorning: "time.morning"} {
			for _, phrase := range strings.Split(e.cat.Text(lang, id, nil), ",") {
				phrase = textmatch.Normalize(phrase)
				if phrase == "" || len(phrase) <= bestLen {
					continue
				}
				if i := strings.Index(norm, " "+phrase+" "); i >= 0 {
					best, bestLen, at = part, len(phrase), i
				}
			}
		}
	}
	if best == partNone {
		return partNone, norm
	}
	return best, norm[:at] + " " + norm[at+1+bestLen:]
}

// dayWords finds a weekday (in any language, or its first three letters or
// more) and "today"/"tomorrow" in what is left of a typed date; -1 when absent.
func (e *Engine) dayWords(s string) (weekday, days int) {
	weekday, days = -1, -1
	for _, word := range strings.Fields(textmatch.Normalize(s)) {
		for _, lang := range languages.All {
			for i, name := range strings.Split(e.cat.Text(lang, "time.weekdays", nil), ",") {
				name = textmatch.Normalize(name)
				if len(word) >= 3 && (strings.HasPrefix(name, word) || strings.HasPrefix(word, name)) {
					if weekday >= 0 && weekday != i {
						return -1, -1 // two different days: unclear
					}
					weekday = i
				}
			}
			for i, id := range []string{"time.today", "time.tomorrow"} {
				for _, w := range strings.Split(e.cat.Text(lang, id, nil), ",") {
					if textmatch.Normalize(w) == word {
						days = i
					}
				}
			}
		}
	}
	return weekday, days
}
