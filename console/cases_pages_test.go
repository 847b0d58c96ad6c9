package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/store/teststores"
)

var caseLocation = regexp.MustCompile(`^/cases/([A-Za-z0-9_-]+)\?(created|paper)=1$`)

// interviewForm is the interview form as a caseworker fills it in.
func interviewForm(name, birth, nationality string) url.Values {
	return url.Values{"name": {name}, "sex": {"male"}, "birth_year": {birth}, "nationality": {nationality},
		"relationship": {"sibling"}, "place": {"Tapachula"}, "place_country": {"MX"}, "last_contact": {"2026-03"},
		"what": {"separated_on_route"}, "enquirer": {"Rosa García"}, "channel": {"sms"}, "address": {"+50499887766"},
		"lang": {"es"}, "consent_tracing": {"1"}}
}

// TestCasePages walks a caseworker through the pages without JavaScript, on
// both stores: a case taken in an interview (the enquirer's chat is told the
// code), the list and its filters, the audited case view, assignment, status,
// a note, a notification queued with the teaser alone sent to the chat, a
// second case matched and the match confirmed, and the export. A volunteer
// reaches none of it.
func TestCasePages(t *testing.T) {
	for name, open := range teststores.WithStaff() {
		t.Run(name, func(t *testing.T) {
			cs := newCasesSite(t, open)
			s := &site{Env: cs.env, srv: cs.srv}
			ana := s.Enrol(t, "ana", staff.RoleCaseworker, "es")
			vol := s.Enrol(t, "victor", staff.RoleVolunteer, "es")
			a := s.signIn(t, ana)

			resp, body := do(t, a, s.req(t, "GET", "/cases/new", nil))
			if resp.StatusCode != 200 || !strings.Contains(body, `name="consent_tracing"`) {
				t.Fatalf("interview form %d:\n%s", resp.StatusCode, body)
			}
			// Without the enquirer's consent, nothing is kept.
			f := interviewForm("José Luis Hernández García", "1992", "HN")
			f.Del("consent_tracing")
			resp, body = do(t, a, s.req(t, "POST", "/cases/new", f))
			if resp.StatusCode != 422 || !strings.Contains(body, `id="error"`) || !strings.Contains(body, `value="José Luis Hernández García"`) {
				t.Fatalf("no consent: %d\n%s", resp.StatusCode, body)
			}
			if ev := cs.chat.take(); len(ev) != 0 {
				t.Fatalf("a refused interview reached a chat: %+v", ev)
			}
			// A bad number: the form comes back as typed, naming the field.
			f = interviewForm("José Luis Hernández García", "1992", "HN")
			f.Set("address", "12345")
			resp, body = do(t, a, s.req(t, "POST", "/cases/new", f))
			if resp.StatusCode != 422 || !strings.Contains(body, "Revisa este dato: Número de teléfono") ||
				!strings.Contains(body, `value="José Luis Hernández García"`) || !strings.Contains(body, `value="12345"`) ||
				!strings.Contains(body, `<option value="HN" selected>`) || !strings.Contains(body, `id="consent-tracing" required checked`) {
				t.Fatalf("a bad number: %d\n%s", resp.StatusCode, body)
			}
			resp, _ = do(t, a, s.req(t, "POST", "/cases/new", interviewForm("José Luis Hernández García", "1992", "HN")))
			m := caseLocation.FindStringSubmatch(resp.Header.Get("Location"))
			if resp.StatusCode != 303 || m == nil || m[2] != "created" {
				t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			id := m[1]
			if ev := cs.chat.take(); len(ev) != 1 || ev[0].Action != flows.StaffTracingOpened || ev[0].Case != id {
				t.Fatalf("the enquirer's chat got %+v, want the code", ev)
			}

			resp, body = do(t, a, s.req(t, "GET", "/cases", nil))
			if resp.StatusCode != 200 || !strings.Contains(body, "/cases/"+id) || !strings.Contains(body, "José Luis Hernández García") {
				t.Fatalf("list %d:\n%s", resp.StatusCode, body)
			}
			for q, want := range map[string]bool{"?nationality=HN": true, "?nationality=HT": false, "?status=closed": false,
				"?min_age=30&max_age=40": true, "?min_age=50": false, "?place=MX": true, "?mine=1": true} {
				_, body := do(t, a, s.req(t, "GET", "/cases"+q, nil))
				if got := strings.Contains(body, "/cases/"+id); got != want {
					t.Errorf("list %s: case listed %v, want %v", q, got, want)
				}
			}

			resp, body = do(t, a, s.req(t, "GET", "/cases/"+id+"?created=1", nil))
			if resp.StatusCode != 200 || !strings.Contains(body, `id="case-name">José Luis Hernández García`) ||
				!strings.Contains(body, "Tapachula") || !strings.Contains(body, "RFL-") {
				t.Fatalf("case page %d:\n%s", resp.StatusCode, body)
			}
			entry := entryField.FindStringSubmatch(body)
			for _, step := range []struct {
				action string
				form   url.Values
				want   string // Location
			}{
				{"assign", url.Values{"to": {"me"}}, "/cases/" + id},
				{"status", url.Values{"status": {"closed"}, "closing": {"reunited"}}, "/cases/" + id + "?e=transition"},
				{"status", url.Values{"status": {"searching"}}, "/cases/" + id},
				{"note", url.Values{"text": {"Llamó la hermana desde Tegucigalpa."}}, "/cases/" + id},
				{"note", url.Values{"text": {"  "}}, "/cases/" + id + "?e=invalid"},
				{"update", url.Values{"entry": {entry[1]}, "template": {"still_searching"}}, "/cases/" + id + "?sent=1"},
				{"update", url.Values{"entry": {"w2"}, "template": {"death"}}, "/cases/" + id + "?e=invalid"},
			} {
				resp, body := do(t, a, s.req(t, "POST", "/cases/"+id+"/"+step.action, step.form))
				if resp.StatusCode != 303 || resp.Header.Get("Location") != step.want {
					t.Errorf("%s %v: %d %s, want %s\n%s", step.action, step.form, resp.StatusCode, resp.Header.Get("Location"), step.want, body)
				}
			}
			if ev := cs.chat.take(); len(ev) != 1 || ev[0].Action != flows.StaffTracingUpdate || ev[0].Case != id || ev[0].Text != "" {
				t.Errorf("the enquirer's chat got %+v, want one update event without text", ev)
			}
			_, body = do(t, a, s.req(t, "GET", "/cases/"+id, nil))
			for _, want := range []string{"Buscando", "Llamó la hermana desde Tegucigalpa.", "Seguimos buscando", `data-status="queued"`, "con ana"} {
				if !strings.Contains(body, want) {
					t.Errorf("case page lacks %q", want)
				}
			}

			// A second enquirer looks for the same man, spelled otherwise: a match
			// to confirm; listing it changed nothing.
			resp, _ = do(t, a, s.req(t, "POST", "/cases/new", interviewForm("Jose Luis Hernandes", "1993", "HN")))
			m2 := caseLocation.FindStringSubmatch(resp.Header.Get("Location"))
			if m2 == nil {
				t.Fatalf("second case: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			_, body = do(t, a, s.req(t, "GET", "/cases/"+m2[1], nil))
			if !strings.Contains(body, `data-other="`+id+`"`) || !strings.Contains(body, "Ambos buscan a la misma persona") {
				t.Fatalf("the second case does not list the first as a match:\n%s", body)
			}
			if strings.Contains(body, "Confirmada") {
				t.Error("a match is confirmed before anyone confirmed it")
			}
			resp, _ = do(t, a, s.req(t, "POST", "/cases/"+m2[1]+"/confirm", url.Values{"other": {id}}))
			if resp.StatusCode != 303 {
				t.Fatalf("confirm: %d", resp.StatusCode)
			}
			if _, body = do(t, a, s.req(t, "GET", "/cases/"+m2[1], nil)); !strings.Contains(body, "Confirmada") {
				t.Error("the confirmed match does not say so")
			}

			resp, body = do(t, a, s.req(t, "GET", "/cases/"+id+"/export", nil))
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
				!strings.Contains(body, `"full_name": "José Luis Hernández García"`) {
				t.Fatalf("export %d %v:\n%s", resp.StatusCode, resp.Header, body)
			}
			entries, err := cs.env.Service.AuditRecent(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, e := range entries {
				if e.Subject == id {
					count[e.Action]++
				}
			}
			if count["case.view"] < 2 || count["case.export"] != 1 || count["case.create"] != 1 {
				t.Errorf("audit of the case: %v", count)
			}

			v := s.signIn(t, vol)
			for _, p := range []string{"/cases", "/cases/new", "/cases/" + id, "/cases/" + id + "/export"} {
				if resp, body := do(t, v, s.req(t, "GET", p, nil)); resp.StatusCode != 403 || strings.Contains(body, "Hern") {
					t.Errorf("volunteer GET %s: %d", p, resp.StatusCode)
				}
			}
			if resp, _ := do(t, v, s.req(t, "POST", "/cases/"+id+"/note", url.Values{"text": {"x"}})); resp.StatusCode != 403 {
				t.Errorf("volunteer POST note: %d", resp.StatusCode)
			}
			if _, body := do(t, v, s.req(t, "GET", "/", nil)); strings.Contains(body, `href="/cases"`) {
				t.Error("a volunteer's navigation offers the cases")
			}
		})
	}
}
