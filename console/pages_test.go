package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/staff"
)

// bareKey matches a text key that reached a page untranslated.
// Audit action codes (<code>staff.list</code>) are machine words, shown as they are.
var (
	bareKey = regexp.MustCompile(`>\s*(nav|role|login|enrol|enrolled|home|staff|audit|error)\.[a-z_]+\s*<`)
	codes   = regexp.MustCompile(`<code>[^<]*</code>`)
)

// TestEveryPageInEveryLanguage renders each page in each language and looks
// for untranslated keys, template holes and English left in other languages.
func TestEveryPageInEveryLanguage(t *testing.T) {
	s := newSite(t)
	adm := s.signIn(t, s.Enrol(t, "boss", staff.RoleAdmin, "en"))
	_, token, err := s.Service.Add(ctx, staff.Operator, "newbie", staff.RoleVolunteer, []string{"es"})
	if err != nil {
		t.Fatal(err)
	}
	anon := s.client(t)
	englishOnly := []string{"Sign in", "Password", "Home", "Staff accounts", "Audit log", "Not found"}
	for _, lang := range []string{"es", "en", "fr", "ht", "pt"} {
		for _, p := range []struct {
			path string
			who  string
		}{
			{"/login", "anon"}, {"/enrol?t=" + url.QueryEscape(token), "anon"}, {"/nope", "anon"},
			{"/", "admin"}, {"/admin/staff", "admin"}, {"/admin/audit", "admin"},
		} {
			c := anon
			if p.who == "admin" {
				c = adm
			}
			sep := "?"
			if strings.Contains(p.path, "?") {
				sep = "&"
			}
			resp, body := do(t, c, s.req(t, "GET", p.path+sep+"lang="+lang, nil))
			if resp.StatusCode != 200 && resp.StatusCode != 404 {
				t.Errorf("%s %s: status %d", lang, p.path, resp.StatusCode)
			}
			if m := bareKey.FindString(codes.ReplaceAllString(body, "")); m != "" {
				t.Errorf("%s %s shows a bare key %q", lang, p.path, m)
			}
			if strings.Contains(body, "<no value>") || strings.Contains(body, "{Name}") || strings.Contains(body, "{Count}") {
				t.Errorf("%s %s has a template hole", lang, p.path)
			}
			if !strings.Contains(body, `<html lang="`+lang+`">`) {
				t.Errorf("%s %s is not marked as %s", lang, p.path, lang)
			}
			if lang != "en" {
				for _, en := range englishOnly {
					if strings.Contains(body, ">"+en+"<") {
						t.Errorf("%s %s shows English %q", lang, p.path, en)
					}
				}
			}
		}
	}
}
