package flows

import (
	"fmt"
	"strings"
	"time"
)

// Hours are when volunteers are on duty (ENLACE_VOLUNTEER_HOURS), each
// span in its own time zone: "America/Mexico_City Mon-Fri 09:00-18:00;
// America/Tijuana Sat 10:00-14:00". A person who asks for a volunteer
// outside every span is told nobody is on duty, when someone will read their
// message, and the emergency numbers. The zero Hours says nothing about duty.
type Hours struct {
	spans []span
}

type span struct {
	zone       *time.Location
	days       [7]bool // by time.Weekday
	start, end int     // minutes after midnight; end > start
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ParseHours reads ENLACE_VOLUNTEER_HOURS: spans separated by ";", each a
// time zone (IANA), days ("Mon-Fri", "Sat", "Mon,Wed") and "HH:MM-HH:MM"
// (the end after the start; "24:00" is the end of the day).
func ParseHours(s string) (Hours, error) {
	var h Hours
	for part := range strings.SplitSeq(s, ";") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return Hours{}, fmt.Errorf("volunteer hours %q: want a time zone, days and hours, like \"America/Mexico_City Mon-Fri 09:00-18:00\"", strings.TrimSpace(part))
		}
		zone, err := time.LoadLocation(f[0])
		if err != nil || f[0] == "Local" {
			return Hours{}, fmt.Errorf("volunteer hours: unknown time zone %q (use an IANA name like America/Tijuana)", f[0])
		}
		sp := span{zone: zone}
		if err := parseDays(f[1], &sp.days); err != nil {
			return Hours{}, err
		}
		if sp.start, sp.end, err = parseSpan(f[2]); err != nil {
			return Hours{}, err
		}
		h.spans = append(h.spans, sp)
	}
	return h, nil
}

func parseDays(s string, days *[7]bool) error {
	for item := range strings.SplitSeq(strings.ToLower(s), ",") {
		from, to, isRange := strings.Cut(item, "-")
		a, ok1 := weekdays[from]
		b, ok2 := weekdays[to]
		if !isRange {
			b, ok2 = a, ok1
		}
		if !ok1 || !ok2 {
			return fmt.Errorf("volunteer hours: days %q: use Mon, Tue, Wed, Thu, Fri, Sat, Sun, ranges like Mon-Fri, or lists like Mon,Wed", s)
		}
		for d := a; ; d = (d + 1) % 7 {
			days[d] = true
			if d == b {
				break
			}
		}
	}
	return nil
}

func parseSpan(s string) (int, int, error) {
	from, to, ok := strings.Cut(s, "-")
	a, err1 := clockMinutes(from)
	b, err2 := clockMinutes(to)
	if !ok || err1 != nil || err2 != nil || b <= a {
		return 0, 0, fmt.Errorf("volunteer hours %q: want HH:MM-HH:MM, the end after the start", s)
	}
	return a, b, nil
}

func clockMinutes(s string) (int, error) {
	var h, m int
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || len(s) != 5 || h < 0 || h > 24 || m < 0 || m > 59 || h == 24 && m != 0 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	return h*60 + m, nil
}

// Known reports whether duty hours were set.
func (h Hours) Known() bool { return len(h.spans) > 0 }

// OnDuty reports whether some span covers t.
func (h Hours) OnDuty(t time.Time) bool {
	for _, sp := range h.spans {
		l := t.In(sp.zone)
		m := l.Hour()*60 + l.Minute()
		if sp.days[l.Weekday()] && m >= sp.start && m < sp.end {
			return true
		}
	}
	return false
}

// Next returns when duty next begins after t, in the zone of its span.
func (h Hours) Next(t time.Time) (time.Time, bool) {
	var best time.Time
	for _, sp := range h.spans {
		l := t.In(sp.zone)
		for d := range 8 {
			day := time.Date(l.Year(), l.Month(), l.Day()+d, 0, 0, 0, 0, sp.zone)
			if !sp.days[day.Weekday()] {
				continue
			}
			start := day.Add(time.Duration(sp.start) * time.Minute)
			if start.After(t) && (best.IsZero() || start.Before(best)) {
				best = start
			}
			if start.After(t) {
				break
			}
		}
	}
	return best, !best.IsZero()
}

// offDutyText says, when duty hours are known and nobody is on duty now,
// that the message is kept and from when someone will read it: "lunes a las
// 09:00 (hora de Ciudad de México)", the zone named in the person's language.
func (e *Engine) offDutyText(t *turn) (Text, bool) {
	h := e.cfg.Hours
	if !h.Known() || h.OnDuty(t.now) {
		return Text{}, false
	}
	next, ok := h.Next(t.now)
	if !ok {
		return Text{}, false
	}
	day := e.cat.Text(t.s.Lang, "day."+strings.ToLower(next.Weekday().String()[:3]), nil)
	when := e.cat.Text(t.s.Lang, "person.kept.when", map[string]string{
		"Day": day, "Time": next.Format("15:04"), "City": e.zoneName(t.s.Lang, next.Location().String()),
	})
	return text("person.kept.offduty", "When", when), true
}
