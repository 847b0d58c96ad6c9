package main

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/languages"
)

// option is one environment variable Enlace reads. allOptions is the one
// source of the README's configuration table (`enlace config` prints it; a test
// keeps README.md in step).
type option struct {
	Name, Default, Meaning string
}

// allOptions is every variable: the service's own, then each channel's.
func allOptions() []option {
	return slices.Concat(options, webhookOptions, telegramOptions(), twilioOptions())
}

// webhookOptions serve every channel that takes webhooks.
var webhookOptions = []option{
	{"ENLACE_PUBLIC_URL", "", "The public HTTPS address of `serve` (e.g. `https://enlace.example.org`), where providers post webhooks."},
}

// options are the service's own variables.
var options = []option{
	{"ENLACE_DATA_DIR", "./enlace-data", "Directory of the embedded store (bbolt), used when `REDIS_URL` is unset. `--data DIR` overrides it."},
	{"REDIS_URL", "", "Redis to use instead of the embedded store: `redis://[:password@]host:port/db`, `rediss://` for TLS, a cluster as `redis://host1:port?addr=host2:port&addr=host3:port`, or a Sentinel-managed primary as `redis://sentinel1:26379?master_name=NAME&addr=sentinel2:26379&password=PRIMARY_PASSWORD` (the URL's own user and password are the Sentinels'). Add `wait_replicas=N` (not for a cluster) to have accepting a message and sending a reply wait until N replicas have what they depend on (see \"How a message flows\")."},
	{"ENLACE_SECRET_KEY", "", "Keys that encrypt personal data at rest (AES-256-GCM): `id:base64key[,oldid:base64key...]`, newest first; the first seals, all open. The entry `hash:base64key` (else the last entry) makes the keyed hashes records are found by: it never moves when keys rotate. Required by `serve`; `enlace keygen` makes one; rotation in README, Personal data. `chat` creates a local one in the data directory if unset, and says so."},
	{"ENLACE_ADDR", ":8080", "Address `serve` listens on: the providers' webhooks, `/healthz` (the process runs) and `/readyz` (the store answers; 503 while `serve` still waits for Redis). `enlace healthcheck` asks this address."},
	{"ENLACE_METRICS_ADDR", "127.0.0.1:9090", "Address of the Prometheus `/metrics` endpoint, never served on `ENLACE_ADDR`: queue lengths and dead letters are nobody's business outside. Loopback by default; `:9090` in a container for a scraper on its network; `off` turns it off."},
	{"ENLACE_MAX_CONNECTIONS", "512", "Most connections each listener (`ENLACE_ADDR`, `ENLACE_METRICS_ADDR`, `ENLACE_CONSOLE_ADDR`) keeps open at once; the next waits until one closes (idle ones close after 60s)."},
	{"ENLACE_SESSION_TTL", "2160h", "How long the data of a person who stops writing is kept (90 days) before it expires."},
	{"ENLACE_DIALOG_TIMEOUT", "30m", "How long a half-finished dialog may sit idle before the next message starts over at the menu."},
	{"ENLACE_DEDUPE_TTL", "48h", "How long a channel's message id is remembered, so a redelivered message is handled once."},
	{"ENLACE_RETRY_FOR", "12h", "How long a reply that fails for a passing reason (the provider is down, a timeout, a 5xx) is retried, from its first failed attempt, before it becomes a dead letter. Tries back off from 2s, doubling (2s, 4s, 8s...), to at most 10m apart; the last try is when the time runs out. Dead letters that gave up this way are replayed by themselves once their channel delivers again (README, Delivery)."},
	{"ENLACE_RETRY_FOR_SMS", "", "`ENLACE_RETRY_FOR` for SMS only (unset: `ENLACE_RETRY_FOR`)."},
	{"ENLACE_RETRY_FOR_WHATSAPP", "", "`ENLACE_RETRY_FOR` for WhatsApp only (unset: `ENLACE_RETRY_FOR`)."},
	{"ENLACE_RETRY_FOR_TELEGRAM", "", "`ENLACE_RETRY_FOR` for Telegram only (unset: `ENLACE_RETRY_FOR`)."},
	{"ENLACE_WORKERS", "4", "Concurrent pipeline workers in `serve`."},
	{"ENLACE_LANE_WORKERS", "8", "Concurrent delivery workers per lane (each sender: the Telegram bot, a Twilio number or Messaging Service) in `serve`; a provider call takes a round trip, so a lane of 30 messages a second needs several."},
	{"ENLACE_SEND_TIMEOUT", "20s", "How long one call to a provider may take before it counts as failed and is retried (must be under the 30 s person lock)."},
	{"ENLACE_ACK_TIMEOUT", "10s", "How long the store writes after a provider accepted a message may take, on a deadline of their own and each tried again until then if it fails (a Redis failover), so a slow provider never makes the acknowledgement fail and the message go twice."},
	{"ENLACE_SHUTDOWN_TIMEOUT", "30s", "How long `serve` waits for in-flight work on SIGTERM or SIGINT."},
	{"ENLACE_LOG_LEVEL", "info", "Log level: debug, info, warn or error. Logs are JSON on stderr and never contain personal data."},
	{"ENLACE_CHECKIN_GRACE", "1h", "How long after a missed check-in deadline the person's safe contacts are warned and an escalation is recorded."},
	{"ENLACE_CHECKIN_REMINDER", "1h", "How long before a check-in deadline the person is reminded (at most half of a recurring check-in's interval)."},
	{"ENLACE_SAFE_MESSAGES_PER_DAY", "3", "How many \"I am safe\" messages each safe contact may get in 24 hours; more are refused, and the person is told why."},
	{"ENLACE_VOLUNTEER_WAIT", "", "How soon a volunteer usually reads a request (e.g. `12h`), as the people running Enlace know it. People who ask for a person are told \"usually within 12 hours, but it can take longer\"; unset, they are told nobody can say when. Never a promise."},
	// Staff console (see README "Staff and the console").
	{"ENLACE_CONSOLE_ADDR", "127.0.0.1:8081", "Address the staff console and its API (`/api/v1`) listen on, apart from the webhooks, so it can stay behind a VPN or a TLS proxy. `off` turns it off."},
	{"ENLACE_TRUSTED_PROXIES", "", "Addresses or networks of the reverse proxies in front of the console (e.g. `10.0.0.0/8,192.168.1.7`). Only from them is `X-Forwarded-For` believed, read from the right, for the client address in the audit log and the login limits; unset: the connection's own address."},
	{"ENLACE_CONSOLE_URL", "", "The HTTPS address staff open the console at (e.g. `https://console.example.org`), used in enrolment links. Defaults to `ENLACE_PUBLIC_URL`, else `http://localhost:PORT`."},
	{"ENLACE_STAFF_IDLE_TIMEOUT", "30m", "A console session ends after this long without a request."},
	{"ENLACE_STAFF_SESSION_MAX", "12h", "A console session ends this long after login, however busy."},
	{"ENLACE_VOLUNTEER_HOURS", "", "When volunteers are on duty, each span in its own time zone: `America/Mexico_City Mon-Fri 09:00-18:00; America/Tijuana Sat 10:00-14:00`. Outside them, people who ask for a person are told nobody is on duty, from when someone will read their message (with the zone), and the emergency numbers. Unset: nothing is said about duty."},
	{"ENLACE_VOLUNTEER_CHAT", "", "A Telegram chat id of the volunteers on duty (a group: `-100…`; add the bot to it). Each new conversation in the inbox is announced there by its language and reason, never anything about the person. Needs `TELEGRAM_BOT_TOKEN`."},
	{"ENLACE_VOLUNTEER_CHAT_LANG", "es", "Language of the announcements in `ENLACE_VOLUNTEER_CHAT`: es, en, fr, ht or pt."},
	{"ENLACE_CLAIM_TIMEOUT", "15m", "How long a volunteer's claim of a conversation lasts without a reply before it goes back to the queue for someone else."},
	{"ENLACE_TRANSCRIPT_TTL", "720h", "How long a closed conversation with a volunteer, and what was written in it, is kept (30 days) before it expires. Erasing the person removes it at once."},
	{"ENLACE_CASE_RETENTION", "4320h", "How long a tracing case is kept after it is closed (180 days) before it and everything about it expire. Erasing the person withdraws their cases at once."},
	{"ENLACE_AUDIT_TTL", "8760h", "How long audit log entries are kept (365 days) before they expire."},
}

// retryChannels are the channels ENLACE_RETRY_FOR_<CHANNEL> is read for.
var retryChannels = []string{"sms", "whatsapp", "telegram"}

// config is the parsed environment, read once in main and passed down.
type config struct {
	DataDir         string
	RedisURL        string
	SecretKey       string
	Addr            string
	MetricsAddr     string // "off": none
	MaxConnections  int
	SessionTTL      time.Duration
	DialogTimeout   time.Duration
	DedupeTTL       time.Duration
	RetryFor        time.Duration
	RetryForChannel map[string]time.Duration
	Workers         int
	LaneWorkers     int
	SendTimeout     time.Duration
	AckTimeout      time.Duration
	ShutdownTimeout time.Duration
	LogLevel        string
	CheckinGrace    time.Duration
	CheckinReminder time.Duration
	SafePerDay      int
	VolunteerWait   time.Duration // 0: unknown
	VolunteerHours  flows.Hours
	ClaimTimeout    time.Duration
	VolunteerChat   string
	VolunteerLang   string
	TranscriptTTL   time.Duration
	CaseRetention   time.Duration
	ConsoleAddr     string
	ConsoleURL      string
	TrustedProxies  []netip.Prefix
	StaffIdle       time.Duration
	StaffSessionMax time.Duration
	AuditTTL        time.Duration

	// getenv reads the options a channel parses itself (see serveChannels).
	getenv func(string) string
}

// get returns an option's value, or its default from the options table.
func (c config) get(name string) string {
	if c.getenv != nil {
		if v := strings.TrimSpace(c.getenv(name)); v != "" {
			return v
		}
	}
	for _, o := range allOptions() {
		if o.Name == name {
			return o.Default
		}
	}
	panic("undeclared option " + name)
}

func loadConfig(getenv func(string) string) (config, error) {
	c := config{getenv: getenv}
	get := c.get
	var errs []string
	dur := func(name string) time.Duration {
		d, err := time.ParseDuration(get(name))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("%s: want a positive duration like 30m or 48h", name))
		}
		return d
	}
	num := func(name string) int {
		n, err := strconv.Atoi(get(name))
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Sprintf("%s: want a positive whole number", name))
		}
		return n
	}
	c.DataDir = get("ENLACE_DATA_DIR")
	c.RedisURL = get("REDIS_URL")
	c.SecretKey = get("ENLACE_SECRET_KEY")
	c.Addr = get("ENLACE_ADDR")
	c.MetricsAddr = get("ENLACE_METRICS_ADDR")
	c.MaxConnections = num("ENLACE_MAX_CONNECTIONS")
	c.SessionTTL = dur("ENLACE_SESSION_TTL")
	c.DialogTimeout = dur("ENLACE_DIALOG_TIMEOUT")
	c.DedupeTTL = dur("ENLACE_DEDUPE_TTL")
	c.RetryFor = dur("ENLACE_RETRY_FOR")
	c.RetryForChannel = map[string]time.Duration{}
	for _, ch := range retryChannels {
		if name := "ENLACE_RETRY_FOR_" + strings.ToUpper(ch); get(name) != "" {
			c.RetryForChannel[ch] = dur(name)
		}
	}
	if getenv != nil && strings.TrimSpace(getenv("ENLACE_MAX_ATTEMPTS")) != "" {
		errs = append(errs, "ENLACE_MAX_ATTEMPTS: no longer read; set ENLACE_RETRY_FOR, how long to retry (e.g. 12h)")
	}
	c.Workers = num("ENLACE_WORKERS")
	c.LaneWorkers = num("ENLACE_LANE_WORKERS")
	c.SendTimeout = dur("ENLACE_SEND_TIMEOUT")
	c.AckTimeout = dur("ENLACE_ACK_TIMEOUT")
	if c.SendTimeout >= 30*time.Second {
		errs = append(errs, "ENLACE_SEND_TIMEOUT: want less than 30s, the person lock a delivery holds")
	}
	c.ShutdownTimeout = dur("ENLACE_SHUTDOWN_TIMEOUT")
	c.LogLevel = get("ENLACE_LOG_LEVEL")
	c.CheckinGrace = dur("ENLACE_CHECKIN_GRACE")
	c.CheckinReminder = dur("ENLACE_CHECKIN_REMINDER")
	c.SafePerDay = num("ENLACE_SAFE_MESSAGES_PER_DAY")
	if v := get("ENLACE_VOLUNTEER_WAIT"); v != "" {
		c.VolunteerWait = dur("ENLACE_VOLUNTEER_WAIT")
	}
	if h, err := flows.ParseHours(get("ENLACE_VOLUNTEER_HOURS")); err != nil {
		errs = append(errs, "ENLACE_VOLUNTEER_HOURS: "+err.Error())
	} else {
		c.VolunteerHours = h
	}
	c.ConsoleAddr = get("ENLACE_CONSOLE_ADDR")
	c.ConsoleURL = strings.TrimRight(get("ENLACE_CONSOLE_URL"), "/")
	if tp, err := console.ParseTrustedProxies(get("ENLACE_TRUSTED_PROXIES")); err != nil {
		errs = append(errs, "ENLACE_TRUSTED_PROXIES: want addresses or networks like 10.0.0.0/8, comma-separated")
	} else {
		c.TrustedProxies = tp
	}
	c.StaffIdle = dur("ENLACE_STAFF_IDLE_TIMEOUT")
	c.StaffSessionMax = dur("ENLACE_STAFF_SESSION_MAX")
	c.AuditTTL = dur("ENLACE_AUDIT_TTL")
	c.ClaimTimeout = dur("ENLACE_CLAIM_TIMEOUT")
	c.VolunteerChat = get("ENLACE_VOLUNTEER_CHAT")
	if c.VolunteerChat != "" {
		if _, err := strconv.ParseInt(c.VolunteerChat, 10, 64); err != nil {
			errs = append(errs, "ENLACE_VOLUNTEER_CHAT: want a Telegram chat id, a whole number like -1001234567890")
		}
	}
	c.VolunteerLang = get("ENLACE_VOLUNTEER_CHAT_LANG")
	if !languages.Has(c.VolunteerLang) {
		errs = append(errs, "ENLACE_VOLUNTEER_CHAT_LANG: want one of es, en, fr, ht, pt")
	}
	c.TranscriptTTL = dur("ENLACE_TRANSCRIPT_TTL")
	c.CaseRetention = dur("ENLACE_CASE_RETENTION")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, "ENLACE_LOG_LEVEL: want debug, info, warn or error")
	}
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// configTable renders the options as the README's markdown table.
func configTable() string {
	var b strings.Builder
	b.WriteString("| variable | default | meaning |\n|---|---|---|\n")
	for _, o := range allOptions() {
		def := "(unset)"
		if o.Default != "" {
			def = "`" + o.Default + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", o.Name, def, o.Meaning)
	}
	return b.String()
}
