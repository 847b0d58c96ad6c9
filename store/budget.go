package store

import (
	"math"
	"sync"
	"time"
)

// BucketState is one token bucket as stores keep it: Tokens at At (a debt
// when negative), and no token before Hold.
type BucketState struct {
	Tokens float64
	At     time.Time
	Hold   time.Time
}

// Refill returns the bucket's state at now for rate tokens a second, at most
// burst: a bucket never seen (zero At) is full. A now before At (another
// process's clock is ahead) refills nothing.
func (b BucketState) Refill(now time.Time, rate, burst float64) BucketState {
	if b.At.IsZero() {
		return BucketState{Tokens: burst, At: now, Hold: b.Hold}
	}
	if now.After(b.At) {
		b.Tokens = math.Min(burst, b.Tokens+now.Sub(b.At).Seconds()*rate)
		b.At = now
	}
	return b
}

// Wait is how long from now until the refilled bucket holds one token.
func (b BucketState) Wait(now time.Time, rate float64) time.Duration {
	if b.Hold.After(now) {
		return b.Hold.Sub(now)
	}
	if b.Tokens >= 1 || rate <= 0 {
		return 0
	}
	return time.Duration(math.Ceil((1 - b.Tokens) / rate * float64(time.Second)))
}

// MemoryBudgets keeps token buckets in this process (the embedded store,
// which one process owns). The zero value is ready to use.
type MemoryBudgets struct {
	mu sync.Mutex
	m  map[string]BucketState
}

// maxIdleBuckets is how many buckets MemoryBudgets keeps before it forgets
// those that are full again (they would be full when met anew).
const maxIdleBuckets = 10000

// Take takes cost tokens from every named bucket when each holds one (see
// bot.Budgets.TakeBudget). names, rates and bursts are parallel.
func (m *MemoryBudgets) Take(names []string, rates, bursts []float64, cost int, now time.Time) (time.Duration, int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]BucketState{}
	}
	states := make([]BucketState, len(names))
	var wait time.Duration
	short := -1
	for i, n := range names {
		states[i] = m.m[n].Refill(now, rates[i], bursts[i])
		if w := states[i].Wait(now, rates[i]); w > wait {
			wait, short = w, i
		}
	}
	if wait > 0 {
		return wait, short
	}
	for i, n := range names {
		states[i].Tokens -= float64(cost)
		m.m[n] = states[i]
	}
	if len(m.m) > maxIdleBuckets {
		for n, st := range m.m {
			if st.Tokens >= 1 && !st.Hold.After(now) && now.Sub(st.At) > time.Minute {
				delete(m.m, n)
			}
		}
	}
	return 0, -1
}

// Hold gives no token of the named bucket before until, and one at until.
func (m *MemoryBudgets) Hold(name string, until time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]BucketState{}
	}
	m.m[name] = BucketState{Tokens: 1, At: until, Hold: until}
}
