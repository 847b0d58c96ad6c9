package embedded_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
)

var lapseEpoch = time.Date(2031, 3, 1, 12, 0, 0, 0, time.UTC)

// TestLapsedAfterKill: a process killed while people wait in a delivery lane
// (one of them claimed, their reply perhaps on its way) leaves no closing
// mark, and on the next open every one of them is claimed Lapsed once, a
// claim that waits for the budget keeping it; after a clean close nobody is.
func TestLapsedAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "enlace.db")
	child := exec.Command(os.Args[0], "-test.run=^TestLapsedChild$")
	child.Env = append(os.Environ(), "EMBEDDED_LAPSED_PATH="+path)
	out, err := child.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child did not die as planned: %v\n%s", err, out)
	}
	ctx := context.Background()
	lane := bot.LaneQueue("sms")
	budget := bot.LaneBudget{Lane: "sms", Rate: 1, Burst: 1}
	st := open(t, path)
	at := lapseEpoch.Add(time.Minute)
	ds, err := st.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, 1, budget)
	if err != nil || len(ds) != 1 || !ds[0].Lapsed.Equal(lapseEpoch) || !ds[0].Paid {
		t.Fatalf("first claim after the kill: %+v, %v; want one paid, lapsed since it was ready (%v)", ds, err, lapseEpoch)
	}
	a := ds[0]
	ds, err = st.ClaimOutbound(ctx, lane, at, time.Minute, time.Minute, time.Second, 10, budget)
	if err != nil || len(ds) != 1 || ds[0].Wait <= 0 {
		t.Fatalf("second claim, the budget spent: %+v, %v; want one waiting", ds, err)
	}
	ds, err = st.ClaimOutbound(ctx, lane, at.Add(ds[0].Wait), time.Minute, time.Minute, time.Second, 10, budget)
	if err != nil || len(ds) != 1 || !ds[0].Lapsed.Equal(lapseEpoch) || !ds[0].Paid {
		t.Fatalf("the one that waited: %+v, %v; want it paid, lapsed the same still", ds, err)
	}
	b := ds[0]
	next := at.Add(time.Hour)
	for _, d := range []bot.Delivery{a, b} {
		if err := st.FinishOutbound(ctx, d.Person, d.Token, lane, d.Claim, d.Head.ID, next, at); err != nil {
			t.Fatal(err)
		}
	}
	ds, err = st.ClaimOutbound(ctx, lane, next, time.Minute, time.Minute, time.Second, 10, budget)
	if err != nil || len(ds) != 2 || !ds[0].Lapsed.IsZero() || !ds[1].Lapsed.IsZero() {
		t.Fatalf("after the acknowledgements: %+v, %v; want both, not lapsed", ds, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st = open(t, path)
	ds, err = st.ClaimOutbound(ctx, lane, next.Add(time.Hour), time.Minute, time.Minute, time.Second, 10, budget)
	if err != nil || len(ds) != 2 || !ds[0].Lapsed.IsZero() || !ds[1].Lapsed.IsZero() {
		t.Fatalf("after a clean close: %+v, %v; want both, not lapsed", ds, err)
	}
}

// TestLapsedChild is the process TestLapsedAfterKill kills: two people with
// replies in the sms lane, one of them claimed.
func TestLapsedChild(t *testing.T) {
	path := os.Getenv("EMBEDDED_LAPSED_PATH")
	if path == "" {
		t.Skip("run by TestLapsedAfterKill")
	}
	st := open(t, path)
	ctx := context.Background()
	lane := bot.LaneQueue("sms")
	for _, p := range []string{"aaaa1111", "bbbb2222"} {
		items := []bot.Item{{ID: bot.TicketID("r-"+p, 1, ""), Data: []byte("sealed")}, {ID: bot.TicketID("s-"+p, 1, ""), Data: []byte("sealed")}}
		if err := st.Enqueue(ctx, p, items, lapseEpoch); err != nil {
			t.Fatal(err)
		}
		if err := st.Schedule(ctx, lane, p, lapseEpoch); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := st.ClaimOutbound(ctx, lane, lapseEpoch, time.Minute, time.Minute, time.Second, 1, bot.LaneBudget{Lane: "sms"})
	if err != nil || len(ds) != 1 || !ds[0].Lapsed.IsZero() {
		t.Fatalf("claim before the kill: %+v, %v", ds, err)
	}
	os.Exit(3) // no Close: as a kill
}
