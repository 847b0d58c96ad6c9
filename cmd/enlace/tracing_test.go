package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/locales"
)

var chatCode = regexp.MustCompile(`RFL-[0-9A-Z]{4}-[0-9A-Z]{3}`)

// TestChatTracingRequest is the tracing request from end to end in `enlace
// chat --json`, on both stores: a person opens a request for "José Luis
// Hernández García" by SMS and gets a code; from a different number, on
// WhatsApp, the code and PIN show the status; three wrong PINs lock it, which
// is audited and recorded as an escalation.
func TestChatTracingRequest(t *testing.T) {
	cat, err := locales.Load()
	if err != nil {
		t.Fatal(err)
	}
	es := func(id string) string { return cat.Text("es", id, nil) }
	for name, env := range storesEnv(t) {
		t.Run(name, func(t *testing.T) {
			out := runChat(t, env, []string{"--channel", "sms", "--from", "+5215587654321"},
				"hola", "1", "1", es("menu.tracing"), es("tracing.new"),
				es("tracing.agree"), es("tracing.network.yes"),
				"José Luis Hernández García", es("tracing.skip"), es("tracing.sex.male"), "34",
				es("country.HN"), es("tracing.rel.sibling"), "Ana Hernández", "Tapachula", "3/2026",
				es("tracing.what.separated_on_route"), es("tracing.reach.here"), es("tracing.send"), "4821", "4821")
			all := texts(out)
			code := chatCode.FindString(all)
			if code == "" {
				t.Fatalf("no case code in:\n%s", all)
			}
			for _, want := range []string{"José Luis Hernández García", es("tracing.pin.saved")} {
				if !strings.Contains(all, want) {
					t.Errorf("the person did not read %q", want)
				}
			}

			other := []string{"--channel", "whatsapp", "--from", "+50431234567"}
			all = texts(runChat(t, env, other, code, "4821"))
			if want := cat.Text("es", "tracing.status", map[string]string{"Code": code, "Status": es("tracing.st.new")}); !strings.Contains(all, want) {
				t.Errorf("from another number, the right PIN: want %q in\n%s", want, all)
			}
			all = texts(runChat(t, env, other, code+" 1357", code+" 2468", code+" 9753", code+" 4821"))
			if n := strings.Count(all, es("tracing.wrong")); n != 2 {
				t.Errorf("%d wrong-PIN answers, want 2:\n%s", n, all)
			}
			if n := strings.Count(all, es("tracing.locked")); n != 2 {
				t.Errorf("%d lock answers (the third wrong PIN and the right one after it), want 2:\n%s", n, all)
			}

			var stdout, stderr bytes.Buffer
			if err := run(context.Background(), []string{"audit", "export"}, nil, &stdout, &stderr, func(k string) string { return env[k] }); err != nil {
				t.Fatalf("audit export: %v: %s", err, stderr.String())
			}
			if n := strings.Count(stdout.String(), `"case.pin_failed"`); n != 3 {
				t.Errorf("audit: %d wrong PINs, want 3", n)
			}
			if n := strings.Count(stdout.String(), `"case.pin_locked"`); n != 1 {
				t.Errorf("audit: %d locks, want 1", n)
			}
			if strings.Contains(stdout.String(), code) || strings.Contains(stdout.String(), "Hern") {
				t.Error("the audit holds the code or the name")
			}

			cfg, err := loadConfig(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			st, _, err := openStore(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			esc, err := st.Escalations(context.Background(), 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(esc) != 1 {
				t.Errorf("escalations: %d, want one for the lock", len(esc))
			}
		})
	}
}

// texts joins what a chat printed.
func texts(out []printed) string {
	var b strings.Builder
	for _, p := range out {
		b.WriteString(p.Text)
		b.WriteString("\n")
	}
	return b.String()
}
