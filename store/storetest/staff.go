package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/staff"
)

// RunStaff runs the conformance suite of staff.Store. open returns a new,
// empty store for one subtest. Times are passed in, never read from a clock.
func RunStaff(t *testing.T, open func(t *testing.T) staff.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s staff.Store)
	}{
		{"Accounts", testStaffAccounts},
		{"AccountCompareAndSet", testStaffAccountCAS},
		{"ConcurrentAccountUpdates", testStaffConcurrentUpdates},
		{"Sessions", testStaffSessions},
		{"Failures", testStaffFailures},
		{"Audit", testStaffAudit},
		{"ConcurrentAudit", testStaffConcurrentAudit},
		{"InvalidKeys", testStaffInvalidKeys},
		{"Reseal", testStaffReseal},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

var staffT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func testStaffAccounts(t *testing.T, s staff.Store) {
	if _, err := s.Account(ctx, "a1"); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("Account of nobody: %v, want ErrNotFound", err)
	}
	if _, err := s.AccountByName(ctx, "n1"); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("AccountByName of nobody: %v, want ErrNotFound", err)
	}
	if m, err := s.Accounts(ctx); err != nil || len(m) != 0 {
		t.Fatalf("Accounts of an empty store = %v, %v", m, err)
	}
	rec1 := []byte("rec-1\x00:\xff")
	if err := s.CreateAccount(ctx, "a1", "n1", rec1); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, "a1", "n2", []byte("x")); !errors.Is(err, staff.ErrExists) {
		t.Fatalf("same id again: %v, want ErrExists", err)
	}
	if err := s.CreateAccount(ctx, "a2", "n1", []byte("x")); !errors.Is(err, staff.ErrExists) {
		t.Fatalf("same name again: %v, want ErrExists", err)
	}
	if _, err := s.Account(ctx, "a2"); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("a refused create left a record: %v", err)
	}
	if err := s.CreateAccount(ctx, "a2", "n2", []byte("rec-2")); err != nil {
		t.Fatal(err)
	}
	got, err := s.Account(ctx, "a1")
	if err != nil || !bytes.Equal(got, rec1) {
		t.Fatalf("Account(a1) = %q, %v; want %q", got, err, rec1)
	}
	if id, err := s.AccountByName(ctx, "n2"); err != nil || id != "a2" {
		t.Fatalf("AccountByName(n2) = %q, %v", id, err)
	}
	m, err := s.Accounts(ctx)
	if err != nil || len(m) != 2 || !bytes.Equal(m["a1"], rec1) || string(m["a2"]) != "rec-2" {
		t.Fatalf("Accounts = %q, %v", m, err)
	}
}

func testStaffAccountCAS(t *testing.T, s staff.Store) {
	if err := s.UpdateAccount(ctx, "a1", []byte("x"), []byte("y")); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("update of nobody: %v, want ErrNotFound", err)
	}
	if err := s.CreateAccount(ctx, "a1", "n1", []byte("v1")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAccount(ctx, "a1", []byte("v1"), []byte("v2")); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAccount(ctx, "a1", []byte("v1"), []byte("v3")); !errors.Is(err, staff.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if got, _ := s.Account(ctx, "a1"); string(got) != "v2" {
		t.Fatalf("after a stale update the record is %q, want v2", got)
	}
}

// testStaffConcurrentUpdates: twenty writers read the same record and write;
// exactly one compare-and-set wins.
func testStaffConcurrentUpdates(t *testing.T, s staff.Store) {
	if err := s.CreateAccount(ctx, "a1", "n1", []byte("v0")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won, lost := 0, 0
	for i := range 20 {
		wg.Go(func() {
			err := s.UpdateAccount(ctx, "a1", []byte("v0"), fmt.Appendf(nil, "w%d", i))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case errors.Is(err, staff.ErrConflict):
				lost++
			default:
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if won != 1 || lost != 19 {
		t.Fatalf("won %d, lost %d; want 1 and 19", won, lost)
	}
}

func testStaffSessions(t *testing.T, s staff.Store) {
	if _, err := s.Session(ctx, "k1", staffT0); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("Session of nothing: %v", err)
	}
	rec := []byte("ses\x00\xff:1")
	if err := s.PutSession(ctx, "k1", rec, staffT0, staffT0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "k1", staffT0.Add(time.Hour-time.Millisecond)); err != nil || !bytes.Equal(got, rec) {
		t.Fatalf("Session before expiry = %q, %v", got, err)
	}
	if _, err := s.Session(ctx, "k1", staffT0.Add(time.Hour)); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("Session at expiry: %v, want ErrNotFound", err)
	}
	if err := s.PutSession(ctx, "k1", []byte("v2"), staffT0, staffT0.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Session(ctx, "k1", staffT0.Add(90*time.Minute)); err != nil || string(got) != "v2" {
		t.Fatalf("renewed Session = %q, %v", got, err)
	}
	if err := s.DeleteSession(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "k1", staffT0); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("deleted Session: %v", err)
	}
	if err := s.DeleteSession(ctx, "k1"); err != nil {
		t.Fatalf("deleting an absent session: %v", err)
	}
	if err := s.PutSession(ctx, "k2", []byte("x"), staffT0, staffT0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Session(ctx, "k2", staffT0.Add(-time.Minute)); !errors.Is(err, staff.ErrNotFound) {
		t.Fatalf("a session put already expired is stored: %v", err)
	}
}

func testStaffFailures(t *testing.T, s staff.Store) {
	const w = 15 * time.Minute
	start := staffT0.Truncate(w)
	if n, err := s.Failures(ctx, "f1", start, w); err != nil || n != 0 {
		t.Fatalf("Failures of nothing = %d, %v", n, err)
	}
	for i := int64(1); i <= 3; i++ {
		n, err := s.AddFailure(ctx, "f1", start.Add(time.Duration(i)*time.Minute), w)
		if err != nil || n != i {
			t.Fatalf("AddFailure #%d = %d, %v", i, n, err)
		}
	}
	if n, _ := s.Failures(ctx, "f1", start.Add(w-time.Nanosecond), w); n != 3 {
		t.Fatalf("Failures at the window's end = %d, want 3", n)
	}
	if n, _ := s.Failures(ctx, "f2", start, w); n != 0 {
		t.Fatalf("another key counts %d", n)
	}
	if n, _ := s.Failures(ctx, "f1", start.Add(w), w); n != 0 {
		t.Fatalf("the next window starts at %d, want 0", n)
	}
	if n, _ := s.AddFailure(ctx, "f1", start.Add(w), w); n != 1 {
		t.Fatalf("first failure of the next window counts %d", n)
	}
}

func testStaffAudit(t *testing.T, s staff.Store) {
	h, err := s.AuditHead(ctx)
	if err != nil || h != (staff.AuditHead{Floor: 1}) {
		t.Fatalf("empty head = %+v, %v", h, err)
	}
	if err := s.AppendAudit(ctx, 2, "h2", []byte("e2")); !errors.Is(err, staff.ErrConflict) {
		t.Fatalf("append past the head: %v, want ErrConflict", err)
	}
	for i := int64(1); i <= 5; i++ {
		if err := s.AppendAudit(ctx, i, fmt.Sprintf("h%d", i), fmt.Appendf(nil, "e%d\x00\xff", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AppendAudit(ctx, 5, "again", []byte("x")); !errors.Is(err, staff.ErrConflict) {
		t.Fatalf("append of a taken number: %v, want ErrConflict", err)
	}
	if h, _ := s.AuditHead(ctx); h != (staff.AuditHead{Seq: 5, Hash: "h5", Floor: 1}) {
		t.Fatalf("head = %+v", h)
	}
	recs, err := s.AuditEntries(ctx, 2, 3)
	if err != nil || len(recs) != 3 || recs[0].Seq != 2 || recs[2].Seq != 4 || string(recs[1].Data) != "e3\x00\xff" {
		t.Fatalf("AuditEntries(2, 3) = %v, %v", recs, err)
	}
	if recs, _ := s.AuditEntries(ctx, 4, 10); len(recs) != 2 {
		t.Fatalf("AuditEntries past the end = %d records, want 2", len(recs))
	}
	if err := s.TrimAudit(ctx, 2, "h2"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.AuditHead(ctx); h != (staff.AuditHead{Seq: 5, Hash: "h5", Floor: 3, FloorPrev: "h2"}) {
		t.Fatalf("head after trim = %+v", h)
	}
	if recs, _ := s.AuditEntries(ctx, 1, 10); len(recs) != 3 || recs[0].Seq != 3 {
		t.Fatalf("after trim the entries are %v", recs)
	}
	if err := s.AppendAudit(ctx, 6, "h6", []byte("e6")); err != nil {
		t.Fatalf("append after trim: %v", err)
	}
}

// testStaffConcurrentAudit: twenty writers race to append; each retries on
// conflict; the log ends with twenty entries numbered 1 to 20, none lost.
func testStaffConcurrentAudit(t *testing.T, s staff.Store) {
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			for {
				h, err := s.AuditHead(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				err = s.AppendAudit(ctx, h.Seq+1, fmt.Sprintf("w%d", i), fmt.Appendf(nil, "w%d", i))
				if errors.Is(err, staff.ErrConflict) {
					continue
				}
				if err != nil {
					t.Error(err)
				}
				return
			}
		})
	}
	wg.Wait()
	recs, err := s.AuditEntries(ctx, 1, 100)
	if err != nil || len(recs) != 20 {
		t.Fatalf("%d entries, %v; want 20", len(recs), err)
	}
	seen := map[string]bool{}
	for i, r := range recs {
		if r.Seq != int64(i+1) {
			t.Fatalf("entry %d has seq %d", i, r.Seq)
		}
		seen[string(r.Data)] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d distinct writers in the log, want 20", len(seen))
	}
}

func testStaffInvalidKeys(t *testing.T, s staff.Store) {
	for _, bad := range []string{"", "{x}", "a b", "a\x00b"} {
		if err := s.CreateAccount(ctx, bad, "n", nil); err == nil || errors.Is(err, staff.ErrExists) {
			t.Errorf("CreateAccount(%q) = %v", bad, err)
		}
		if err := s.PutSession(ctx, bad, nil, staffT0, staffT0.Add(time.Hour)); err == nil {
			t.Errorf("PutSession(%q) accepted", bad)
		}
		if _, err := s.AddFailure(ctx, bad, staffT0, time.Minute); err == nil {
			t.Errorf("AddFailure(%q) accepted", bad)
		}
	}
}

// testStaffReseal: ResealStaff hands over every sealed staff record, puts
// what f returns in its place (a session keeps its expiry), leaves the rest,
// and stops at f's error.
func testStaffReseal(t *testing.T, s staff.Store) {
	if n, err := s.ResealStaff(ctx, func(staff.RecordKind, []byte) ([]byte, error) {
		t.Error("f called on an empty store")
		return nil, nil
	}); err != nil || n != 0 {
		t.Fatalf("ResealStaff of an empty store = %d, %v", n, err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.CreateAccount(ctx, "a1", "n1", []byte("acct-1")))
	must(s.CreateAccount(ctx, "a2", "n2", []byte("acct-2:\x00")))
	expires := staffT0.Add(time.Hour)
	must(s.PutSession(ctx, "s1", []byte("sess-1:x"), staffT0, expires))
	must(s.AppendAudit(ctx, 1, "h1", []byte("audit-1")))
	must(s.AppendAudit(ctx, 2, "h2", []byte("audit-2")))

	seen := map[string]staff.RecordKind{}
	n, err := s.ResealStaff(ctx, func(kind staff.RecordKind, rec []byte) ([]byte, error) {
		seen[string(rec)] = kind
		if string(rec) == "acct-2:\x00" {
			return nil, nil // left as it is
		}
		return append([]byte("new/"), rec...), nil
	})
	if err != nil || n != 4 {
		t.Fatalf("ResealStaff = %d, %v; want 4 replaced", n, err)
	}
	want := map[string]staff.RecordKind{"acct-1": staff.RecordAccount, "acct-2:\x00": staff.RecordAccount,
		"sess-1:x": staff.RecordSession, "audit-1": staff.RecordAudit, "audit-2": staff.RecordAudit}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("ResealStaff handed over %v, want %v", seen, want)
	}
	if rec, err := s.Account(ctx, "a1"); err != nil || string(rec) != "new/acct-1" {
		t.Errorf("account a1 after reseal = %q, %v", rec, err)
	}
	if rec, err := s.Account(ctx, "a2"); err != nil || string(rec) != "acct-2:\x00" {
		t.Errorf("account a2, left alone, after reseal = %q, %v", rec, err)
	}
	if id, err := s.AccountByName(ctx, "n1"); err != nil || id != "a1" {
		t.Errorf("AccountByName after reseal = %q, %v", id, err)
	}
	if rec, err := s.Session(ctx, "s1", expires.Add(-time.Millisecond)); err != nil || string(rec) != "new/sess-1:x" {
		t.Errorf("session just before its expiry, after reseal = %q, %v", rec, err)
	}
	if _, err := s.Session(ctx, "s1", expires); !errors.Is(err, staff.ErrNotFound) {
		t.Errorf("session at its expiry, after reseal: %v, want ErrNotFound (the expiry is kept)", err)
	}
	got, err := s.AuditEntries(ctx, 1, 10)
	if err != nil || len(got) != 2 || string(got[0].Data) != "new/audit-1" || string(got[1].Data) != "new/audit-2" {
		t.Errorf("audit after reseal = %+v, %v", got, err)
	}
	if h, err := s.AuditHead(ctx); err != nil || h.Seq != 2 || h.Hash != "h2" {
		t.Errorf("audit head after reseal = %+v, %v; want it unchanged", h, err)
	}
	stop := errors.New("stop")
	if _, err := s.ResealStaff(ctx, func(staff.RecordKind, []byte) ([]byte, error) { return nil, stop }); !errors.Is(err, stop) {
		t.Errorf("ResealStaff with a failing f = %v, want f's error", err)
	}
}
