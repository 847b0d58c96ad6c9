package tracing

import (
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/keyring"
)

func testKeyring(t *testing.T) *keyring.Keyring {
	t.Helper()
	spec, err := keyring.NewSpec("k1")
	if err != nil {
		t.Fatal(err)
	}
	k, err := keyring.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestSealCase(t *testing.T) {
	k := testKeyring(t)
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	c := &Case{ID: "c1", Code: "7K3D9M2", Status: StatusNew, Sought: Sought{Person: Person{FullName: "María José Pérez"}}, Created: now, Updated: now}
	sealed, err := SealCase(k, c)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := OpenCase(k, "c1", sealed); err != nil || got.Sought.FullName != c.Sought.FullName || got.Code != c.Code {
		t.Fatalf("OpenCase = %+v, %v", got, err)
	}
	if _, err := OpenCase(k, "c2", sealed); err == nil {
		t.Fatal("a case opened under another case's id")
	}
	if _, err := k.Open("session", "c1", sealed); err == nil {
		t.Fatal("a sealed case opened as another kind of record")
	}
	if _, err := SealCase(k, &Case{}); err == nil {
		t.Fatal("sealed a case without an id")
	}
	if CodeKey(k, "7K3D9M2") == CodeKey(k, "7K3D9M3") || CodeKey(k, "7K3D9M2") == "7K3D9M2" {
		t.Fatal("code keys do not tell codes apart, or show the code")
	}
}

func TestRecordExpiry(t *testing.T) {
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	const ret = 90 * 24 * time.Hour
	open := &Case{ID: "c1", Status: StatusOpen, Updated: now}
	if got := RecordExpiry(open, ret); !got.Equal(now.Add(ret)) {
		t.Errorf("open case expires %v", got)
	}
	closed := &Case{ID: "c1", Status: StatusClosed, Updated: now.Add(time.Hour), Closed: now}
	if got := RecordExpiry(closed, ret); !got.Equal(now.Add(ret)) {
		t.Errorf("closed case expires %v", got)
	}
}

func TestNextPINState(t *testing.T) {
	now := time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)
	var p PINState
	var outs []PINOutcome
	for range 5 {
		var o PINOutcome
		o, p = NextPINState(p, now)
		outs = append(outs, o)
	}
	want := []PINOutcome{PINWrong, PINWrong, PINLockedNow, PINLocked, PINLocked}
	for i := range want {
		if outs[i] != want[i] {
			t.Fatalf("outcomes %v, want %v", outs, want)
		}
	}
	if p.Failures != MaxPINFailures || !p.LockedUntil.Equal(now.Add(PINLockFor)) {
		t.Fatalf("state %+v", p)
	}
	o, p := NextPINState(p, now.Add(PINLockFor))
	if o != PINWrong || p.Failures != 1 || !p.LockedUntil.IsZero() {
		t.Fatalf("after the lock: %v %+v", o, p)
	}
}
