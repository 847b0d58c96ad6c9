package bot_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/store/embedded"
)

// paced is a recorder with a delivery lane and a budget, that notes when (on
// the fake clock) each reply left and how many attempts it carried then.
type paced struct {
	*recorder
	pace bot.Pace
	clk  *clock

	mu       sync.Mutex
	at       []time.Time
	attempts []int
}

func newPaced(name string, clk *clock, pace bot.Pace) *paced {
	return &paced{recorder: newRecorder(name), pace: pace, clk: clk}
}

func (p *paced) Pace() bot.Pace     { return p.pace }
func (p *paced) Cost(bot.Reply) int { return 1 }

func (p *paced) Send(ctx context.Context, r bot.Reply) error {
	if err := p.recorder.Send(ctx, r); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = append(p.at, p.clk.Now())
	p.attempts = append(p.attempts, r.Attempts)
	return nil
}

func (p *paced) times() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.at...)
}

// checkPace fails when two sends came closer than gap, or any carried an attempt.
func checkPace(t *testing.T, p *paced, gap time.Duration) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := 1; i < len(p.at); i++ {
		if d := p.at[i].Sub(p.at[i-1]); d < gap {
			t.Errorf("%s: send %d came %s after the one before, want at least %s", p.name, i, d, gap)
			break
		}
	}
	for i, a := range p.attempts {
		if a != 0 {
			t.Errorf("%s: send %d carried %d attempts, want 0: waiting is never an attempt", p.name, i, a)
		}
	}
}

// TestWaitingIsNeverAnAttempt: a backlog of 60 SMS on a lane of 1/s (a long
// code) and 30 Telegram replies on a lane of 30/s, on a fake clock, on both
// stores. The SMS backlog takes a minute, twice the retry time: had waiting
// counted, most would be dead letters. None is, none carried an attempt,
// each lane kept its pace, and the Telegram replies left within a second and
// a bit, as if there were no SMS at all.
func TestWaitingIsNeverAnAttempt(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			defer st.Close()
			clk := newClock()
			start := clk.Now()
			sms := newPaced("sms", clk, bot.Pace{Lane: "sms-15550001111", Rate: 1, Burst: 1})
			tg := newPaced("telegram", clk, bot.Pace{Lane: "telegram-1", Rate: 30, Burst: 1, PerRecipient: time.Second})
			cfg := testConfig
			cfg.RetryFor = 30 * time.Second
			p := newPipelineWith(t, st, clk.Now, cfg, sms, tg)
			for i := range 60 {
				accept(t, p, msg(fmt.Sprintf("+5255100%05d", i), fmt.Sprintf("SM%d", i), "hola"))
			}
			drain(t, p) // handles all; the SMS lane starts on its backlog
			for i := range 30 {
				accept(t, p, bot.Message{Channel: "telegram", ID: fmt.Sprint(i), From: fmt.Sprint(1000 + i),
					Input: flows.Input{Kind: flows.InputText, Text: "hola"}})
			}
			tgStart := clk.Now()
			for clk.Now().Before(start.Add(3 * time.Minute)) {
				drain(t, p)
				step := time.Second
				if tg.count() < 30 {
					step = 2 * time.Millisecond
				}
				clk.Advance(step)
			}
			if got := sms.count(); got < 60 {
				t.Errorf("%d SMS sent, want the whole backlog of 60", got)
			}
			if got := tg.count(); got != 30 {
				t.Fatalf("%d Telegram replies, want 30", got)
			}
			if last := tg.times()[29].Sub(tgStart); last > 1100*time.Millisecond {
				t.Errorf("the 30th Telegram reply left %s after the first was due, want about 1s at 30/s", last)
			}
			checkPace(t, sms, time.Second)
			checkPace(t, tg, time.Second/30)
			if n, err := st.CountDeadLetters(ctx); err != nil || n != 0 {
				t.Errorf("dead letters: %d, %v; want none", n, err)
			}
			for id, n := range sms.try {
				if n != 1 {
					t.Errorf("reply %s tried %d times, want once", id, n)
				}
			}
		})
	}
}

// TestThrottleHoldsTheLane: a provider's 429 for the sender holds everyone on
// the lane until its Retry-After, in the store (so every process), and is
// not an attempt; the other lanes go on.
func TestThrottleHoldsTheLane(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			st := b.open(t)
			defer st.Close()
			clk := newClock()
			start := clk.Now()
			sms := newPaced("sms", clk, bot.Pace{Lane: "sms-1", Rate: 100, Burst: 1})
			once := sync.Once{}
			sms.fail = func(r bot.Reply, _ int) (err error) {
				once.Do(func() { err = &bot.ErrThrottled{RetryAfter: 10 * time.Second, Lane: true} })
				return err
			}
			p := newPipeline(t, st, clk.Now, sms)
			for i := range 5 {
				accept(t, p, msg(fmt.Sprintf("+5255200%05d", i), fmt.Sprintf("SM%d", i), "hola"))
			}
			for clk.Now().Before(start.Add(30 * time.Second)) {
				drain(t, p)
				clk.Advance(100 * time.Millisecond)
			}
			times := sms.times()
			if len(times) != 5 {
				t.Fatalf("%d sent, want 5", len(times))
			}
			for i, at := range times {
				if at.Before(start.Add(10 * time.Second)) {
					t.Errorf("send %d at %s, inside the lane's 10s hold", i, at.Sub(start))
				}
			}
			checkPace(t, sms, 10*time.Millisecond)
			// The hold is in the store: a new process meets it too.
			if w, _, err := st.TakeBudget(ctx, "sms-1", []bot.Bucket{{Name: "lane", Rate: 100, Burst: 1}}, 1, start.Add(5*time.Second)); err != nil || w == 0 {
				t.Errorf("another process inside the hold: wait %s, %v; want a wait", w, err)
			}
			if n, err := st.CountDeadLetters(ctx); err != nil || n != 0 {
				t.Errorf("dead letters: %d, %v; want none", n, err)
			}
		})
	}
}

// slowProvider accepts every message at the last moment of its call's deadline.
type slowProvider struct{ *recorder }

func (s slowProvider) Send(ctx context.Context, r bot.Reply) error {
	<-ctx.Done()
	return s.recorder.Send(context.Background(), r)
}

// ackStore records whether the acknowledgement's context was still alive.
// Its first fail acknowledgements fail as in a failover: refused, or, with
// applied, written but answered with an error (the answer lost).
type ackStore struct {
	bot.Store
	mu      sync.Mutex
	errs    []error
	fail    int
	applied bool
}

func (s *ackStore) FinishOutbound(ctx context.Context, person, token string, q bot.Queue, c bot.Claim, ack string, next, now time.Time) error {
	s.mu.Lock()
	s.errs = append(s.errs, ctx.Err())
	fail := len(s.errs) <= s.fail
	s.mu.Unlock()
	if !fail {
		return s.Store.FinishOutbound(ctx, person, token, q, c, ack, next, now)
	}
	if s.applied {
		if err := s.Store.FinishOutbound(ctx, person, token, q, c, ack, next, now); err != nil {
			return err
		}
	}
	return errors.New("READONLY You can't write against a read only replica.")
}

// TestAckRetriedAfterFailedWrite: an acknowledgement that fails after the
// provider accepted a reply (a Redis failover: refused, or written with the
// answer lost) is tried again until it succeeds, within its own deadline,
// so the reply leaves the outbox and is sent once, and the next one follows.
func TestAckRetriedAfterFailedWrite(t *testing.T) {
	run := func(t *testing.T, fail int, applied bool) []string {
		st, err := embedded.Open(t.TempDir()+"/enlace.db", embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		as := &ackStore{Store: st, fail: fail, applied: applied}
		clk := newClock()
		rec := newRecorder("sms")
		p := newPipelineWith(t, as, clk.Now, testConfig, rec)
		accept(t, p, msg("+525530000001", "SM1", "hola"))
		drain(t, p)
		if got := rec.count(); got != 1 {
			t.Fatalf("after the first pass: sent %d, want 1", got)
		}
		if want := fail + 1; len(as.errs) != want {
			t.Fatalf("acknowledgements tried %d times, want %d failed and 1 that held", len(as.errs), fail)
		}
		clk.Advance(time.Hour)
		drain(t, p)
		accept(t, p, msg("+525530000001", "SM2", "ayuda"))
		drain(t, p)
		clk.Advance(time.Hour)
		drain(t, p)
		return rec.texts("+525530000001")
	}
	want := run(t, 0, false)
	for _, applied := range []bool{false, true} {
		t.Run(fmt.Sprintf("applied=%v", applied), func(t *testing.T) {
			if got := run(t, 3, applied); !slices.Equal(got, want) {
				t.Fatalf("sent %q\nwant %q (as with no failure: once each)", got, want)
			}
		})
	}
}

// TestAckHasItsOwnDeadline: a provider that takes its call's whole deadline
// and then accepts leaves the acknowledgement a deadline of its own, so the
// reply leaves the outbox and is never sent twice.
func TestAckHasItsOwnDeadline(t *testing.T) {
	st, err := embedded.Open(t.TempDir()+"/enlace.db", embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	as := &ackStore{Store: st}
	clk := newClock()
	slow := slowProvider{newRecorder("sms")}
	cfg := testConfig
	cfg.SendTimeout = 20 * time.Millisecond
	p := newPipelineWith(t, as, clk.Now, cfg, slow)
	accept(t, p, msg("+525530000001", "SM1", "hola"))
	drain(t, p)
	clk.Advance(time.Minute)
	drain(t, p)
	if got := slow.count(); got != 1 {
		t.Fatalf("sent %d times, want once", got)
	}
	if len(as.errs) != 1 || as.errs[0] != nil {
		t.Fatalf("acknowledgements: %v, want one on a live context", as.errs)
	}
}

// TestThrottleHoldsTheAccount: a 429 on one sender of an account (Twilio's
// SMS number) holds its other lanes too (its WhatsApp sender), in the store;
// a lane of another account goes on.
func TestThrottleHoldsTheAccount(t *testing.T) {
	b := backends(t)[1]
	ctx := context.Background()
	st := b.open(t)
	defer st.Close()
	clk := newClock()
	start := clk.Now()
	sms := newPaced("sms", clk, bot.Pace{Lane: "sms-1", Rate: 100, Burst: 1, Account: "twilio:AC1"})
	wa := newPaced("whatsapp", clk, bot.Pace{Lane: "whatsapp-1", Rate: 100, Burst: 1, Account: "twilio:AC1"})
	tg := newPaced("telegram", clk, bot.Pace{Lane: "telegram-1", Rate: 100, Burst: 1})
	once := sync.Once{}
	sms.fail = func(r bot.Reply, _ int) (err error) {
		once.Do(func() { err = &bot.ErrThrottled{RetryAfter: 10 * time.Second, Lane: true} })
		return err
	}
	p := newPipeline(t, st, clk.Now, sms, wa, tg)
	accept(t, p, msg("+525520000001", "SM1", "hola"))
	drain(t, p) // the SMS lane meets the 429: the account is held
	for i, ch := range []string{"whatsapp", "telegram"} {
		accept(t, p, bot.Message{Channel: ch, ID: fmt.Sprintf("X%d", i), From: fmt.Sprintf("+52552000010%d", i),
			Input: flows.Input{Kind: flows.InputText, Text: "hola"}})
	}
	for clk.Now().Before(start.Add(30 * time.Second)) {
		drain(t, p)
		clk.Advance(100 * time.Millisecond)
	}
	for _, at := range wa.times() {
		if at.Before(start.Add(10 * time.Second)) {
			t.Errorf("WhatsApp sent at %s, inside its account's 10s hold", at.Sub(start))
		}
	}
	if len(wa.times()) == 0 || len(tg.times()) == 0 {
		t.Fatalf("sent: whatsapp %d, telegram %d; want both", len(wa.times()), len(tg.times()))
	}
	if at := tg.times()[0]; !at.Before(start.Add(10 * time.Second)) {
		t.Errorf("Telegram (another account) waited until %s", at.Sub(start))
	}
	if w, _, err := st.TakeBudget(ctx, "whatsapp-1", []bot.Bucket{{Name: "lane", Rate: 100, Burst: 1}}, 1, start.Add(5*time.Second)); err != nil || w == 0 {
		t.Errorf("another process on the WhatsApp lane inside the hold: wait %s, %v; want a wait", w, err)
	}
}
