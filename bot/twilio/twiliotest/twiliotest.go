// Package twiliotest plays Twilio for tests and for `enlace loadtest` (it
// needs only TB, not package testing): it signs webhook posts the way
// Twilio does, independently of twilio-go, and runs a local Messages API
// (POST /2010-04-01/Accounts/{Sid}/Messages.json) that checks every form field
// against the real API's create schema and answers with real bodies, and
// lists what it created (GET …/Messages.json, by To and From, newest first)
// as the real list does.
package twiliotest

import (
	"crypto/hmac"
	"crypto/sha1"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TB is what the stand-in needs of a test: testing.TB has it, and so has
// the load generator (loadtest), which runs the stand-in outside a test and
// reports what it refused instead of failing.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Sign returns the X-Twilio-Signature of a POST to fullURL with form:
// base64(HMAC-SHA1(authToken, fullURL + every parameter name followed by its
// value, names sorted; a repeated name once per value, values sorted and
// duplicates dropped)), as Twilio's own libraries compute it.
func Sign(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vs := slices.Clone(form[k])
		sort.Strings(vs)
		for _, v := range slices.Compact(vs) {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Post sends form to target (the server's address and path) with a signature
// (see Sign), and returns the status and body. An empty signature is sent as
// no header at all.
func Post(tb TB, target, signature string, form url.Values) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		tb.Fatalf("twiliotest: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if signature != "" {
		req.Header.Set("X-Twilio-Signature", signature)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("twiliotest: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("twiliotest: %v", err)
	}
	return resp.StatusCode, string(body)
}

//go:embed messages_create.json
var createSchemaJSON []byte

type fieldSchema struct {
	Type    string   `json:"type"`
	Pattern string   `json:"pattern"`
	Enum    []string `json:"enum"`
}

var createSchema = func() (s struct {
	AccountSid fieldSchema            `json:"account_sid"`
	Required   []string               `json:"required"`
	Properties map[string]fieldSchema `json:"properties"`
	Example    map[string]any         `json:"example_201"`
}) {
	if err := json.Unmarshal(createSchemaJSON, &s); err != nil {
		panic("twiliotest: messages_create.json: " + err.Error())
	}
	return s
}()

// patterns are the schema's patterns, compiled once: the stand-in answers
// every message of a load test.
var patterns = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{createSchema.AccountSid.Pattern: regexp.MustCompile(createSchema.AccountSid.Pattern)}
	for _, f := range createSchema.Properties {
		if f.Pattern != "" {
			m[f.Pattern] = regexp.MustCompile(f.Pattern)
		}
	}
	return m
}()

// Call is one Messages create request the stand-in received.
type Call struct {
	AccountSid string
	Form       url.Values
	At         time.Time
	Status     int    // the HTTP status it was answered with
	Sid        string // the message's, when one was created
}

// Answer is what the stand-in replies to one call.
type Answer struct {
	Status int
	Header map[string]string
	Body   string
}

// Real error answers (bodies as the Messages API returns them; messages from
// Twilio's error dictionary).
var (
	// Unsubscribed: the recipient replied STOP (21610).
	Unsubscribed = Answer{Status: 400, Body: `{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400}`}
	// InvalidTo: not a valid phone number (21211).
	InvalidTo = Answer{Status: 400, Body: `{"code": 21211, "message": "The 'To' number 5551234567 is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}`}
	// TooManyRequests: the account's rate limit (20429), with Retry-After.
	TooManyRequests = Answer{Status: 429, Header: map[string]string{"Retry-After": "1"}, Body: `{"code": 20429, "message": "Too Many Requests", "more_info": "https://www.twilio.com/docs/errors/20429", "status": 429}`}
	// BadRequest: a generic client error (20001).
	BadRequest = Answer{Status: 400, Body: `{"status": 400, "code": 20001, "message": "Bad request", "more_info": "https://www.twilio.com/docs/errors/20001"}`}
	// Unavailable: a load balancer's HTML page (not JSON).
	Unavailable = Answer{Status: 503, Body: "<html><body><h1>503 Service Unavailable</h1></body></html>"}
)

// API is a local Messages API.
type API struct {
	URL string // base URL, for TWILIO_API_URL

	tb         TB
	accountSid string
	authToken  string
	srv        *httptest.Server

	mu      sync.Mutex
	calls   []Call
	created []map[string]any    // the messages created, as the API lists them
	lookups int                 // list requests
	answers map[string][]Answer // by To: answers to give before succeeding
	down    func() bool         // FailWhile
	downAns Answer
	now     func() time.Time
}

// SetClock sets the clock the stand-in dates messages by (the wall clock by
// default), so that a test's fake clock and the messages' dates agree.
func (a *API) SetClock(now func() time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.now = now
}

// Lookups is how many list requests the stand-in answered.
func (a *API) Lookups() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lookups
}

// SetStatus sets the status a created message is listed with ("failed",
// "delivered", …), as Twilio's own records change (sid: Call.Sid).
func (a *API) SetStatus(sid, status string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.created {
		if m["sid"] == sid {
			m["status"] = status
		}
	}
}

// FailWhile answers every call with ans while down returns true (an outage,
// timed by the test's own clock); queued Answers still come first.
func (a *API) FailWhile(down func() bool, ans Answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.down, a.downAns = down, ans
}

// NewAPI starts a Messages API for one account; it stops when the test ends.
func NewAPI(tb TB, accountSid, authToken string) *API {
	a := &API{tb: tb, accountSid: accountSid, authToken: authToken, answers: map[string][]Answer{}, now: time.Now}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	a.URL = a.srv.URL
	tb.Cleanup(a.srv.Close)
	return a
}

// Close stops the stand-in now, as if Twilio could not be reached.
func (a *API) Close() { a.srv.Close() }

// Answer queues answers for the next calls to a recipient ("+52…" or
// "whatsapp:+52…"); once they are used up, calls succeed.
func (a *API) Answer(to string, answers ...Answer) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answers[to] = append(a.answers[to], answers...)
}

// Calls returns the calls received so far.
func (a *API) Calls() []Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.calls)
}

// CallsTo returns the calls received so far for one recipient.
func (a *API) CallsTo(to string) []Call {
	var out []Call
	for _, c := range a.Calls() {
		if c.Form.Get("To") == to {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until at least n calls reached a recipient, or fails the
// test after timeout, and returns them.
func (a *API) WaitCalls(to string, n int, timeout time.Duration) []Call {
	a.tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		calls := a.CallsTo(to)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			a.tb.Fatalf("twiliotest: got %d calls to the recipient after %s, want %d", len(calls), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var messagesPath = regexp.MustCompile(`^/2010-04-01/Accounts/([^/]+)/Messages\.json$`)

func (a *API) fail(w http.ResponseWriter, status int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.tb.Errorf("twiliotest: %s", msg)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]any{"code": 20001, "message": msg, "more_info": "https://www.twilio.com/docs/errors/20001", "status": status})
	w.Write(b)
}

func (a *API) serve(w http.ResponseWriter, r *http.Request) {
	m := messagesPath.FindStringSubmatch(r.URL.Path)
	if r.Method != http.MethodPost && r.Method != http.MethodGet || m == nil {
		a.fail(w, 404, "unexpected request %s %s", r.Method, r.URL.Path)
		return
	}
	if !patterns[createSchema.AccountSid.Pattern].MatchString(m[1]) {
		a.fail(w, 404, "account sid %q does not match %s", m[1], createSchema.AccountSid.Pattern)
		return
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user != a.accountSid || pass != a.authToken || m[1] != a.accountSid {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		w.Write([]byte(`{"code": 20003, "detail": "Your AccountSid or AuthToken was incorrect.", "message": "Authentication Error - invalid username", "more_info": "https://www.twilio.com/docs/errors/20003", "status": 401}`))
		a.tb.Errorf("twiliotest: bad credentials")
		return
	}
	if r.Method == http.MethodGet {
		a.list(w, r, m[1])
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		a.fail(w, 400, "content type %q, want a form", ct)
		return
	}
	if err := r.ParseForm(); err != nil {
		a.fail(w, 400, "bad form: %v", err)
		return
	}
	form := r.PostForm
	for name, vs := range form {
		f, ok := createSchema.Properties[name]
		if !ok {
			a.fail(w, 400, "unknown form field %q", name)
			return
		}
		if f.Type != "array" && len(vs) != 1 {
			a.fail(w, 400, "field %q given %d times", name, len(vs))
			return
		}
		for _, v := range vs {
			if f.Pattern != "" && !patterns[f.Pattern].MatchString(v) {
				a.fail(w, 400, "field %q = %q does not match %s", name, v, f.Pattern)
				return
			}
			if len(f.Enum) > 0 && !slices.Contains(f.Enum, v) {
				a.fail(w, 400, "field %q = %q not in %v", name, v, f.Enum)
				return
			}
			switch f.Type {
			case "boolean":
				if v != "true" && v != "false" {
					a.fail(w, 400, "field %q = %q is not a boolean", name, v)
					return
				}
			case "integer":
				if _, err := strconv.Atoi(v); err != nil {
					a.fail(w, 400, "field %q = %q is not an integer", name, v)
					return
				}
			}
		}
	}
	for _, name := range createSchema.Required {
		if form.Get(name) == "" {
			a.fail(w, 400, "required field %q missing", name)
			return
		}
	}
	// Rules the API states in prose: a sender, and something to send.
	if form.Get("From") == "" && form.Get("MessagingServiceSid") == "" {
		a.fail(w, 400, "neither From nor MessagingServiceSid")
		return
	}
	if form.Get("Body") == "" && len(form["MediaUrl"]) == 0 && form.Get("ContentSid") == "" {
		a.fail(w, 400, "neither Body, MediaUrl nor ContentSid")
		return
	}
	if v := form.Get("ContentVariables"); v != "" && !json.Valid([]byte(v)) {
		a.fail(w, 400, "ContentVariables is not JSON")
		return
	}
	if strings.HasPrefix(form.Get("To"), "whatsapp:") != strings.HasPrefix(form.Get("From"), "whatsapp:") && form.Get("From") != "" {
		a.fail(w, 400, "To and From must both be WhatsApp addresses or neither")
		return
	}
	if cb := form.Get("StatusCallback"); cb != "" {
		if u, err := url.Parse(cb); err != nil || u.Scheme == "" || u.Host == "" {
			a.fail(w, 400, "StatusCallback %q is not an absolute URL", cb)
			return
		}
	}

	a.mu.Lock()
	var ans *Answer
	if q := a.answers[form.Get("To")]; len(q) > 0 {
		ans, a.answers[form.Get("To")] = &q[0], q[1:]
	} else if a.down != nil && a.down() {
		ans = &a.downAns
	}
	status := http.StatusCreated
	if ans != nil {
		status = ans.Status
	}
	call := Call{AccountSid: m[1], Form: form, At: time.Now(), Status: status}
	var created map[string]any
	if ans == nil {
		call.Sid = fmt.Sprintf("SM%032x", len(a.calls)+1)
		created = message(m[1], call.Sid, form, a.now())
		a.created = append(a.created, created)
	}
	a.calls = append(a.calls, call)
	a.mu.Unlock()

	if ans != nil {
		a.answer(w, *ans)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	b, _ := json.Marshal(created)
	w.Write(b)
}

// answer writes a queued or outage answer.
func (a *API) answer(w http.ResponseWriter, ans Answer) {
	for k, v := range ans.Header {
		w.Header().Set(k, v)
	}
	if strings.HasPrefix(ans.Body, "{") {
		w.Header().Set("Content-Type", "application/json")
	} else {
		w.Header().Set("Content-Type", "text/html")
	}
	w.WriteHeader(ans.Status)
	w.Write([]byte(ans.Body))
}

// message is the documented 201 example with this message's values, as
// created at now. A Messaging Service send is listed from one of its
// numbers: the stand-in's is serviceFrom.
func message(account, sid string, form url.Values, now time.Time) map[string]any {
	body := map[string]any{}
	for k, v := range createSchema.Example {
		body[k] = v
	}
	at := now.UTC().Format(time.RFC1123Z)
	body["account_sid"], body["sid"], body["status"] = account, sid, "queued"
	body["to"], body["from"], body["body"] = form.Get("To"), form.Get("From"), form.Get("Body")
	body["messaging_service_sid"] = nil
	if s := form.Get("MessagingServiceSid"); s != "" {
		body["messaging_service_sid"] = s
		if form.Get("From") == "" {
			body["from"] = serviceFrom
		}
	}
	body["direction"] = "outbound-api"
	body["date_created"], body["date_updated"], body["date_sent"] = at, at, nil
	body["uri"] = "/2010-04-01/Accounts/" + account + "/Messages/" + sid + ".json"
	body["subresource_uris"] = map[string]string{"media": "/2010-04-01/Accounts/" + account + "/Messages/" + sid + "/Media.json"}
	return body
}

// serviceFrom is the number a Messaging Service send goes from at the stand-in.
const serviceFrom = "+15005550009"

// listParams are the query parameters the list takes (the API's read
// operation): anything else is refused, as a mistake would be.
var listParams = map[string]bool{"To": true, "From": true, "DateSent": true, "DateSent<": true, "DateSent>": true,
	"PageSize": true, "Page": true, "PageToken": true}

// list answers a read of the Messages list: the messages created, filtered
// by To and From, newest first, one page of PageSize (50 by default, at
// most 1,000), in the list envelope. Date filters are refused: nothing here
// sends, so no message has a sent date to filter on.
func (a *API) list(w http.ResponseWriter, r *http.Request, account string) {
	q := r.URL.Query()
	for name := range q {
		if !listParams[name] {
			a.fail(w, 400, "unknown query parameter %q", name)
			return
		}
		if strings.HasPrefix(name, "DateSent") {
			a.fail(w, 400, "the stand-in does not filter by %s", name)
			return
		}
	}
	size := 50
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			a.fail(w, 400, "PageSize %q is not 1 to 1000", v)
			return
		}
		size = n
	}
	a.mu.Lock()
	a.lookups++
	if a.down != nil && a.down() {
		ans := a.downAns
		a.mu.Unlock()
		a.answer(w, ans)
		return
	}
	var page []map[string]any
	for i := len(a.created) - 1; i >= 0 && len(page) < size; i-- {
		m := a.created[i]
		if to := q.Get("To"); to != "" && m["to"] != to {
			continue
		}
		if from := q.Get("From"); from != "" && m["from"] != from {
			continue
		}
		page = append(page, maps.Clone(m))
	}
	a.mu.Unlock()
	uri := "/2010-04-01/Accounts/" + account + "/Messages.json?" + q.Encode()
	b, _ := json.Marshal(map[string]any{
		"messages": page, "page": 0, "page_size": size, "start": 0, "end": max(len(page)-1, 0),
		"uri": uri, "first_page_uri": uri, "next_page_uri": nil, "previous_page_uri": nil,
	})
	w.Header().Set("Content-Type", "application/json")
	w.Write(b)
}
