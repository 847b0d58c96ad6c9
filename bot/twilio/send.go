package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	twclient "github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/enlace-rfl/enlace/bot"
)

// Channel is the "sms" or the "whatsapp" channel of an Adapter.
type Channel struct {
	a    *Adapter
	name string
}

// Name is "sms" or "whatsapp".
func (c *Channel) Name() string { return c.name }

// Pace is the channel's delivery lane: its sender (the SMS number or
// Messaging Service, the WhatsApp number) at Config.Rate, in every process
// together, with a burst of a tenth of a second's worth (one at a time up to
// 10 a second). A burst of one would lose the budget of every moment no
// worker was there to take it: at 200 a second a token comes every 5 ms,
// and a worker woken a millisecond or two late (a busy machine) would leave
// a fifth to a third of the rate unused. Twilio queues what comes faster
// than a sender's rate rather than refusing it, so a tenth of a second
// ahead costs nothing.
func (c *Channel) Pace() bot.Pace {
	return bot.Pace{Lane: c.a.laneName(c.name), Rate: c.a.cfg.Rate, Burst: burst(c.a.cfg.Rate), Account: "twilio:" + c.a.cfg.AccountSID}
}

// burst is a tenth of a second of rate, at least one message.
func burst(rate float64) float64 { return max(1, math.Floor(rate/10)) }

// Cost is how many Messages API calls r takes (one per part of a long text).
func (c *Channel) Cost(r bot.Reply) int { return max(len(c.a.layer.Texts(c.name, r)), 1) }

// laneName names a channel's lane by its sender: two numbers are two senders.
func (a *Adapter) laneName(channel string) string {
	sender := a.cfg.WhatsAppFrom
	if channel == "sms" {
		sender = a.cfg.From
		if a.cfg.MessagingServiceSID != "" {
			sender = a.cfg.MessagingServiceSID
		}
	}
	var b strings.Builder
	b.WriteString(channel)
	b.WriteByte('-')
	for _, r := range sender {
		if 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	if n := b.Len(); n == len(channel)+1 || n > 100 {
		return channel
	}
	return b.String()
}

var _ bot.Paced = (*Channel)(nil)

// ReportsDelivery implements bot.DeliveryReporter: Twilio's status callback
// says whether a message reached the phone.
func (c *Channel) ReportsDelivery() bool { return true }

// statusCallback is the status URL for a reply. A reply whose sender wants to
// know it arrived names itself in the query (reply id, sender's keyed hash,
// their reference: no personal data), and Twilio's signature covers it.
//
// A staff member's reply names its conversation, transcript entry and person
// (ids and a keyed hash again) and the way it went (via: sms, freeform,
// template), so the conversation shows its delivery status.
func (a *Adapter) statusCallback(r bot.Reply, via string) string {
	q := url.Values{}
	if r.ReceiptTo != "" {
		q.Set(receiptParam, r.ID+"."+r.ReceiptTo+"."+r.ReceiptRef)
	}
	if r.Entry != "" {
		q.Set(entryParam, r.Conv+"."+r.Entry+"."+a.p.Person(r.Channel, r.To))
		q.Set(viaParam, via)
	}
	if len(q) == 0 {
		return a.public + StatusPath
	}
	return a.public + StatusPath + "?" + q.Encode()
}

// Send delivers one reply (see the package documentation for the rules).
func (c *Channel) Send(ctx context.Context, r bot.Reply) error {
	if c.name == "whatsapp" {
		return c.a.sendWhatsApp(ctx, r)
	}
	return c.a.sendSMS(ctx, r, r.Destination())
}

// sendSMS sends a reply by SMS to an address: the reply's own on the SMS
// channel, the normalised number when a WhatsApp message falls back to SMS.
func (a *Adapter) sendSMS(ctx context.Context, r bot.Reply, to string) error {
	if !a.hasSMS() {
		return fmt.Errorf("%w: %w", errNoSender, bot.ErrRejected)
	}
	from := sender{from: a.cfg.From}
	if a.cfg.MessagingServiceSID != "" {
		from = sender{service: a.cfg.MessagingServiceSID}
	}
	parts, err := a.unsent(ctx, r.Unsure, to, from, a.layer.Texts("sms", r))
	if err != nil {
		return err
	}
	for i, part := range parts {
		p := &api.CreateMessageParams{}
		p.SetTo(to).SetBody(part).SetStatusCallback(a.statusCallback(r, sentAsSMS))
		if from.service != "" {
			p.SetMessagingServiceSid(from.service)
		} else {
			p.SetFrom(from.from)
		}
		// A part that failed is sent again with the parts after it; the
		// reply is then unsure, and the parts before it are not sent again.
		if err := a.create(ctx, p); err != nil {
			return partly(err, i)
		}
	}
	return nil
}

// partly marks a throttle that came after sent parts (i of them) as partial,
// so that the retry looks them up (bot.ErrThrottled.Partial); other failures
// make the retry unsure by themselves.
func partly(err error, sent int) error {
	var t *bot.ErrThrottled
	if sent > 0 && errors.As(err, &t) {
		t.Partial = true
	}
	return err
}

// Ways a WhatsApp message outside the 24-hour window goes.
const (
	sentAsTemplate = "template"
	sentAsSMS      = "sms"
	sentAsFreeform = "freeform"
)

func (a *Adapter) sendWhatsApp(ctx context.Context, r bot.Reply) error {
	person := a.p.Person("whatsapp", r.To)
	last, known := a.window.Last(person)
	if !known {
		// Not seen by this process (a restart, another process): the person's
		// session remembers when they last wrote on WhatsApp.
		at, ok, err := a.p.LastInbound(ctx, "whatsapp", r.To)
		if err != nil {
			return err // transient: the store will answer on a retry
		}
		last, known = at, ok
	}
	open := known && a.now().Sub(last) < windowLength
	// A reply answers a message that just came in, so an unknown window (after
	// a restart) is taken as open for it; a proactive message needs to know.
	if !open && (r.Proactive || known) {
		how := sentAsFreeform
		switch {
		case a.cfg.WhatsAppTemplate != "":
			how = sentAsTemplate
		case a.hasSMS():
			how = sentAsSMS
		}
		a.windowTotal.WithLabelValues(how).Inc()
		a.log.Info("whatsapp message outside the 24-hour window", "person", person[:min(12, len(person))], "proactive", r.Proactive, "sent_as", how)
		switch how {
		case sentAsTemplate:
			vars, err := json.Marshal(map[string]string{"1": templateText(a.layer.Text("whatsapp", r))})
			if err != nil {
				return fmt.Errorf("twilio: encoding template variables: %w", err)
			}
			p := &api.CreateMessageParams{}
			p.SetTo("whatsapp:" + r.Destination()).SetFrom(a.cfg.WhatsAppFrom).SetContentSid(a.cfg.WhatsAppTemplate).
				SetContentVariables(string(vars)).SetStatusCallback(a.statusCallback(r, sentAsTemplate))
			return a.create(ctx, p)
		case sentAsSMS:
			// It leaves from the SMS sender, so it draws from that
			// sender's budget (TWILIO_RATE), not only WhatsApp's.
			wait, err := a.p.TakeFrom(ctx, "sms", r)
			if err != nil {
				return err
			}
			if wait > 0 {
				return &bot.ErrThrottled{RetryAfter: wait}
			}
			return a.sendSMS(ctx, r, r.To)
		}
	}
	to := "whatsapp:" + r.Destination()
	parts, err := a.unsent(ctx, r.Unsure, to, sender{from: a.cfg.WhatsAppFrom}, a.layer.Texts("whatsapp", r))
	if err != nil {
		return err
	}
	for i, part := range parts {
		p := &api.CreateMessageParams{}
		p.SetTo(to).SetFrom(a.cfg.WhatsAppFrom).SetBody(part).SetStatusCallback(a.statusCallback(r, sentAsFreeform))
		if err := a.create(ctx, p); err != nil {
			return partly(err, i)
		}
	}
	return nil
}

// templateText fits a text into a template variable, which WhatsApp refuses
// with new lines, tabs or long runs of spaces, and caps at 1,024 characters.
func templateText(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > 1024 {
		s = string([]rune(s)[:1021]) + "..."
	}
	return s
}

// defaultRetryAfter is how long to wait after a 429 without a Retry-After.
const defaultRetryAfter = 2 * time.Second

// create makes one Messages API call, and maps its outcome to the
// pipeline's: nil, *bot.ErrThrottled, ErrUnreachable, ErrRejected, or a
// transient error. It never waits for a rate: the pipeline took the reply's
// cost from the sender's shared budget before it called Send.
func (a *Adapter) create(ctx context.Context, p *api.CreateMessageParams) error {
	svc, tr, cancel := a.service(ctx)
	defer cancel()
	_, err := svc.CreateMessage(p)
	return classify(err, tr.status, tr.retryAfter)
}

// service is a Messages API client for one call. twilio-go takes no
// context: a client per call carries ctx (and the call's deadline) into
// every request it makes, and its transport keeps what the call answered.
func (a *Adapter) service(ctx context.Context) (*api.ApiService, *callTransport, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
	tr := &callTransport{ctx: ctx, base: a.apiBase, next: a.cfg.Transport}
	c := &twclient.Client{
		Credentials: twclient.NewCredentials(a.cfg.AccountSID, a.cfg.AuthToken),
		HTTPClient: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}},
	}
	c.SetAccountSid(a.cfg.AccountSID)
	return api.NewApiServiceWithClient(c), tr, cancel
}

// classify maps a twilio-go error to the pipeline's outcomes. Its messages
// carry codes and statuses only: Twilio's own texts may quote the number.
func classify(err error, status int, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	var te *twclient.TwilioRestError
	if !errors.As(err, &te) {
		if status == http.StatusTooManyRequests {
			return throttled(retryAfter)
		}
		// Network trouble, a timeout, a proxy's HTML page: try again later.
		return fmt.Errorf("twilio: sending failed (HTTP %d): %w", status, err)
	}
	if te.Status == 0 {
		te.Status = status
	}
	switch {
	case te.Status == http.StatusTooManyRequests || te.Code == 20429:
		return throttled(retryAfter)
	case te.Code == codeUnsubscribed:
		return fmt.Errorf("twilio: error %d (HTTP %d): %w", te.Code, te.Status, bot.ErrOptedOut)
	case permanentCodes[te.Code]:
		return fmt.Errorf("twilio: error %d (HTTP %d): %w", te.Code, te.Status, bot.ErrUnreachable)
	case te.Status >= 500, te.Status == http.StatusUnauthorized, te.Status == http.StatusForbidden:
		// Twilio's trouble, or credentials an operator must fix: not this
		// message's fault, so it waits (with backoff) rather than being dropped.
		return fmt.Errorf("twilio: error %d (HTTP %d)", te.Code, te.Status)
	case te.Status >= 400:
		return fmt.Errorf("twilio: error %d (HTTP %d): %w", te.Code, te.Status, bot.ErrRejected)
	}
	return fmt.Errorf("twilio: error %d (HTTP %d)", te.Code, te.Status)
}

// throttled obeys the provider's Retry-After, or waits a little without one.
// Twilio counts requests per account, so the whole lane waits, not one recipient.
func throttled(retryAfter time.Duration) error {
	if retryAfter <= 0 {
		retryAfter = defaultRetryAfter
	}
	return &bot.ErrThrottled{RetryAfter: retryAfter, Lane: true}
}

// callTransport sends one API call's requests with its context, to the
// configured base URL, and keeps the status and Retry-After that twilio-go
// would otherwise discard.
type callTransport struct {
	ctx  context.Context
	base *url.URL
	next http.RoundTripper

	status     int
	retryAfter time.Duration
}

func (t *callTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(t.ctx)
	if t.base != nil {
		r.URL.Scheme, r.URL.Host, r.Host = t.base.Scheme, t.base.Host, t.base.Host
		r.URL.Path = strings.TrimSuffix(t.base.Path, "/") + r.URL.Path
		r.URL.RawPath = ""
	}
	resp, err := t.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.status = resp.StatusCode
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		t.retryAfter = time.Duration(s) * time.Second
	}
	return resp, nil
}
