package console_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/console/apitest"
	"github.com/enlace-rfl/enlace/staff"
)

func bearer(t *testing.T, s *site, path, token string) *http.Request {
	t.Helper()
	r := s.req(t, "GET", path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return r
}

func TestAPIMatchesOpenAPI(t *testing.T) {
	s := newSite(t)
	v := apitest.New(t)
	adm := s.Enrol(t, "boss", staff.RoleAdmin, "en", "es")
	vol := s.Enrol(t, "vol", staff.RoleVolunteer, "ht")
	admTok, _, err := s.Service.IssueToken(ctx, staff.Operator, adm.ID)
	if err != nil {
		t.Fatal(err)
	}
	volTok, volInfo, err := s.Service.IssueToken(ctx, staff.Operator, vol.ID)
	if err != nil {
		t.Fatal(err)
	}
	c := s.client(t)

	status, body := v.Do(t, c, bearer(t, s, "/api/v1/whoami", admTok))
	var me struct {
		ID, Name, Role string
		Languages      []string
	}
	if err := json.Unmarshal(body, &me); status != 200 || err != nil || me.ID != adm.ID || me.Role != "admin" || strings.Join(me.Languages, ",") != "en,es" {
		t.Fatalf("whoami = %d %s", status, body)
	}
	if status, _ := v.Do(t, c, bearer(t, s, "/api/v1/whoami", "")); status != 401 {
		t.Fatalf("whoami without a token = %d", status)
	}
	if status, _ := v.Do(t, c, bearer(t, s, "/api/v1/whoami", "enlace_nonsense")); status != 401 {
		t.Fatalf("whoami with a bad token = %d", status)
	}
	if status, _ := v.Do(t, c, bearer(t, s, "/api/v1/audit", volTok)); status != 403 {
		t.Fatalf("volunteer's audit = %d, want 403", status)
	}
	status, body = v.Do(t, c, bearer(t, s, "/api/v1/audit?limit=3", admTok))
	var page struct {
		Entries []staff.Entry
		Next    int64
	}
	if err := json.Unmarshal(body, &page); status != 200 || err != nil || len(page.Entries) != 3 || page.Next != 4 {
		t.Fatalf("audit = %d %s", status, body)
	}
	if status, _ := v.Do(t, c, bearer(t, s, "/api/v1/audit?limit=0", admTok)); status != 400 {
		t.Fatalf("audit limit=0 = %d", status)
	}
	// Every token use is in the audit log, with the token's id as subject.
	_, body = v.Do(t, c, bearer(t, s, "/api/v1/audit?from=1&limit=1000", admTok))
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	uses := map[string]int{}
	for _, e := range page.Entries {
		if e.Action == staff.ActionTokenUse {
			uses[e.Subject]++
		}
	}
	if uses[volInfo.ID] != 1 || len(uses) != 2 {
		t.Fatalf("token uses in the audit: %v", uses)
	}
	// A session works too, and a revoked token no longer does.
	sess := s.signIn(t, vol)
	if status, _ := v.Do(t, sess, bearer(t, s, "/api/v1/whoami", "")); status != 200 {
		t.Fatalf("whoami with a session = %d", status)
	}
	if status, _ := v.Do(t, sess, bearer(t, s, "/api/v1/audit", "")); status != 403 {
		t.Fatalf("volunteer session's audit = %d", status)
	}
	if err := s.Service.RevokeToken(ctx, staff.Operator, vol.ID, volInfo.ID); err != nil {
		t.Fatal(err)
	}
	if status, _ := v.Do(t, c, bearer(t, s, "/api/v1/whoami", volTok)); status != 401 {
		t.Fatalf("revoked token = %d", status)
	}
}
