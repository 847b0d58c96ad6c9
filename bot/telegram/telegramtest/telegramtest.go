// Package telegramtest is a local stand-in for Telegram's Bot API server, for
// tests and for `enlace loadtest` (it needs only TB, not package testing).
// It records every call (method, parameters, files), answers as Telegram
// does (a Message for sendMessage, true for answerCallbackQuery and the
// webhook calls, queued updates for getUpdates, or any programmed error body
// such as a 429 with retry_after), and fails the test on a method or a
// parameter the real API does not have, checked against the Bot API spec in
// testdata/bot-api-methods.json (reply_markup is checked field by field).
package telegramtest

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed testdata/bot-api-methods.json
var specJSON []byte

type field struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
}

type spec struct {
	Methods map[string]struct {
		Fields []field `json:"fields"`
	} `json:"methods"`
	Types map[string]struct {
		Fields []field `json:"fields"`
	} `json:"types"`
}

var apiSpec = func() spec {
	var s spec
	if err := json.Unmarshal(specJSON, &s); err != nil {
		panic("telegramtest: reading the Bot API spec: " + err.Error())
	}
	return s
}()

// TB is what the stand-in needs of a test: testing.TB has it, and so has
// the load generator (loadtest), which runs the stand-in outside a test and
// reports what it refused instead of failing.
type TB interface {
	Helper()
	Cleanup(func())
	Errorf(format string, args ...any)
	Fatalf(format string, args ...any)
}

// Call is one Bot API call as the server received it.
type Call struct {
	Method string
	Params map[string]string
	Files  map[string][]byte
	At     time.Time
}

// ChatID is the call's chat_id parameter.
func (c Call) ChatID() string { return c.Params["chat_id"] }

type answer struct {
	method, chatID string
	status         int
	body           string
}

// Server is a Bot API stand-in. Its URL goes where the Bot API URL goes.
type Server struct {
	URL   string
	Token string

	t    TB
	srv  *httptest.Server
	done chan struct{}

	mu         sync.Mutex
	calls      []Call
	answers    []answer
	updates    []json.RawMessage // pending for getUpdates
	wake       chan struct{}
	violations []string
	nextID     int
	clock      func() time.Time // stamps Call.At; time.Now until SetClock
}

// SetClock makes the server stamp each call's At with clock (the adapter's
// fake clock in a test), so pacing is checked on the test's own time.
func (s *Server) SetClock(clock func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = clock
}

func (s *Server) now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clock == nil {
		return time.Now()
	}
	return s.clock()
}

// New starts a stand-in for a bot with token. The test fails at its end if
// the server received anything the real Bot API would not take.
func New(t TB, token string) *Server {
	t.Helper()
	s := &Server{Token: token, t: t, done: make(chan struct{}), wake: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(func() {
		s.Close()
		for _, v := range s.Violations() {
			t.Errorf("Bot API stand-in: %s", v)
		}
	})
	return s
}

// Close stops the server; waiting long polls end at once.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.done:
		s.mu.Unlock()
		return
	default:
		close(s.done)
	}
	s.mu.Unlock()
	s.srv.Close()
}

// Violations returns, and forgets, what the server refused so far.
func (s *Server) Violations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.violations
	s.violations = nil
	return v
}

// Calls returns the calls received so far of a method ("" for all).
func (s *Server) Calls(method string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if method == "" || c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// WaitCalls waits until n calls of a method were received, and fails the test
// if that takes longer than timeout. It returns all of them.
func (s *Server) WaitCalls(t TB, method string, n int, timeout time.Duration) []Call {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		calls := s.Calls(method)
		if len(calls) >= n {
			return calls
		}
		if time.Now().After(deadline) {
			t.Fatalf("Bot API stand-in: got %d %s calls after %s, want %d: %s", len(calls), method, timeout, n, Describe(calls))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Describe lists calls briefly, for failure messages.
func Describe(calls []Call) string {
	var b strings.Builder
	for _, c := range calls {
		p, _ := json.Marshal(c.Params)
		fmt.Fprintf(&b, "\n  %s %s", c.Method, p)
	}
	return b.String()
}

// Answer makes the next call of method (to chatID, or to any chat when
// chatID is empty) get this HTTP status and body instead of success.
func (s *Server) Answer(method, chatID string, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.answers = append(s.answers, answer{method: method, chatID: chatID, status: status, body: body})
}

// TooManyRequests is Telegram's 429 body.
func TooManyRequests(retryAfter int) string {
	return fmt.Sprintf(`{"ok":false,"error_code":429,"description":"Too Many Requests: retry after %d","parameters":{"retry_after":%d}}`, retryAfter, retryAfter)
}

// PushUpdate queues an update for getUpdates.
func (s *Server) PushUpdate(raw []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.updates = append(s.updates, json.RawMessage(raw))
	close(s.wake)
	s.wake = make(chan struct{})
}

// Pending is how many queued updates getUpdates has not had confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

func (s *Server) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.violations = append(s.violations, fmt.Sprintf(format, args...))
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

func fail(w http.ResponseWriter, status int, description string) {
	b, _ := json.Marshal(map[string]any{"ok": false, "error_code": status, "description": description})
	writeJSON(w, status, string(b))
}

func ok(w http.ResponseWriter, result any) {
	b, _ := json.Marshal(map[string]any{"ok": true, "result": result})
	writeJSON(w, http.StatusOK, string(b))
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	token, method, found := strings.Cut(strings.TrimPrefix(r.URL.Path, "/bot"), "/")
	if !found || !strings.HasPrefix(r.URL.Path, "/bot") {
		s.violation("request to %s, not /bot<token>/<method>", r.URL.Path)
		fail(w, http.StatusNotFound, "Not Found")
		return
	}
	if token != s.Token {
		s.violation("call of %s with a wrong token", method)
		fail(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	m, known := apiSpec.Methods[method]
	if !known {
		s.violation("unknown method %q", method)
		fail(w, http.StatusNotFound, "Not Found: method not found")
		return
	}
	call := Call{Method: method, Params: map[string]string{}, Files: map[string][]byte{}, At: s.now()}
	if err := parseParams(r, &call); err != nil {
		s.violation("%s: %v", method, err)
		fail(w, http.StatusBadRequest, "Bad Request: "+err.Error())
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	if problems := checkParams(m.Fields, call); len(problems) > 0 {
		for _, p := range problems {
			s.violation("%s: %s", method, p)
		}
		fail(w, http.StatusBadRequest, "Bad Request: "+problems[0])
		return
	}
	if problems := checkLimits(call); len(problems) > 0 {
		for _, p := range problems {
			s.violation("%s: %s", method, p)
		}
		fail(w, http.StatusBadRequest, "Bad Request: "+problems[0])
		return
	}
	if a, ok := s.takeAnswer(call); ok {
		writeJSON(w, a.status, a.body)
		return
	}
	switch method {
	case "getMe":
		ok(w, map[string]any{"id": 7000000001, "is_bot": true, "first_name": "Enlace", "username": "EnlaceBot"})
	case "sendMessage", "sendVenue":
		s.mu.Lock()
		s.nextID++
		id := s.nextID
		s.mu.Unlock()
		chat, _ := strconv.ParseInt(call.Params["chat_id"], 10, 64)
		msg := map[string]any{"message_id": id, "date": time.Now().Unix(),
			"chat": map[string]any{"id": chat, "type": "private"}}
		if method == "sendMessage" {
			msg["text"] = call.Params["text"]
		} else {
			lat, _ := strconv.ParseFloat(call.Params["latitude"], 64)
			lon, _ := strconv.ParseFloat(call.Params["longitude"], 64)
			msg["venue"] = map[string]any{"location": map[string]any{"latitude": lat, "longitude": lon},
				"title": call.Params["title"], "address": call.Params["address"]}
		}
		ok(w, msg)
	case "getUpdates":
		s.getUpdates(w, r, call)
	default:
		ok(w, true)
	}
}

func (s *Server) takeAnswer(c Call) (answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, a := range s.answers {
		if a.method == c.Method && (a.chatID == "" || a.chatID == c.ChatID()) {
			s.answers = slices.Delete(s.answers, i, i+1)
			return a, true
		}
	}
	return answer{}, false
}

// getUpdates answers as Telegram does: updates from offset on (those before
// it are confirmed and forgotten), waiting up to timeout seconds for one.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, c Call) {
	offset, _ := strconv.ParseInt(c.Params["offset"], 10, 64)
	timeout, _ := strconv.Atoi(c.Params["timeout"])
	deadline := time.After(time.Duration(timeout) * time.Second)
	for {
		s.mu.Lock()
		var out []json.RawMessage
		kept := s.updates[:0]
		for _, u := range s.updates {
			var v struct {
				ID int64 `json:"update_id"`
			}
			json.Unmarshal(u, &v)
			if v.ID < offset {
				continue // confirmed by this offset
			}
			kept = append(kept, u)
			if len(out) < 100 {
				out = append(out, u)
			}
		}
		s.updates = kept
		wake := s.wake
		s.mu.Unlock()
		if len(out) > 0 {
			ok(w, out)
			return
		}
		select {
		case <-wake:
		case <-deadline:
			ok(w, []any{})
			return
		case <-r.Context().Done():
			return
		case <-s.done:
			fail(w, http.StatusBadGateway, "Bad Gateway")
			return
		}
	}
}

// parseParams reads the parameters the way the Bot API accepts them: a
// multipart form (go-telegram/bot always posts one), a URL-encoded form, a
// JSON object or the query string.
func parseParams(r *http.Request, c *Call) error {
	for k, v := range r.URL.Query() {
		c.Params[k] = v[0]
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "multipart/form-data":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			return fmt.Errorf("reading multipart form: %w", err)
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) != 1 {
				return fmt.Errorf("parameter %q given %d times", k, len(v))
			}
			c.Params[k] = v[0]
		}
		for k, fhs := range r.MultipartForm.File {
			f, err := fhs[0].Open()
			if err != nil {
				return err
			}
			b, _ := io.ReadAll(f)
			f.Close()
			c.Files[k] = b
		}
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return err
		}
		for k, v := range r.PostForm {
			c.Params[k] = v[0]
		}
	case "application/json":
		var obj map[string]json.RawMessage
		if err := json.NewDecoder(r.Body).Decode(&obj); err != nil {
			return fmt.Errorf("reading JSON body: %w", err)
		}
		for k, v := range obj {
			var str string
			if json.Unmarshal(v, &str) == nil {
				c.Params[k] = str
			} else {
				c.Params[k] = string(v)
			}
		}
	case "":
	default:
		return fmt.Errorf("content type %q", ct)
	}
	return nil
}

func checkParams(fields []field, c Call) []string {
	var problems []string
	byName := map[string]field{}
	for _, f := range fields {
		byName[f.Name] = f
		_, inParams := c.Params[f.Name]
		_, inFiles := c.Files[f.Name]
		if f.Required && !inParams && !inFiles {
			problems = append(problems, fmt.Sprintf("required parameter %q missing", f.Name))
		}
	}
	for name, v := range c.Params {
		f, ok := byName[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("unknown parameter %q", name))
			continue
		}
		problems = append(problems, checkValue(name, f.Types, v)...)
	}
	for name := range c.Files {
		if _, ok := byName[name]; !ok {
			problems = append(problems, fmt.Sprintf("unknown file parameter %q", name))
		}
	}
	slices.Sort(problems)
	return problems
}

// checkValue checks a form value against the field's types: JSON objects
// and arrays field by field, scalars by their form.
func checkValue(path string, types []string, v string) []string {
	for _, t := range types {
		switch {
		case t == "String", t == "InputFile":
			return nil
		case t == "Integer":
			if _, err := strconv.ParseInt(v, 10, 64); err == nil {
				return nil
			}
		case t == "Float":
			if _, err := strconv.ParseFloat(v, 64); err == nil {
				return nil
			}
		case t == "Boolean":
			if v == "true" || v == "false" {
				return nil
			}
		}
	}
	var raw any
	if err := json.Unmarshal([]byte(v), &raw); err != nil {
		return []string{fmt.Sprintf("%s: %q is not a %s", path, v, strings.Join(types, " or "))}
	}
	return checkJSON(path, types, raw)
}

// checkJSON checks a decoded JSON value against one of the types.
func checkJSON(path string, types []string, v any) []string {
	var best []string
	for i, t := range types {
		problems := checkType(path, t, v)
		if len(problems) == 0 {
			return nil
		}
		if i == 0 || len(problems) < len(best) {
			best = problems
		}
	}
	return best
}

func checkType(path, t string, v any) []string {
	if elem, ok := strings.CutPrefix(t, "Array of "); ok {
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an array", path)}
		}
		var problems []string
		for i, e := range arr {
			problems = append(problems, checkType(fmt.Sprintf("%s[%d]", path, i), elem, e)...)
		}
		return problems
	}
	switch t {
	case "String":
		if _, ok := v.(string); !ok {
			return []string{fmt.Sprintf("%s: want a string", path)}
		}
		return nil
	case "Integer", "Float":
		if _, ok := v.(float64); !ok {
			return []string{fmt.Sprintf("%s: want a number", path)}
		}
		return nil
	case "Boolean":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: want a boolean", path)}
		}
		return nil
	}
	typ, known := apiSpec.Types[t]
	if !known {
		return nil // a type the extract does not carry: not checked
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return []string{fmt.Sprintf("%s: want a %s object", path, t)}
	}
	var problems []string
	byName := map[string]field{}
	for _, f := range typ.Fields {
		byName[f.Name] = f
		fv, present := obj[f.Name]
		if f.Required && !present {
			problems = append(problems, fmt.Sprintf("%s: %s lacks required field %q", path, t, f.Name))
		}
		if s, isString := fv.(string); present && f.Required && isString && s == "" {
			problems = append(problems, fmt.Sprintf("%s.%s: empty, Telegram wants it set", path, f.Name))
		}
	}
	for name, fv := range obj {
		f, ok := byName[name]
		if !ok {
			problems = append(problems, fmt.Sprintf("%s: %s has no field %q", path, t, name))
			continue
		}
		problems = append(problems, checkJSON(path+"."+name, f.Types, fv)...)
	}
	slices.Sort(problems)
	return problems
}

// checkLimits refuses what Telegram refuses beyond the parameter names.
func checkLimits(c Call) []string {
	var problems []string
	if c.Method == "sendMessage" {
		text := c.Params["text"]
		units := 0
		for _, r := range text {
			units++
			if r > 0xFFFF {
				units++
			}
		}
		switch {
		case strings.TrimSpace(text) == "":
			problems = append(problems, "message text is empty")
		case units > 4096:
			problems = append(problems, fmt.Sprintf("message is too long (%d UTF-16 units)", units))
		}
		if pm := c.Params["parse_mode"]; pm != "" && pm != "HTML" && pm != "MarkdownV2" && pm != "Markdown" {
			problems = append(problems, "unsupported parse_mode "+pm)
		}
	}
	if rm, ok := c.Params["reply_markup"]; ok {
		var kb struct {
			InlineKeyboard [][]struct {
				CallbackData *string `json:"callback_data"`
			} `json:"inline_keyboard"`
		}
		if json.Unmarshal([]byte(rm), &kb) == nil {
			for _, row := range kb.InlineKeyboard {
				for _, b := range row {
					if b.CallbackData != nil && (len(*b.CallbackData) < 1 || len(*b.CallbackData) > 64) {
						problems = append(problems, "BUTTON_DATA_INVALID: callback_data must be 1-64 bytes")
					}
				}
			}
		}
	}
	return problems
}
