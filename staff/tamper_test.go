package staff_test

import (
	"errors"
	"strconv"
	"testing"

	"github.com/enlace-rfl/enlace/staff"
	"github.com/enlace-rfl/enlace/staff/stafftest"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
	"github.com/enlace-rfl/enlace/store/redis/redistest"
)

// TestAuditTamperRedis changes the audit log behind the service's back, the
// way someone with access to Redis would, and checks VerifyAudit notices.
func TestAuditTamperRedis(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, st *redisstore.Store, log, head string)
		seq    int64
	}{
		{"entry replaced by another", func(t *testing.T, st *redisstore.Store, log, _ string) {
			v := st.Client().HGet(ctx, log, "3").Val()
			st.Client().HSet(ctx, log, "5", v)
		}, 5},
		{"entry altered", func(t *testing.T, st *redisstore.Store, log, _ string) {
			b := []byte(st.Client().HGet(ctx, log, "4").Val())
			b[len(b)-3] ^= 1
			st.Client().HSet(ctx, log, "4", b)
		}, 4},
		{"entry removed", func(t *testing.T, st *redisstore.Store, log, _ string) {
			st.Client().HDel(ctx, log, "6")
		}, 6},
		{"last entry removed", func(t *testing.T, st *redisstore.Store, log, head string) {
			st.Client().HDel(ctx, log, "10")
			st.Client().HSet(ctx, head, "seq", "9")
		}, 9},
		{"oldest entries removed as if expired", func(t *testing.T, st *redisstore.Store, log, head string) {
			st.Client().HDel(ctx, log, "1", "2")
			st.Client().HSet(ctx, head, "floor", "3")
		}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := srv.NewPrefix()
			st, err := redisstore.Open(ctx, srv.URL, redisstore.Options{Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			e := stafftest.NewOn(t, nil, staff.Config{Store: st})
			for i := range 10 {
				if err := e.Service.Record(ctx, staff.Operator, "test", "s"+strconv.Itoa(i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := e.Service.VerifyAudit(ctx); err != nil {
				t.Fatalf("before tampering: %v", err)
			}
			tc.tamper(t, st, prefix+":staff:{audit}:log", prefix+":staff:{audit}:head")
			_, err = e.Service.VerifyAudit(ctx)
			var broken *staff.AuditBrokenError
			if !errors.As(err, &broken) || broken.Seq != tc.seq {
				t.Fatalf("VerifyAudit = %v, want broken at %d", err, tc.seq)
			}
		})
	}
}
