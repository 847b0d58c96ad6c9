package loadtest

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Report is what a load test saw. Every reply figure is counted from what
// the stand-ins received, not from what serve says it did.
type Report struct {
	People   int            `json:"people"`
	Messages int            `json:"messages"` // planned
	Channels map[string]int `json:"channels"` // people per channel
	Serves   int            `json:"serves"`
	Rate     float64        `json:"rate"` // asked for; 0: flat out

	Accepted          int     `json:"accepted"`            // messages serve answered 2xx
	Retried           int     `json:"retried"`             // posts that failed or got 5xx and were posted again, same id
	PostSeconds       float64 `json:"post_seconds"`        // first post to the last 2xx
	AcceptedPerSecond float64 `json:"accepted_per_second"` // Accepted / PostSeconds
	LatencyP50ms      float64 `json:"latency_p50_ms"`      // of the posts answered 2xx
	LatencyP99ms      float64 `json:"latency_p99_ms"`

	// Expected are the replies (provider messages) the accepted messages
	// must get, each text as `enlace chat` gives it; Replied those a
	// stand-in received.
	Expected int `json:"expected"`
	Replied  int `json:"replied"`
	// RepliesSeconds is from the first post until the last expected reply
	// reached a stand-in; 0 when some never did.
	RepliesSeconds float64 `json:"replies_seconds"`
	Lost           int     `json:"lost"`       // expected replies that never arrived
	Unanswered     int     `json:"unanswered"` // accepted messages with a reply missing
	Doubled        int     `json:"doubled"`    // further copies of replies that had arrived
	// DoubledAcrossKill are those of Doubled whose first copy reached the
	// stand-in before a SIGKILL and the next after it: a provider call the
	// killed process made and never recorded (README, Known limits).
	DoubledAcrossKill int `json:"doubled_across_kill"`
	OutOfOrder        int `json:"out_of_order"` // replies that came after a later one of the same person
	Unmatched         int `json:"unmatched"`    // messages to people of the run that are none of their replies
	Strangers         int `json:"strangers"`    // messages to addresses of nobody in the run

	TelegramSent         int `json:"telegram_sent"`
	TelegramMaxPerSecond int `json:"telegram_max_per_second"` // most sends in one second of the stand-in's clock
	TelegramMaxPerChat   int `json:"telegram_max_per_chat_per_second"`
	TwilioSent           int `json:"twilio_sent"`

	Killed   int       `json:"killed"`    // serves SIGKILLed (and started again)
	KilledAt []float64 `json:"killed_at"` // when, in seconds from the first post
	// ActFrom and ActTo are when Config.Act ran, in seconds from the first post.
	ActFrom  float64  `json:"act_from_s,omitempty"`
	ActTo    float64  `json:"act_to_s,omitempty"`
	Copies   []Copy   `json:"copies,omitempty"` // every reply counted in Doubled
	Problems []string `json:"problems"`         // what the stand-ins refused; a serve that did not stop well
}

// OK tells whether every accepted message got exactly one reply, each
// person's in order, and the stand-ins refused nothing.
func (r Report) OK() bool {
	return r.Lost == 0 && r.Doubled == 0 && r.OutOfOrder == 0 && r.Unmatched == 0 && r.Strangers == 0 && len(r.Problems) == 0
}

func (r *runner) report(t *tally, p *pace, allAt time.Time) Report {
	rep := Report{People: r.cfg.People, Messages: r.cfg.Messages, Channels: map[string]int{}, Serves: r.cfg.Serves, Rate: r.cfg.Rate,
		Accepted: int(r.nAccepted.Load()), Retried: int(r.retried.Load()), Killed: len(r.killAt)}
	for _, p := range r.people {
		rep.Channels[p.channel]++
	}
	if !r.lastOK.IsZero() {
		rep.PostSeconds = r.lastOK.Sub(r.firstPost).Seconds()
		if rep.PostSeconds > 0 {
			rep.AcceptedPerSecond = float64(rep.Accepted) / rep.PostSeconds
		}
	}
	lat := slices.Clone(r.latencies)
	slices.Sort(lat)
	rep.LatencyP50ms = ms(percentile(lat, 0.50))
	rep.LatencyP99ms = ms(percentile(lat, 0.99))
	c := t.count(r.accepted, r.killAt, r.firstPost)
	rep.Copies = c.copies
	if !r.actStart.IsZero() {
		rep.ActFrom, rep.ActTo = r.actStart.Sub(r.firstPost).Seconds(), r.actEnd.Sub(r.firstPost).Seconds()
	}
	for _, k := range r.killAt {
		rep.KilledAt = append(rep.KilledAt, k.Sub(r.firstPost).Seconds())
	}
	rep.Expected, rep.Replied, rep.Lost, rep.Unanswered = c.expected, c.replied, c.lost, c.unanswered
	rep.Doubled, rep.DoubledAcrossKill = c.doubled, c.acrossKill
	if c.lost == 0 && !allAt.IsZero() {
		rep.RepliesSeconds = allAt.Sub(r.firstPost).Seconds()
	}
	rep.OutOfOrder, rep.Unmatched, rep.Strangers = t.outOfOrder, t.unmatched, t.strangers
	rep.TelegramSent = p.sent
	rep.TelegramMaxPerSecond, rep.TelegramMaxPerChat = p.max()
	for _, c := range r.twAPI.Calls() {
		if c.Status >= 200 && c.Status < 300 {
			rep.TwilioSent++
		}
	}
	return rep
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Write prints the report for people to read, or as one JSON object.
func (r Report) Write(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	pace := "flat out"
	if r.Rate > 0 {
		pace = fmt.Sprintf("at %g msg/s", r.Rate)
	}
	replies := fmt.Sprintf("%.1fs until every expected reply was at the stand-ins", r.RepliesSeconds)
	if r.Lost > 0 {
		replies = "NOT ALL ARRIVED"
	}
	_, err := fmt.Fprintf(w, `enlace loadtest: %d messages from %d people (sms %d, whatsapp %d, telegram %d), %d serve(s), %s
accepted        %d in %.1fs: %.1f msg/s (posted again after a failure or 5xx: %d)
latency to 2xx  p50 %.2f ms, p99 %.2f ms
replies         %d of %d: %s
lost %d (messages unanswered %d), doubled %d (%d across a kill), out of order %d, unmatched %d, to strangers %d
telegram        %d sends, at most %d in one second, at most %d to one chat in one second
twilio          %d sends; serves killed %d
`, r.Messages, r.People, r.Channels[sms], r.Channels[whatsapp], r.Channels[telegram], r.Serves, pace,
		r.Accepted, r.PostSeconds, r.AcceptedPerSecond, r.Retried,
		r.LatencyP50ms, r.LatencyP99ms,
		r.Replied, r.Expected, replies,
		r.Lost, r.Unanswered, r.Doubled, r.DoubledAcrossKill, r.OutOfOrder, r.Unmatched, r.Strangers,
		r.TelegramSent, r.TelegramMaxPerSecond, r.TelegramMaxPerChat,
		r.TwilioSent, r.Killed)
	if err != nil {
		return err
	}
	for _, p := range r.Problems {
		if _, err := fmt.Fprintf(w, "problem         %s\n", p); err != nil {
			return err
		}
	}
	return nil
}
