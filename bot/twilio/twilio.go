package twilio

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	twclient "github.com/twilio/twilio-go/client"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/flows"
)

// Pipeline is what the adapter needs from the pipeline; *bot.Pipeline is it.
type Pipeline interface {
	phone.Pipeline // what the shared phone layer needs
	Person(channel, address string) string
	Receipt(ctx context.Context, person, id, ref string, delivered bool) error
	EntryStatus(ctx context.Context, person, conv, entry string, st bot.EntryStatus) error
	LastInbound(ctx context.Context, channel, address string) (time.Time, bool, error)
	TakeFrom(ctx context.Context, channel string, r bot.Reply) (time.Duration, error)
}

var _ Pipeline = (*bot.Pipeline)(nil)

// Config configures the adapter.
type Config struct {
	AccountSID string // TWILIO_ACCOUNT_SID
	AuthToken  string // TWILIO_AUTH_TOKEN: signs webhooks and authenticates API calls
	// From is the SMS sender number (E.164), or MessagingServiceSID a
	// Messaging Service that picks one. One of them enables the "sms" channel.
	From                string
	MessagingServiceSID string
	// WhatsAppFrom ("whatsapp:+…") enables the "whatsapp" channel.
	WhatsAppFrom string
	// WhatsAppTemplate is the ContentSid (HX…) of an approved template with one
	// variable, {{1}}, used for proactive WhatsApp messages outside the 24-hour
	// window. Without it those go by SMS.
	WhatsAppTemplate string
	// APIURL replaces https://api.twilio.com (tests, proxies).
	APIURL string
	// PublicURL is the address Twilio reaches this service at, as configured
	// in the Twilio console (scheme and host, maybe a path prefix). Webhook
	// signatures are checked against it and status callbacks point to it.
	PublicURL string
	// Rate is the most messages per second sent from each sender (1 for a
	// long code): the budget of the sender's delivery lane, shared by every
	// process (bot.Paced).
	Rate float64
	// GSM7 transliterates SMS texts to the GSM-7 alphabet (á→a), halving their cost.
	GSM7 bool
	// Timeout bounds one API call (15s).
	Timeout time.Duration
	// Window remembers when WhatsApp numbers last wrote (in memory when nil).
	Window Window
	// Catalog renders the adapter's own texts and holds the opt-out words.
	Catalog flows.Catalog
	Logger  *slog.Logger     // slog.Default() when nil
	Clock   func() time.Time // time.Now when nil
	// Sleep is kept for callers that set it; the adapter no longer waits
	// for a rate (the pipeline paces by the shared budget).
	//
	// Deprecated: unused.
	Sleep func(ctx context.Context, d time.Duration) error
	// Transport sends API requests (http.DefaultTransport when nil).
	Transport http.RoundTripper
}

// Adapter is the Twilio connection: webhooks in, two channels out.
type Adapter struct {
	cfg       Config
	p         Pipeline
	log       *slog.Logger
	now       func() time.Time
	validator twclient.RequestValidator // pointer receivers: kept addressable here
	public    string                    // PublicURL without a trailing slash
	apiBase   *url.URL                  // nil: Twilio's own
	window    Window
	layer     *phone.Layer // opt-out and HELP words in, phone rendering out

	statusTotal *prometheus.CounterVec
	windowTotal *prometheus.CounterVec
	// reconciled counts unsure parts found already sent (reconcile.go).
	reconciled prometheus.Counter
}

// New checks cfg and builds an adapter that records messages in p.
func New(cfg Config, p Pipeline) (*Adapter, error) {
	var errs []string
	if cfg.AccountSID == "" {
		errs = append(errs, "TWILIO_ACCOUNT_SID is empty")
	}
	if cfg.AuthToken == "" {
		errs = append(errs, "TWILIO_AUTH_TOKEN is empty")
	}
	if cfg.From == "" && cfg.MessagingServiceSID == "" && cfg.WhatsAppFrom == "" {
		errs = append(errs, "set TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID (SMS), and/or TWILIO_WHATSAPP_FROM")
	}
	if cfg.From != "" && !strings.HasPrefix(cfg.From, "+") {
		errs = append(errs, "TWILIO_FROM must be a number in E.164 form (+…)")
	}
	if cfg.WhatsAppFrom != "" && !strings.HasPrefix(cfg.WhatsAppFrom, "whatsapp:+") {
		errs = append(errs, "TWILIO_WHATSAPP_FROM must look like whatsapp:+…")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if cfg.PublicURL == "" || err != nil || (pub.Scheme != "https" && pub.Scheme != "http") || pub.Host == "" || pub.RawQuery != "" {
		errs = append(errs, "ENLACE_PUBLIC_URL must be the service's public base URL, like https://enlace.example.org")
	}
	var api *url.URL
	if cfg.APIURL != "" {
		api, err = url.Parse(cfg.APIURL)
		if err != nil || api.Scheme == "" || api.Host == "" {
			errs = append(errs, "TWILIO_API_URL must be a base URL like http://127.0.0.1:9000")
		}
	}
	if cfg.Rate <= 0 {
		errs = append(errs, "TWILIO_RATE must be a positive number of messages per second")
	}
	if cfg.Catalog == nil {
		errs = append(errs, "no catalog")
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("twilio: %s", strings.Join(errs, "; "))
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 15 * time.Second
	}
	if cfg.Transport == nil {
		cfg.Transport = http.DefaultTransport
	}
	a := &Adapter{
		cfg: cfg, p: p, log: cfg.Logger, now: cfg.Clock,
		validator: twclient.NewRequestValidator(cfg.AuthToken),
		public:    strings.TrimSuffix(cfg.PublicURL, "/"),
		apiBase:   api,
		window:    cfg.Window,
		layer:     phone.New(cfg.Catalog, cfg.GSM7),
		statusTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enlace_twilio_status_total",
			Help: "Twilio delivery status callbacks by channel and status (queued, sent, delivered, undelivered, failed, read, other).",
		}, []string{"channel", "status"}),
		windowTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "enlace_twilio_whatsapp_outside_window_total",
			Help: "WhatsApp messages due outside the 24-hour window, by how they were sent (template, sms, freeform).",
		}, []string{"sent_as"}),
		reconciled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "enlace_twilio_already_sent_total",
			Help: "Message parts not sent again because Twilio's message list showed that an earlier, interrupted attempt had sent them.",
		}),
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.window == nil {
		a.window = NewMemoryWindow()
	}
	return a, nil
}

// Channels returns the channels the configuration enables: "sms" with a sender
// number or Messaging Service, "whatsapp" with a WhatsApp sender.
func (a *Adapter) Channels() []bot.Channel {
	var out []bot.Channel
	if a.hasSMS() {
		out = append(out, &Channel{a: a, name: "sms"})
	}
	if a.cfg.WhatsAppFrom != "" {
		out = append(out, &Channel{a: a, name: "whatsapp"})
	}
	return out
}

func (a *Adapter) hasSMS() bool { return a.cfg.From != "" || a.cfg.MessagingServiceSID != "" }

// Webhook paths, relative to the public URL.
const (
	InboundPath = "/webhooks/twilio"
	StatusPath  = "/webhooks/twilio/status"
)

// Register adds the two webhooks to mux.
func (a *Adapter) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST "+InboundPath, a.handleInbound)
	mux.HandleFunc("POST "+StatusPath, a.handleStatus)
}

// Collectors are the adapter's Prometheus metrics, for the caller to register.
func (a *Adapter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{a.statusTotal, a.windowTotal, a.reconciled}
}

// logID is how a number appears in logs: the start of its person's keyed hash.
func (a *Adapter) logID(channel, number string) string {
	h := a.p.Person(channel, number)
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// errNoSender is returned when a message must go by SMS but no SMS sender is set.
var errNoSender = errors.New("twilio: no SMS sender configured (TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID)")
