package staff_test

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestResealThenRetireTheOldKey rotates the sealing key on both stores the
// way README "Rotating keys" says: a new key in front, Reseal, then the old
// key dropped (its material kept as the hashing key). Staff must still be
// listed, log in, keep their sessions and API tokens, and the audit chain
// must verify. Without the reseal, the same retirement loses them: the test
// can fail.
func TestResealThenRetireTheOldKey(t *testing.T) {
	srv := redistest.Start(t)
	stores := map[string]func(t *testing.T) *stafftest.Env{
		"embedded": func(t *testing.T) *stafftest.Env { return stafftest.New(t, staff.Config{}) },
		"redis": func(t *testing.T) *stafftest.Env {
			st, err := redisstore.Open(ctx, srv.URL, redisstore.Options{Prefix: srv.NewPrefix()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			return stafftest.NewOn(t, nil, staff.Config{Store: st})
		},
	}
	for name, open := range stores {
		for _, reseal := range []bool{true, false} {
			t.Run(name+map[bool]string{true: "/resealed", false: "/not resealed"}[reseal], func(t *testing.T) {
				e := open(t)
				oldSpec, newSpec := spec(t, "k1"), spec(t, "k2")
				with := func(spec string) *staff.Service {
					keys, err := keyring.Parse(spec)
					if err != nil {
						t.Fatal(err)
					}
					cfg := e.Service.Config()
					cfg.Keys = keys
					return staff.New(cfg)
				}
				e.Service = with(oldSpec)
				m := e.Enrol(t, "maria", staff.RoleVolunteer, "es", "ht")
				session := e.Login(t, m)
				apiToken, _, err := e.Service.IssueToken(ctx, staff.Operator, m.ID)
				if err != nil {
					t.Fatal(err)
				}

				e.Service = with(newSpec + "," + oldSpec)
				if reseal {
					rep, err := e.Service.Reseal(ctx)
					// An account, a session and the audit entries of add, enrol, login and token.
					if err != nil || rep.Before["k1"] < 6 || rep.Resealed != rep.Before["k1"] || rep.Unreadable != 0 {
						t.Fatalf("Reseal = %+v, %v; want every k1 record sealed again", rep, err)
					}
					if rep, err := e.Service.Reseal(ctx); err != nil || rep.Resealed != 0 || len(rep.Before) != 1 || rep.Before["k2"] == 0 {
						t.Fatalf("second Reseal = %+v, %v; want only k2 records and nothing to do", rep, err)
					}
				}

				e.Service = with(newSpec + ",hash:" + strings.TrimPrefix(oldSpec, "k1:"))
				list, err := e.Service.List(ctx)
				listed := err == nil && len(list) == 1 && list[0].Name == "maria" && strings.Join(list[0].Languages, ",") == "es,ht"
				_, sessionErr := e.Service.Session(ctx, session)
				_, tokenErr := e.Service.TokenAccount(ctx, apiToken, "127.0.0.1")
				_, auditErr := e.Service.VerifyAudit(ctx)
				if !reseal {
					if listed || sessionErr == nil || tokenErr == nil || auditErr == nil {
						t.Fatalf("without a reseal the old key was not needed: list %v, session %v, token %v, audit %v", err, sessionErr, tokenErr, auditErr)
					}
					return
				}
				if !listed {
					t.Fatalf("List after retiring the old key = %+v, %v", list, err)
				}
				if sessionErr != nil || tokenErr != nil || auditErr != nil {
					t.Fatalf("after retiring the old key: session %v, API token %v, audit %v", sessionErr, tokenErr, auditErr)
				}
				if _, _, err := e.Service.Login(ctx, m.Name, m.Password, e.Code(t, m.Secret), "127.0.0.1"); err != nil {
					t.Fatalf("Login after retiring the old key: %v", err)
				}
			})
		}
	}
}

func spec(t *testing.T, id string) string {
	t.Helper()
	s, err := keyring.NewSpec(id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
