package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/keyring"
	"github.com/enlace-rfl/enlace/tracing"
)

// CaseBackend is a tracing.Store implementation under test.
type CaseBackend struct {
	// Open returns a new, empty store for one subtest (cleanup is its own).
	Open func(t *testing.T) tracing.Store
	// Elapse lets d pass on the store's own clock (Redis TTLs); nil for a store
	// that only reads the time it is given.
	Elapse func(t *testing.T, s tracing.Store, d time.Duration)
	// Sweep removes what expired by now, for a store that sweeps (bbolt); nil
	// for one whose records expire by themselves.
	Sweep func(t *testing.T, s tracing.Store, now time.Time)
	// Contents lists every key and stored value of s as text.
	Contents func(t *testing.T, s tracing.Store) []string
}

// RunCases runs the conformance suite of tracing.Store. Subtests run in
// parallel, each on a store of its own, on a fake clock.
func RunCases(t *testing.T, b CaseBackend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s tracing.Store, b CaseBackend)
	}{
		{"RoundTrip", testCaseRoundTrip},
		{"Invalid", testCaseInvalid},
		{"Code", testCaseCode},
		{"CodeRace", testCaseCodeRace},
		{"List", testCaseList},
		{"PINConcurrent", testCasePINConcurrent},
		{"PINReset", testCasePINReset},
		{"PINClear", testCasePINClear},
		{"PINLockExpiry", testCasePINLockExpiry},
		{"Erase", testCaseErase},
		{"EraseEnquirer", testCaseEraseEnquirer},
		{"Replace", testCaseReplace},
		{"ReplaceRace", testCaseReplaceRace},
		{"Retention", testCaseRetention},
		{"Reseal", testCaseReseal},
		{"ResealWithKeys", testCaseResealKeys},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, b.Open(t), b)
		})
	}
}

const caseRetention = 30 * 24 * time.Hour

// caseRecord is a record for id with keys derived from it, waiting since waiting.
func caseRecord(id string, status tracing.Status, waiting time.Time) tracing.Record {
	return tracing.Record{
		ID: id, CodeKey: "code" + id + "x", EnquirerKey: "enq" + id + "x", Status: status,
		Created: waiting, Updated: waiting, Waiting: waiting, Expires: waiting.Add(caseRetention),
		Sealed: []byte("sealed\x00\xff" + id),
	}
}

func putCase(t *testing.T, s tracing.Store, rec tracing.Record, now time.Time) {
	t.Helper()
	if err := s.PutCase(ctx, rec, now); err != nil {
		t.Fatalf("PutCase %s: %v", rec.ID, err)
	}
}

func sameRecord(t *testing.T, got, want tracing.Record) {
	t.Helper()
	if got.ID != want.ID || got.CodeKey != want.CodeKey || got.EnquirerKey != want.EnquirerKey ||
		got.Status != want.Status || got.Caseworker != want.Caseworker || !got.Created.Equal(want.Created) ||
		!got.Updated.Equal(want.Updated) || !got.Waiting.Equal(want.Waiting) || !got.Expires.Equal(want.Expires) ||
		!bytes.Equal(got.Sealed, want.Sealed) {
		t.Fatalf("record = %+v\nwant %+v", got, want)
	}
}

func wantNoCase(t *testing.T, s tracing.Store, rec tracing.Record, now time.Time) {
	t.Helper()
	if _, err := s.GetCase(ctx, rec.ID, now); !errors.Is(err, tracing.ErrNotFound) {
		t.Errorf("GetCase %s: %v, want ErrNotFound", rec.ID, err)
	}
	if id, err := s.CaseByCode(ctx, rec.CodeKey, now); !errors.Is(err, tracing.ErrNotFound) {
		t.Errorf("CaseByCode of %s: %q, %v, want ErrNotFound", rec.ID, id, err)
	}
	if _, _, err := s.PINFailure(ctx, rec.ID, now); !errors.Is(err, tracing.ErrNotFound) {
		t.Errorf("PINFailure %s: %v, want ErrNotFound", rec.ID, err)
	}
	list, err := s.ListCases(ctx, tracing.ListQuery{}, now)
	must(t, err)
	for _, r := range list {
		if r.ID == rec.ID {
			t.Errorf("ListCases still lists %s", rec.ID)
		}
	}
}

// wantNothingOf fails when any key or value of the store names rec.
func wantNothingOf(t *testing.T, s tracing.Store, b CaseBackend, rec tracing.Record) {
	t.Helper()
	for _, line := range b.Contents(t, s) {
		for _, v := range []string{rec.ID, rec.CodeKey, rec.EnquirerKey, string(rec.Sealed)} {
			if strings.Contains(line, v) {
				t.Errorf("store still holds %q: %q", v, line)
			}
		}
	}
}

func testCaseRoundTrip(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	rec := caseRecord("c1", tracing.StatusNew, now)
	if _, err := s.GetCase(ctx, "c1", now); !errors.Is(err, tracing.ErrNotFound) {
		t.Fatalf("GetCase of nothing: %v", err)
	}
	putCase(t, s, rec, now)
	got, err := s.GetCase(ctx, "c1", now)
	must(t, err)
	sameRecord(t, got, rec)

	now = now.Add(time.Hour)
	rec.Status, rec.Caseworker, rec.Updated, rec.Sealed = tracing.StatusOpen, "cw1", now, []byte("v2")
	rec.Expires = now.Add(caseRetention)
	putCase(t, s, rec, now)
	got, err = s.GetCase(ctx, "c1", now)
	must(t, err)
	sameRecord(t, got, rec)
}

func testCaseInvalid(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	good := caseRecord("c1", tracing.StatusNew, now)
	for name, mut := range map[string]func(r *tracing.Record){
		"id with brace":  func(r *tracing.Record) { r.ID = "c{1}" },
		"empty id":       func(r *tracing.Record) { r.ID = "" },
		"code key":       func(r *tracing.Record) { r.CodeKey = "RFL 7K3" },
		"enquirer key":   func(r *tracing.Record) { r.EnquirerKey = "" },
		"caseworker":     func(r *tracing.Record) { r.Caseworker = "a:b" },
		"status":         func(r *tracing.Record) { r.Status = "lost" },
		"no expiry":      func(r *tracing.Record) { r.Expires = time.Time{} },
		"expiry passed":  func(r *tracing.Record) { r.Expires = now },
		"nothing sealed": func(r *tracing.Record) { r.Sealed = nil },
	} {
		r := good
		mut(&r)
		if err := s.PutCase(ctx, r, now); !errors.Is(err, tracing.ErrInvalid) {
			t.Errorf("%s: PutCase = %v, want ErrInvalid", name, err)
		}
	}
	if _, err := s.GetCase(ctx, "a}b", now); !errors.Is(err, tracing.ErrInvalid) {
		t.Errorf("GetCase of a bad id: %v, want ErrInvalid", err)
	}
	if list, err := s.ListCases(ctx, tracing.ListQuery{}, now); err != nil || len(list) != 0 {
		t.Errorf("after refused puts the store lists %v, %v", list, err)
	}
}

func testCaseCode(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	a, b := caseRecord("ca", tracing.StatusNew, now), caseRecord("cb", tracing.StatusNew, now)
	putCase(t, s, a, now)
	putCase(t, s, b, now)
	for _, r := range []tracing.Record{a, b} {
		id, err := s.CaseByCode(ctx, r.CodeKey, now)
		if err != nil || id != r.ID {
			t.Fatalf("CaseByCode(%s) = %q, %v, want %s", r.CodeKey, id, err, r.ID)
		}
	}
	if id, err := s.CaseByCode(ctx, "codeunknownx", now); !errors.Is(err, tracing.ErrNotFound) {
		t.Fatalf("wrong code: %q, %v, want ErrNotFound", id, err)
	}
	taken := b
	taken.CodeKey = a.CodeKey
	if err := s.PutCase(ctx, taken, now); !errors.Is(err, tracing.ErrCodeTaken) {
		t.Fatalf("b with a's code: %v, want ErrCodeTaken", err)
	}
	c := caseRecord("cc", tracing.StatusNew, now)
	c.CodeKey = a.CodeKey
	if err := s.PutCase(ctx, c, now); !errors.Is(err, tracing.ErrCodeTaken) {
		t.Fatalf("new case with a's code: %v, want ErrCodeTaken", err)
	}
	if _, err := s.GetCase(ctx, "cc", now); !errors.Is(err, tracing.ErrNotFound) {
		t.Fatalf("a refused case was stored: %v", err)
	}
	// A new code for b: the old one finds nothing.
	old := b.CodeKey
	b.CodeKey = "codenewbx"
	putCase(t, s, b, now)
	if id, err := s.CaseByCode(ctx, old, now); !errors.Is(err, tracing.ErrNotFound) {
		t.Fatalf("b's old code: %q, %v", id, err)
	}
	if id, err := s.CaseByCode(ctx, b.CodeKey, now); err != nil || id != "cb" {
		t.Fatalf("b's new code: %q, %v", id, err)
	}
}

func listIDs(t *testing.T, s tracing.Store, q tracing.ListQuery, now time.Time) []string {
	t.Helper()
	list, err := s.ListCases(ctx, q, now)
	must(t, err)
	var out []string
	for _, r := range list {
		out = append(out, r.ID)
	}
	return out
}

func testCaseList(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	recs := []struct {
		id     string
		status tracing.Status
		cw     string
		ago    time.Duration
	}{
		{"l1", tracing.StatusNew, "", 1 * time.Hour},
		{"l2", tracing.StatusNew, "", 5 * time.Hour},
		{"l3", tracing.StatusOpen, "cwa", 3 * time.Hour},
		{"l4", tracing.StatusSearching, "cwa", 4 * time.Hour},
		{"l5", tracing.StatusOpen, "cwb", 2 * time.Hour},
		{"l6", tracing.StatusClosed, "cwa", 9 * time.Hour},
		{"l7", tracing.StatusNew, "", 5 * time.Hour}, // same wait as l2: by id
	}
	for _, r := range recs {
		rec := caseRecord(r.id, r.status, now.Add(-r.ago))
		rec.Caseworker = r.cw
		putCase(t, s, rec, now)
	}
	for _, tc := range []struct {
		name string
		q    tracing.ListQuery
		want []string
	}{
		{"all", tracing.ListQuery{}, []string{"l6", "l2", "l7", "l4", "l3", "l5", "l1"}},
		{"new", tracing.ListQuery{Statuses: []tracing.Status{tracing.StatusNew}}, []string{"l2", "l7", "l1"}},
		{"open+searching", tracing.ListQuery{Statuses: []tracing.Status{tracing.StatusOpen, tracing.StatusSearching}}, []string{"l4", "l3", "l5"}},
		{"cwa", tracing.ListQuery{Caseworker: "cwa"}, []string{"l6", "l4", "l3"}},
		{"cwa open", tracing.ListQuery{Caseworker: "cwa", Statuses: []tracing.Status{tracing.StatusOpen}}, []string{"l3"}},
		{"located", tracing.ListQuery{Statuses: []tracing.Status{tracing.StatusLocated}}, nil},
		{"page 1", tracing.ListQuery{Limit: 3}, []string{"l6", "l2", "l7"}},
		{"page 2", tracing.ListQuery{Offset: 3, Limit: 3}, []string{"l4", "l3", "l5"}},
		{"page 3", tracing.ListQuery{Offset: 6, Limit: 3}, []string{"l1"}},
		{"past the end", tracing.ListQuery{Offset: 7, Limit: 3}, nil},
	} {
		if got := listIDs(t, s, tc.q, now); !slices.Equal(got, tc.want) {
			t.Errorf("%s: ListCases = %v, want %v", tc.name, got, tc.want)
		}
	}
	// A status change moves the case between lists.
	rec := caseRecord("l1", tracing.StatusOpen, now.Add(-time.Hour))
	rec.Caseworker = "cwb"
	putCase(t, s, rec, now)
	if got := listIDs(t, s, tracing.ListQuery{Statuses: []tracing.Status{tracing.StatusNew}}, now); !slices.Equal(got, []string{"l2", "l7"}) {
		t.Errorf("new after l1 opened: %v", got)
	}
	if got := listIDs(t, s, tracing.ListQuery{Caseworker: "cwb"}, now); !slices.Equal(got, []string{"l5", "l1"}) {
		t.Errorf("cwb after l1 assigned: %v", got)
	}
}

func testCasePINConcurrent(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	putCase(t, s, caseRecord("p1", tracing.StatusNew, now), now)
	const n = 20
	var mu sync.Mutex
	counts := map[tracing.PINOutcome]int{}
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			out, st, err := s.PINFailure(ctx, "p1", now)
			if err != nil {
				t.Error(err)
				return
			}
			if st.Failures > tracing.MaxPINFailures {
				t.Errorf("failures %d above the limit", st.Failures)
			}
			mu.Lock()
			counts[out]++
			mu.Unlock()
		})
	}
	wg.Wait()
	want := map[tracing.PINOutcome]int{tracing.PINWrong: tracing.MaxPINFailures - 1, tracing.PINLockedNow: 1, tracing.PINLocked: n - tracing.MaxPINFailures}
	if !samePINCounts(counts, want) {
		t.Fatalf("outcomes %v, want %v", counts, want)
	}
	st, err := s.PINState(ctx, "p1", now)
	must(t, err)
	if st.Failures != tracing.MaxPINFailures || !st.LockedUntil.Equal(now.Add(tracing.PINLockFor)) || !st.Locked(now) {
		t.Fatalf("state after %d wrong PINs: %+v", n, st)
	}
	// The lock holds: a right PIN does not lift it.
	must(t, s.PINReset(ctx, "p1", now))
	if st, err := s.PINState(ctx, "p1", now); err != nil || !st.Locked(now) {
		t.Fatalf("PINReset lifted the lock: %+v, %v", st, err)
	}
	if _, err := s.PINState(ctx, "nobody", now); !errors.Is(err, tracing.ErrNotFound) {
		t.Fatalf("PINState of no case: %v", err)
	}
}

func samePINCounts(a, b map[tracing.PINOutcome]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func testCasePINReset(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	putCase(t, s, caseRecord("p1", tracing.StatusNew, now), now)
	for round := range 3 {
		for i := 1; i < tracing.MaxPINFailures; i++ {
			out, st, err := s.PINFailure(ctx, "p1", now)
			if err != nil || out != tracing.PINWrong || st.Failures != i {
				t.Fatalf("round %d, wrong PIN %d: %v %+v %v", round, i, out, st, err)
			}
		}
		must(t, s.PINReset(ctx, "p1", now))
		if st, err := s.PINState(ctx, "p1", now); err != nil || st != (tracing.PINState{}) {
			t.Fatalf("after a right PIN: %+v, %v", st, err)
		}
		now = now.Add(time.Minute)
	}
}

// testCasePINClear: a caseworker's clear forgets a lock too.
func testCasePINClear(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	putCase(t, s, caseRecord("p1", tracing.StatusNew, now), now)
	for range tracing.MaxPINFailures {
		_, _, err := s.PINFailure(ctx, "p1", now)
		must(t, err)
	}
	if st, err := s.PINState(ctx, "p1", now); err != nil || !st.Locked(now) {
		t.Fatalf("after three wrong PINs: %+v, %v; want locked", st, err)
	}
	must(t, s.PINReset(ctx, "p1", now))
	if st, _ := s.PINState(ctx, "p1", now); !st.Locked(now) {
		t.Fatal("PINReset lifted a lock")
	}
	must(t, s.PINClear(ctx, "p1"))
	if st, err := s.PINState(ctx, "p1", now); err != nil || st != (tracing.PINState{}) {
		t.Fatalf("after PINClear: %+v, %v", st, err)
	}
	if out, _, err := s.PINFailure(ctx, "p1", now); err != nil || out != tracing.PINWrong {
		t.Fatalf("a wrong PIN after the clear: %v, %v; want counted", out, err)
	}
}

func caseElapse(t *testing.T, s tracing.Store, b CaseBackend, now *time.Time, d time.Duration) {
	t.Helper()
	*now = now.Add(d)
	if b.Elapse != nil {
		b.Elapse(t, s, d)
	}
}

func testCasePINLockExpiry(t *testing.T, s tracing.Store, b CaseBackend) {
	now := epoch
	putCase(t, s, caseRecord("p1", tracing.StatusNew, now), now)
	for range tracing.MaxPINFailures {
		_, _, err := s.PINFailure(ctx, "p1", now)
		must(t, err)
	}
	caseElapse(t, s, b, &now, tracing.PINLockFor-time.Second)
	if out, st, err := s.PINFailure(ctx, "p1", now); err != nil || out != tracing.PINLocked || !st.Locked(now) {
		t.Fatalf("a second before the lock ends: %v %+v %v", out, st, err)
	}
	caseElapse(t, s, b, &now, time.Second)
	if st, err := s.PINState(ctx, "p1", now); err != nil || st.Locked(now) {
		t.Fatalf("the lock did not end: %+v, %v", st, err)
	}
	if out, st, err := s.PINFailure(ctx, "p1", now); err != nil || out != tracing.PINWrong || st.Failures != 1 {
		t.Fatalf("first wrong PIN after the lock: %v %+v %v", out, st, err)
	}
}

func testCaseErase(t *testing.T, s tracing.Store, b CaseBackend) {
	now := epoch
	gone, kept := caseRecord("erasedcase", tracing.StatusOpen, now), caseRecord("keptcase", tracing.StatusOpen, now)
	gone.Caseworker = "cwa"
	putCase(t, s, gone, now)
	putCase(t, s, kept, now)
	for _, id := range []string{gone.ID, kept.ID} {
		_, _, err := s.PINFailure(ctx, id, now)
		must(t, err)
	}
	must(t, s.EraseCase(ctx, gone.ID))
	must(t, s.EraseCase(ctx, gone.ID)) // twice is fine
	must(t, s.EraseCase(ctx, "nevercase"))
	wantNoCase(t, s, gone, now)
	wantNothingOf(t, s, b, gone)
	got, err := s.GetCase(ctx, kept.ID, now)
	must(t, err)
	sameRecord(t, got, kept)
	if st, err := s.PINState(ctx, kept.ID, now); err != nil || st.Failures != 1 {
		t.Fatalf("the other case's PIN state: %+v, %v", st, err)
	}
	// The erased case's code is free again.
	c := caseRecord("newcase", tracing.StatusNew, now)
	c.CodeKey = gone.CodeKey
	putCase(t, s, c, now)
}

func testCaseEraseEnquirer(t *testing.T, s tracing.Store, b CaseBackend) {
	now := epoch
	var mine []tracing.Record
	for _, id := range []string{"mine1", "mine2", "mine3"} {
		r := caseRecord(id, tracing.StatusNew, now)
		r.EnquirerKey = "enqmex"
		putCase(t, s, r, now)
		_, _, err := s.PINFailure(ctx, id, now)
		must(t, err)
		mine = append(mine, r)
	}
	other := caseRecord("theirs1", tracing.StatusNew, now)
	putCase(t, s, other, now)
	ids, err := s.CasesOf(ctx, "enqmex", now)
	must(t, err)
	if !slices.Equal(ids, []string{"mine1", "mine2", "mine3"}) {
		t.Fatalf("CasesOf: %v", ids)
	}
	if ids, err := s.CasesOf(ctx, "enqmex", now.Add(400*24*time.Hour)); err != nil || len(ids) != 0 {
		t.Fatalf("CasesOf after they expired: %v, %v", ids, err)
	}
	ids, err = s.EraseEnquirer(ctx, "enqmex")
	must(t, err)
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"mine1", "mine2", "mine3"}) {
		t.Fatalf("EraseEnquirer erased %v", ids)
	}
	for _, r := range mine {
		wantNoCase(t, s, r, now)
		wantNothingOf(t, s, b, r)
	}
	if ids, err := s.EraseEnquirer(ctx, "enqmex"); err != nil || len(ids) != 0 {
		t.Fatalf("second EraseEnquirer: %v, %v", ids, err)
	}
	if ids, err := s.CasesOf(ctx, "enqmex", now); err != nil || len(ids) != 0 {
		t.Fatalf("CasesOf after erase: %v, %v", ids, err)
	}
	got, err := s.GetCase(ctx, other.ID, now)
	must(t, err)
	sameRecord(t, got, other)
}

func testCaseRetention(t *testing.T, s tracing.Store, b CaseBackend) {
	now := epoch
	short := caseRecord("shortcase", tracing.StatusClosed, now)
	short.Expires = now.Add(10 * 24 * time.Hour)
	long := caseRecord("longcase", tracing.StatusOpen, now)
	putCase(t, s, short, now)
	putCase(t, s, long, now)
	_, _, err := s.PINFailure(ctx, short.ID, now)
	must(t, err)

	caseElapse(t, s, b, &now, 10*24*time.Hour-time.Second)
	if _, err := s.GetCase(ctx, short.ID, now); err != nil {
		t.Fatalf("a second before its expiry: %v", err)
	}
	caseElapse(t, s, b, &now, time.Second)
	wantNoCase(t, s, short, now)
	if b.Sweep != nil {
		b.Sweep(t, s, now)
	}
	wantNothingOf(t, s, b, short)
	got, err := s.GetCase(ctx, long.ID, now)
	must(t, err)
	sameRecord(t, got, long)
	// Its code can be given to a new case.
	c := caseRecord("newcase", tracing.StatusNew, now)
	c.CodeKey = short.CodeKey
	putCase(t, s, c, now)
}

func testCaseReseal(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	a, b := caseRecord("ra", tracing.StatusNew, now), caseRecord("rb", tracing.StatusOpen, now)
	putCase(t, s, a, now)
	putCase(t, s, b, now)
	seen := map[string]string{}
	n, err := s.ResealCases(ctx, func(id string, sealed []byte) ([]byte, error) {
		seen[id] = string(sealed)
		if id == "rb" {
			return nil, nil // left as it is
		}
		return []byte("resealed " + id), nil
	})
	must(t, err)
	if n != 1 || len(seen) != 2 || seen["ra"] != string(a.Sealed) || seen["rb"] != string(b.Sealed) {
		t.Fatalf("ResealCases replaced %d, saw %q", n, seen)
	}
	got, err := s.GetCase(ctx, "ra", now)
	must(t, err)
	a.Sealed = []byte("resealed ra")
	sameRecord(t, got, a)
	got, err = s.GetCase(ctx, "rb", now)
	must(t, err)
	sameRecord(t, got, b)
	if id, err := s.CaseByCode(ctx, a.CodeKey, now); err != nil || id != "ra" {
		t.Fatalf("code after reseal: %q, %v", id, err)
	}
}

// testCaseResealKeys checks tracing.ResealCases on s: cases sealed with an
// old key open with the new key alone afterwards.
func testCaseResealKeys(t *testing.T, s tracing.Store, _ CaseBackend) {
	oldSpec := "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	newSpec := "k2:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8="
	old, err := keyring.Parse(oldSpec)
	must(t, err)
	both, err := keyring.Parse(newSpec + "," + oldSpec)
	must(t, err)
	now := epoch
	for _, id := range []string{"ka", "kb"} {
		c := &tracing.Case{ID: id, Code: "7K3D9M2", Status: tracing.StatusNew, Created: now, Updated: now,
			Sought: tracing.Sought{Person: tracing.Person{FullName: "Nadège Pierre " + id}}}
		rec, err := tracing.NewRecord(old, c, "enq"+id, "", now, caseRetention)
		must(t, err)
		rec.CodeKey += id
		putCase(t, s, rec, now)
	}
	rep, err := tracing.ResealCases(ctx, s, both)
	must(t, err)
	if rep.Resealed != 2 || rep.Before["k1"] != 2 || rep.Unreadable != 0 {
		t.Fatalf("first reseal: %+v", rep)
	}
	if rep, err := tracing.ResealCases(ctx, s, both); err != nil || rep.Resealed != 0 || rep.Before["k2"] != 2 {
		t.Fatalf("second reseal: %+v, %v", rep, err)
	}
	onlyNew, err := keyring.Parse(newSpec + ",hash:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	must(t, err)
	for _, id := range []string{"ka", "kb"} {
		rec, err := s.GetCase(ctx, id, now)
		must(t, err)
		c, err := tracing.OpenCase(onlyNew, id, rec.Sealed)
		if err != nil || c.Sought.FullName != "Nadège Pierre "+id {
			t.Fatalf("case %s with the new key alone: %+v, %v", id, c, err)
		}
	}
}

// testCaseCodeRace: cases racing for one code, exactly one gets it.
func testCaseCodeRace(t *testing.T, s tracing.Store, _ CaseBackend) {
	now := epoch
	const n = 12
	var won sync.Map
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r := caseRecord("race"+string(rune('a'+i)), tracing.StatusNew, now)
			r.CodeKey = "coderacex"
			switch err := s.PutCase(ctx, r, now); {
			case err == nil:
				won.Store(r.ID, true)
			case !errors.Is(err, tracing.ErrCodeTaken):
				t.Error(err)
			}
		})
	}
	wg.Wait()
	var winners []string
	won.Range(func(k, _ any) bool { winners = append(winners, k.(string)); return true })
	if len(winners) != 1 {
		t.Fatalf("%d cases got one code: %v", len(winners), winners)
	}
	if id, err := s.CaseByCode(ctx, "coderacex", now); err != nil || id != winners[0] {
		t.Fatalf("the code finds %q, %v; the winner was %s", id, err, winners[0])
	}
}

// testCaseReplace: a case is replaced only over what was read; a stale read
// gets ErrChanged and changes nothing; a case that is gone stays gone.
func testCaseReplace(t *testing.T, s tracing.Store, b CaseBackend) {
	now := epoch
	r := caseRecord("repl1", tracing.StatusNew, now)
	putCase(t, s, r, now)
	next := r
	next.Status, next.Caseworker, next.Updated = tracing.StatusOpen, "cw1", now.Add(time.Minute)
	next.Sealed = []byte("sealed-v2")
	must(t, s.ReplaceCase(ctx, next, r.Sealed, now.Add(time.Minute)))
	got, err := s.GetCase(ctx, r.ID, now.Add(time.Minute))
	must(t, err)
	sameRecord(t, got, next)
	stale := r
	stale.Status, stale.Sealed = tracing.StatusSearching, []byte("sealed-stale")
	if err := s.ReplaceCase(ctx, stale, r.Sealed, now.Add(2*time.Minute)); !errors.Is(err, tracing.ErrChanged) {
		t.Fatalf("ReplaceCase over a stale read: %v, want ErrChanged", err)
	}
	got, err = s.GetCase(ctx, r.ID, now.Add(2*time.Minute))
	must(t, err)
	sameRecord(t, got, next)
	if id, err := s.CaseByCode(ctx, r.CodeKey, now); err != nil || id != r.ID {
		t.Fatalf("CaseByCode after replace: %q, %v", id, err)
	}
	must(t, s.EraseCase(ctx, r.ID))
	if err := s.ReplaceCase(ctx, next, next.Sealed, now.Add(3*time.Minute)); !errors.Is(err, tracing.ErrNotFound) {
		t.Fatalf("ReplaceCase of an erased case: %v, want ErrNotFound", err)
	}
	wantNoCase(t, s, r, now.Add(3*time.Minute))
}

// testCaseReplaceRace: of many writers that read the same case, exactly one
// replaces it.
func testCaseReplaceRace(t *testing.T, s tracing.Store, b CaseBackend) {
	now := epoch
	r := caseRecord("replrace", tracing.StatusNew, now)
	putCase(t, s, r, now)
	const n = 16
	var wg sync.WaitGroup
	var won atomic.Int32
	for i := range n {
		wg.Go(func() {
			next := r
			next.Sealed = []byte(fmt.Sprintf("sealed-writer-%d", i))
			switch err := s.ReplaceCase(ctx, next, r.Sealed, now); {
			case err == nil:
				won.Add(1)
			case !errors.Is(err, tracing.ErrChanged):
				t.Errorf("writer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if won.Load() != 1 {
		t.Fatalf("%d writers replaced the case, want exactly 1", won.Load())
	}
}
