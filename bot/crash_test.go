package bot_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/embedded"
	redisstore "github.com/enlace-rfl/enlace/store/redis"
)

// TestCrashBetweenSteps kills a real process between two pipeline steps and
// shows that a new process on the same store delivers the reply exactly once
// (after-send: once more, as the killed process's send left no trace here).
// A reply whose claim the killed process held goes again unsure
// (Reply.Unsure, from when it was made), so that a channel that can ask its
// provider does; one the killed process never claimed does not.
func TestCrashBetweenSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, b := range backends(t) {
		for _, step := range []string{"before-commit", "after-commit", "before-send", "after-send"} {
			t.Run(b.name+"/"+step, func(t *testing.T) {
				child := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
				child.Env = append(os.Environ(), append(b.env, "TEST_CRASH_STEP="+step, "TEST_CRASH_FROM="+alice+step)...)
				out, err := child.CombinedOutput()
				var exit *exec.ExitError
				if !errors.As(err, &exit) || exit.ExitCode() != 3 {
					t.Fatalf("child did not crash at %s: %v\n%s", step, err, out)
				}
				st := b.open(t)
				defer st.Close()
				rec := newRecorder("sms")
				// The crashed process's lock (1s) and lease run out: a minute
				// passes, on the new process's clock and on the store's own.
				if b.elapse != nil {
					b.elapse(t, time.Minute)
				}
				clk := newClock()
				clk.Advance(time.Minute)
				p := newPipeline(t, st, clk.Now, rec)
				drain(t, p)
				equal(t, "replies after restart", rec.texts(alice+step), want("es", "language.prompt"))
				got := rec.replies()
				switch r := got[len(got)-1]; {
				case step == "before-send" || step == "after-send":
					if r.Unsure.IsZero() || r.Unsure.Before(r.Created) {
						t.Errorf("reply sent after the kill: unsure %v (made %v), want unsure since it was made", r.Unsure, r.Created)
					}
				case step == "before-commit" && !r.Unsure.IsZero():
					t.Errorf("reply the killed process never had: unsure %v, want not", r.Unsure)
				}
			})
		}
	}
}

// TestCrashChild is the process TestCrashBetweenSteps kills.
func TestCrashChild(t *testing.T) {
	step := os.Getenv("TEST_CRASH_STEP")
	if step == "" {
		t.Skip("run by TestCrashBetweenSteps")
	}
	var st bot.Store
	var err error
	switch os.Getenv("TEST_STORE") {
	case "embedded":
		st, err = embedded.Open(os.Getenv("TEST_PATH"), embedded.Options{})
	case "redis":
		st, err = redisstore.Open(context.Background(), os.Getenv("TEST_REDIS_URL"), redisstore.Options{Prefix: os.Getenv("TEST_PREFIX")})
	}
	if err != nil || st == nil {
		t.Fatalf("opening store: %v", err)
	}
	p := newPipelineWith(t, st, newClock().Now, shortLocks, newRecorder("sms"))
	bot.SetCrashHook(p, func(s string) {
		if s == step {
			os.Exit(3) // no deferred cleanup, no flush: as a kill would
		}
	})
	accept(t, p, msg(os.Getenv("TEST_CRASH_FROM"), "SM-crash", "hola"))
	drain(t, p)
	t.Fatal("did not reach " + step)
}
