package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/casework"
	"github.com/enlace-rfl/enlace/console"
	"github.com/enlace-rfl/enlace/staff"
)

func mustEnlace(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, errOut, err := enlace(t, env, args...)
	if err != nil {
		t.Fatalf("enlace %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

var enrolLink = regexp.MustCompile(`https://console\.example\.org/enrol\?t=[0-9a-f]{16}\.[0-9a-f]{64}`)

func TestStaffCommands(t *testing.T) {
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			env["ENLACE_CONSOLE_URL"] = "https://console.example.org/"
			out := mustEnlace(t, env, "staff", "add", "maria", "--role", "volunteer", "--languages", "es,ht")
			if !enrolLink.MatchString(out) || !strings.Contains(out, "until") {
				t.Fatalf("staff add printed:\n%s", out)
			}
			if _, _, err := enlace(t, env, "staff", "add", "Maria", "--role", "admin", "--languages", "en"); err == nil {
				t.Fatal("a second maria was added")
			}
			for _, bad := range [][]string{
				{"staff", "add", "ana", "--role", "boss", "--languages", "en"},
				{"staff", "add", "ana", "--role", "admin", "--languages", "de"},
				{"staff", "add", "ana", "--role", "admin"},
				{"staff", "disable", "nobody"},
				{"staff", "frobnicate"},
			} {
				if _, _, err := enlace(t, env, bad...); err == nil {
					t.Errorf("enlace %v succeeded", bad)
				}
			}
			out = mustEnlace(t, env, "staff", "list")
			if !strings.Contains(out, "maria") || !strings.Contains(out, "volunteer") || !strings.Contains(out, "es,ht") || !strings.Contains(out, "not enrolled") {
				t.Fatalf("staff list:\n%s", out)
			}
			token, errOut, err := enlace(t, env, "staff", "token", "maria")
			if err != nil || !regexp.MustCompile(`^enlace_[0-9a-f]{16}_[0-9a-f]{16}_[0-9a-f]{64}\n$`).MatchString(token) {
				t.Fatalf("staff token: %q, %v\n%s", token, err, errOut)
			}
			tokenID := strings.Split(token, "_")[2]
			if out := mustEnlace(t, env, "staff", "list"); !strings.Contains(out, tokenID) {
				t.Fatalf("staff list lacks the token id:\n%s", out)
			}
			mustEnlace(t, env, "staff", "token", "--revoke", tokenID, "maria")
			if _, _, err := enlace(t, env, "staff", "token", "maria", "--revoke", tokenID); err == nil {
				t.Fatal("revoked twice")
			}
			mustEnlace(t, env, "staff", "disable", "maria")
			if out := mustEnlace(t, env, "staff", "list"); !strings.Contains(out, "disabled") {
				t.Fatalf("after disable:\n%s", out)
			}
			mustEnlace(t, env, "staff", "enable", "maria")
			if out := mustEnlace(t, env, "staff", "reset", "maria"); !enrolLink.MatchString(out) {
				t.Fatalf("staff reset printed:\n%s", out)
			}
			mustEnlace(t, env, "staff", "signout", "maria")
			if out := mustEnlace(t, env, "audit", "verify"); !strings.Contains(out, "audit log intact") {
				t.Fatalf("audit verify: %s", out)
			}
			path := filepath.Join(t.TempDir(), "audit.jsonl")
			mustEnlace(t, env, "audit", "export", path)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var actions []string
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var e struct{ Action, Staff, Role string }
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatalf("export line %q: %v", line, err)
				}
				if e.Staff != "cli" || e.Role != "operator" {
					t.Errorf("entry by %s/%s, want cli/operator", e.Staff, e.Role)
				}
				actions = append(actions, e.Action)
			}
			want := "staff.add staff.list token.issue staff.list token.revoke staff.disable staff.list staff.enable staff.reset logout.everywhere audit.verify audit.export"
			if got := strings.Join(actions, " "); got != want {
				t.Fatalf("audit actions\n got %s\nwant %s", got, want)
			}
			if bytes.Contains(b, []byte("maria")) {
				t.Fatal("the audit export names a person")
			}
		})
	}
}

// TestStaffHelpTouchesNoData: --help answers without a key and without
// creating the data directory.
func TestStaffHelpTouchesNoData(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nothing-here")
	env := map[string]string{"ENLACE_DATA_DIR": dir}
	for _, args := range [][]string{{"staff", "--help"}, {"staff", "add", "--help"}, {"staff", "list", "-h"}, {"audit", "--help"}, {"audit", "verify", "--help"}} {
		out, _, err := enlace(t, env, args...)
		if err != nil || !strings.Contains(out, "usage:") {
			t.Errorf("enlace %v: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("--help created the data directory (%v)", err)
	}
}

// TestAuditVerifyDetectsAChangedEntry edits one entry in the bbolt file, as
// someone with the disk could, and expects `audit verify` to fail.
func TestAuditVerifyDetectsAChangedEntry(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ENLACE_DATA_DIR": dir, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	for _, n := range []string{"ana", "bea", "carla"} {
		mustEnlace(t, env, "staff", "add", n, "--role", "volunteer", "--languages", "es")
	}
	mustEnlace(t, env, "audit", "verify")
	db, err := bolt.Open(filepath.Join(dir, "enlace.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("staff:audit"))
		c := b.Cursor()
		k, _ := c.First()
		k = append([]byte(nil), k...)
		_, v2 := c.Next()
		return b.Put(k, append([]byte(nil), v2...)) // entry 1 replaced by entry 2
	})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, _, err = enlace(t, env, "audit", "verify")
	if err == nil || !strings.Contains(err.Error(), "audit log broken at entry 1") {
		t.Fatalf("audit verify after a change: %v", err)
	}
}

func TestServeStartsTheConsole(t *testing.T) {
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir(), "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	addr := make(chan string, 1)
	consoleStarted = func(a string) { addr <- a }
	t.Cleanup(func() { consoleStarted = nil })
	base, stop := startServe(t, env)
	console := "http://" + <-addr
	if code, body := get(t, console+"/login"); code != 200 || !strings.Contains(body, `name="password"`) {
		t.Errorf("console /login: %d", code)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(console + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/login" {
		t.Errorf("console / without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if code, _ := get(t, base+"/login"); code != 404 {
		t.Errorf("the webhook address serves the console: /login = %d", code)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeConsoleHasTheInbox: serve builds the volunteer inbox on its store
// and pipeline and gives it to the console.
func TestServeConsoleHasTheInbox(t *testing.T) {
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir(), "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	built := make(chan *console.Server, 1)
	addr := make(chan string, 1)
	consoleBuilt = func(c *console.Server) { built <- c }
	consoleStarted = func(a string) { addr <- a }
	t.Cleanup(func() { consoleBuilt, consoleStarted = nil, nil })
	_, stop := startServe(t, env)
	con := <-built
	// Its API is served: without a token, 401 (not 404).
	if code, body := get(t, "http://"+<-addr+"/api/v1/conversations"); code != http.StatusUnauthorized {
		t.Errorf("serve's GET /api/v1/conversations without a token: %d %s", code, body)
	}
	in := con.Inbox()
	if in == nil {
		t.Fatal("serve's console has no inbox")
	}
	items, err := in.List(context.Background(), staff.Account{ID: "a1", Role: staff.RoleAdmin, Languages: []string{"es"}})
	if err != nil || len(items) != 0 {
		t.Errorf("inbox of a fresh store: %v, %v", items, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestServeConsoleHasTheCases: serve builds the caseworkers' tracing cases on
// its store and pipeline, loads them for matching, and serves their API.
func TestServeConsoleHasTheCases(t *testing.T) {
	env := map[string]string{"ENLACE_DATA_DIR": t.TempDir(), "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	built := make(chan *console.Server, 1)
	addr := make(chan string, 1)
	consoleBuilt = func(c *console.Server) { built <- c }
	consoleStarted = func(a string) { addr <- a }
	t.Cleanup(func() { consoleBuilt, consoleStarted = nil, nil })
	_, stop := startServe(t, env)
	con := <-built
	if code, body := get(t, "http://"+<-addr+"/api/v1/cases"); code != http.StatusUnauthorized {
		t.Errorf("serve's GET /api/v1/cases without a token: %d %s", code, body)
	}
	cases := con.Cases()
	if cases == nil {
		t.Fatal("serve's console has no tracing cases")
	}
	list, err := cases.List(context.Background(), staff.Actor{ID: "a1", Role: staff.RoleCaseworker}, casework.Filter{})
	if err != nil || len(list) != 0 {
		t.Errorf("cases of a fresh store: %v, %v", list, err)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
