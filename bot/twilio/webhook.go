package twilio

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/bot/phone"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/store"
)

// A webhook's body is read before its signature can be checked, so anyone
// may send one: the adapter reads little. An inbound message's fields other
// than Body take under 2 KiB. Body is at most 1,600 characters as Twilio
// counts them (UTF-16 units): percent-encoded, at most 9 bytes each (3-byte
// UTF-8; an emoji is 2 units and 12 bytes), 14,400 bytes. So 16 KiB holds
// any message Twilio can deliver, and 512 connections at it cost 8 MiB.
// Status callbacks carry no text: 4 KiB. Bigger bodies get 413.
const (
	MaxInboundBody = 16 << 10
	MaxStatusBody  = 4 << 10
)

// emptyTwiML answers an inbound message without replying through TwiML:
// replies go through the REST API and the outbox.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// storeTimeout bounds the store calls one webhook makes, well inside
// Twilio's 15-second webhook timeout.
const storeTimeout = 10 * time.Second

// verify reads a webhook's body, at most max bytes, and checks its
// X-Twilio-Signature; it answers 400, 403 or 413 itself and returns false
// when the request must go no further. A request without a signature, or
// that says it is bigger than max, is refused before its body is read.
func (a *Adapter) verify(w http.ResponseWriter, r *http.Request, max int64) (url.Values, bool) {
	sig := r.Header.Get("X-Twilio-Signature")
	if sig == "" {
		a.log.Warn("twilio webhook without a signature refused", "path", r.URL.Path)
		http.Error(w, "invalid signature", http.StatusForbidden)
		return nil, false
	}
	if r.ContentLength > max {
		a.log.Warn("twilio webhook too large refused unread", "path", r.URL.Path, "bytes", r.ContentLength)
		http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "request too large", http.StatusRequestEntityTooLarge)
		} else {
			http.Error(w, "cannot read request", http.StatusBadRequest)
		}
		return nil, false
	}
	if !a.validSignature(r.URL, body, sig) {
		a.log.Warn("twilio webhook with a wrong signature refused", "path", r.URL.Path)
		http.Error(w, "invalid signature", http.StatusForbidden)
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return nil, false
	}
	return form, true
}

// validSignature checks a signature with twilio-go's validator against the URL
// Twilio signed: the public URL plus the request's path and query. Twilio's
// libraries percent-encode a raw quote or space in the query before signing,
// so that form is tried too.
func (a *Adapter) validSignature(u *url.URL, body []byte, sig string) bool {
	candidates := []string{a.public + u.RequestURI()}
	if q := escapeQuery(u.RawQuery); q != u.RawQuery {
		candidates = append(candidates, a.public+u.EscapedPath()+"?"+q)
	}
	for _, full := range candidates {
		if strings.Contains(full, "bodySHA256=") {
			// JSON webhooks sign the URL and carry the body's hash in it.
			if a.validator.ValidateBody(full, body, sig) {
				return true
			}
			continue
		}
		params, err := signedParams(body)
		if err != nil {
			return false
		}
		if a.validator.Validate(full, params, sig) {
			return true
		}
	}
	return false
}

// signedParams turns a form body into the map twilio-go's Validate takes. A
// name given several times is signed once per value (values sorted, repeats
// dropped); folding the later values into the first one's string
// ("v1" + name + "v2") gives Validate the very same string to sign.
func signedParams(body []byte) (map[string]string, error) {
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, err
	}
	params := make(map[string]string, len(form))
	for k, vs := range form {
		vs = slices.Clone(vs)
		sort.Strings(vs)
		params[k] = strings.Join(slices.Compact(vs), k)
	}
	return params, nil
}

// escapeQuery percent-encodes what a WHATWG URL parser encodes in the query
// of an http(s) URL: controls, space, ", #, ', <, > and non-ASCII bytes.
func escapeQuery(q string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(q); i++ {
		c := q[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"#'<>", c) >= 0 {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// handleInbound takes one inbound SMS or WhatsApp message.
func (a *Adapter) handleInbound(w http.ResponseWriter, r *http.Request) {
	form, ok := a.verify(w, r, MaxInboundBody)
	if !ok {
		return
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsMessageSid")
	}
	channel, number, replyTo, err := phone.Address(form.Get("From"))
	if sid == "" || err != nil {
		// Never log the address itself.
		a.log.Warn("twilio inbound message without a usable MessageSid or From number", "has_sid", sid != "", "err", err)
		http.Error(w, "missing MessageSid or invalid From", http.StatusBadRequest)
		return
	}
	if channel == "whatsapp" && a.cfg.WhatsAppFrom == "" || channel == "sms" && !a.hasSMS() {
		a.log.Warn("twilio message on a channel this service does not send on; answered nothing", "channel", channel)
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	now := a.now()
	if channel == "whatsapp" {
		a.window.Seen(a.p.Person(channel, number), now)
	}
	// The number is who the person is; replyTo, where WhatsApp delivers to
	// them when it writes the number otherwise (+521… for a Mexican mobile).
	m := bot.Message{Channel: channel, ID: sid, From: number, ReplyTo: replyTo, Input: inputOf(form), Received: now}
	outcome, err := a.layer.Take(ctx, a.p, m)
	if err != nil {
		a.log.Error("could not record a twilio message; answering 503 so Twilio tries again (or its fallback URL)",
			"channel", channel, "person", a.logID(channel, number), "err", err)
		http.Error(w, "could not record the message", http.StatusServiceUnavailable)
		return
	}
	a.log.Debug("twilio inbound", "channel", channel, "person", a.logID(channel, number), "outcome", outcome)
	w.Header().Set("Content-Type", "text/xml")
	io.WriteString(w, emptyTwiML)
}

// inputOf reads what a message carries. Media is never downloaded: a message
// with media and no text is InputMedia, which the conversation answers
// briefly; with text (a caption) the text is what counts.
func inputOf(form url.Values) flows.Input {
	lat, errLat := strconv.ParseFloat(form.Get("Latitude"), 64)
	lon, errLon := strconv.ParseFloat(form.Get("Longitude"), 64)
	if errLat == nil && errLon == nil && math.Abs(lat) <= 90 && math.Abs(lon) <= 180 {
		return flows.Input{Kind: flows.InputLocation, Lat: lat, Lon: lon}
	}
	body := strings.TrimSpace(form.Get("Body"))
	if n, _ := strconv.Atoi(form.Get("NumMedia")); n > 0 && body == "" {
		return flows.Input{Kind: flows.InputMedia}
	}
	if body == "" && form.Get("MessageType") != "" && form.Get("MessageType") != "text" {
		return flows.Input{Kind: flows.InputMedia} // a sticker, a contact card, a reaction...
	}
	return flows.Input{Kind: flows.InputText, Text: body}
}

// permanentCodes are Twilio error codes after which the address will not be
// reached by trying again (until it writes to Enlace). 30003 (handset off or
// out of coverage) is not one: the phone is back some time later, and the
// next message must be tried.
var permanentCodes = map[int]bool{
	21211:            true, // invalid 'To' number
	codeUnsubscribed: true, // the recipient replied STOP
	21612:            true, // no route to the 'To' number
	21614:            true, // not a mobile number
	30005:            true, // unknown or inactive destination
	30006:            true, // landline or unreachable carrier
	63003:            true, // WhatsApp: no such user
}

// codeUnsubscribed is Twilio refusing to send to a number that replied STOP:
// only its START lifts that.
const codeUnsubscribed = 21610

// codeOutsideWindow is WhatsApp refusing a free-form message outside the
// 24-hour window: the number is reachable, with a template.
const codeOutsideWindow = 63016

var knownStatuses = map[string]bool{
	"queued": true, "sending": true, "sent": true, "delivered": true, "undelivered": true,
	"failed": true, "read": true, "accepted": true, "scheduled": true, "canceled": true,
}

// receiptParam names, in a status callback's query, the reply whose sender
// waits to hear whether it arrived (see Adapter.statusCallback).
const receiptParam = "rcpt"

// entryParam and viaParam name, in a status callback's query, the transcript
// entry a staff member's reply delivers and how it went.
const (
	entryParam = "entry"
	viaParam   = "via"
)

// reportEntry records Twilio's status of a staff member's reply on its
// transcript entry; a reference Enlace did not write is ErrBadReceipt.
func (a *Adapter) reportEntry(r *http.Request, status, errorCode string) error {
	v := r.URL.Query().Get(entryParam)
	if v == "" || status == "" {
		return nil
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 || !store.ValidName(parts[0]) || !store.ValidName(parts[1]) || !store.ValidName(parts[2]) {
		return bot.ErrBadReceipt
	}
	st := bot.EntryStatus{Status: status, Via: r.URL.Query().Get(viaParam)}
	if errorCode != "" && errorCode != "0" {
		st.Error = "twilio " + errorCode
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	return a.p.EntryStatus(ctx, parts[2], parts[0], parts[1], st)
}

// reportReceipt tells the sender of a reply that it arrived, or that it did
// not, once Twilio knows for sure.
func (a *Adapter) reportReceipt(r *http.Request, status string) error {
	v := r.URL.Query().Get(receiptParam)
	if v == "" {
		return nil
	}
	var delivered bool
	switch status {
	case "delivered", "read":
		delivered = true
	case "undelivered", "failed":
	default:
		return nil // not known yet
	}
	parts := strings.SplitN(v, ".", 3)
	if len(parts) != 3 {
		return bot.ErrBadReceipt
	}
	ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
	defer cancel()
	return a.p.Receipt(ctx, parts[1], parts[0], parts[2], delivered)
}

// handleStatus records a delivery status callback.
func (a *Adapter) handleStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := a.verify(w, r, MaxStatusBody)
	if !ok {
		return
	}
	status := form.Get("MessageStatus")
	if status == "" {
		status = form.Get("SmsStatus")
	}
	channel, number, err := parseAddress(form.Get("To"))
	if err != nil {
		a.log.Warn("twilio status callback without a usable To number", "status", status)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	label := status
	if !knownStatuses[label] {
		label = "other"
	}
	a.statusTotal.WithLabelValues(channel, label).Inc()
	err = a.reportReceipt(r, status)
	if err == nil {
		err = a.reportEntry(r, status, form.Get("ErrorCode"))
	}
	if errors.Is(err, bot.ErrBadReceipt) {
		// Signed, so Twilio sent it, but the reference is not one Enlace
		// wrote: a 5xx would have Twilio retry it for ever. The reference
		// itself may hold a person's hash: it is not logged.
		a.log.Warn("twilio status callback with a malformed receipt reference; no receipt recorded", "channel", channel, "status", label)
	} else if err != nil {
		a.log.Error("could not record a delivery receipt; answering 503 so Twilio tries again", "channel", channel, "err", err)
		http.Error(w, "could not record the status", http.StatusServiceUnavailable)
		return
	}
	code, _ := strconv.Atoi(form.Get("ErrorCode"))
	person := a.logID(channel, number)
	switch {
	case permanentCodes[code]:
		ctx, cancel := context.WithTimeout(r.Context(), storeTimeout)
		defer cancel()
		if err := a.p.SetReachable(ctx, channel, number, false); err != nil {
			a.log.Error("could not mark a number unreachable; answering 503 so Twilio tries again", "channel", channel, "person", person, "err", err)
			http.Error(w, "could not record the status", http.StatusServiceUnavailable)
			return
		}
		a.log.Warn("twilio delivery failed for good; number marked unreachable", "channel", channel, "person", person, "status", status, "error_code", code)
	case code == codeOutsideWindow:
		a.window.Seen(a.p.Person(channel, number), time.Time{}) // closed: use the template from now on
		a.log.Warn("whatsapp message refused outside the 24-hour window", "person", person, "status", status, "error_code", code)
	case code != 0:
		a.log.Warn("twilio delivery problem", "channel", channel, "person", person, "status", status, "error_code", code)
	default:
		a.log.Debug("twilio status", "channel", channel, "person", person, "status", status)
	}
	w.WriteHeader(http.StatusNoContent)
}
