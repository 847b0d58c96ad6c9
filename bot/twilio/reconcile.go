package twilio

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/enlace-rfl/enlace/bot"
)

// Asking Twilio what it sent. Neither the Messages API nor any other takes an
// idempotency key, so a process killed after Twilio took a message and
// before the outbox heard of it would send that message again. A reply whose
// earlier attempt may have reached Twilio (bot.Reply.Unsure: its claim ran
// out, or the call failed without saying) is looked up first in the
// Messages list, by recipient and sender (one page, newest first), and the
// parts shown sent are not sent again.
//
// The reply is the head of its outbox: nothing after it has gone to this
// person, and every reply before it was acknowledged before its attempt.
// So the parts it sent, if any, are the newest messages to the person, in
// order, created no earlier than the second the attempt may have begun;
// what Twilio lists as failed or canceled never left and does not count.
// Twilio dates messages to the second: a reply identical to the one before
// it, to the same person within the same second, is taken for that one
// after a crash (the person has that text already). A template message
// (outside WhatsApp's window) is not looked up, since Twilio keeps the
// template's text, not ours: it goes again.

// lookupPageSize is how many of a recipient's newest messages are read.
const lookupPageSize = 20

// sender is who a message goes from: a number, or a Messaging Service
// (whose numbers the list shows, so it is matched by the service's SID).
type sender struct{ from, service string }

// unsent is the parts of a reply still to send: all of them, or, when the
// reply is unsure since unsure, those after the ones the Messages list
// shows sent. A lookup that fails is a transient failure (or a throttle):
// the reply waits and is looked up again, never sent blind.
func (a *Adapter) unsent(ctx context.Context, unsure time.Time, to string, from sender, parts []string) ([]string, error) {
	if unsure.IsZero() || len(parts) == 0 {
		return parts, nil
	}
	q := &api.ListMessageParams{}
	q.SetTo(to).SetPageSize(lookupPageSize)
	if from.from != "" {
		q.SetFrom(from.from)
	}
	svc, tr, cancel := a.service(ctx)
	defer cancel()
	page, err := svc.PageMessage(q, "", "")
	if err != nil {
		err = classify(err, tr.status, tr.retryAfter)
		var throttled *bot.ErrThrottled
		if errors.As(err, &throttled) {
			return nil, err
		}
		return nil, fmt.Errorf("twilio: looking up an earlier attempt failed (HTTP %d)", tr.status)
	}
	var newest []api.ApiV2010Message
	for _, m := range page.Messages {
		if str(m.To) == to && fromSender(m, from) && strings.HasPrefix(str(m.Direction), "outbound") &&
			str(m.Status) != "failed" && str(m.Status) != "canceled" {
			newest = append(newest, m)
		}
	}
	n := sentPrefix(parts, newest, unsure.Truncate(time.Second))
	if n > 0 {
		a.reconciled.Add(float64(n))
	}
	return parts[n:], nil
}

// fromSender says whether m went from s.
func fromSender(m api.ApiV2010Message, s sender) bool {
	if s.service != "" {
		return str(m.MessagingServiceSid) == s.service
	}
	return str(m.From) == s.from
}

// sentPrefix is how many of parts, from the first, the newest messages
// show sent since since: the most j for which the newest j, oldest first,
// are parts[:j], each created at or after since.
func sentPrefix(parts []string, newest []api.ApiV2010Message, since time.Time) int {
	for j := min(len(parts), len(newest)); j > 0; j-- {
		ok := true
		for i := 0; i < j && ok; i++ {
			m := newest[j-1-i]
			created, err := time.Parse(time.RFC1123Z, str(m.DateCreated))
			ok = str(m.Body) == parts[i] && err == nil && !created.Before(since)
		}
		if ok {
			return j
		}
	}
	return 0
}

func str(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
