package tracing

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// BenchmarkMatch100k matches one new generated case against an index of 100,000
// generated cases (the realistic names of gen_test.go, so common names give long
// candidate lists), reporting the 50th and 99th percentile of single matches as
// p50-ms and p99-ms and the matches found per case.
func BenchmarkMatch100k(b *testing.B) {
	x := NewIndex()
	start := time.Now()
	for _, c := range genCases(1, 100_000) {
		c.Consent.Tracing = true // all 100,000 in the index
		x.Put(c)
	}
	b.Logf("index of %d cases built in %v", x.Len(), time.Since(start).Round(time.Millisecond))
	rng := rand.New(rand.NewPCG(3, 4))
	times := make([]time.Duration, 0, b.N)
	found := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		q := genCase(rng, fmt.Sprintf("q-%d", i))
		q.Consent.Tracing = true
		t0 := time.Now()
		ms := x.Match(q, 20)
		times = append(times, time.Since(t0))
		found += len(ms)
	}
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) float64 {
		return float64(times[min(len(times)-1, int(p*float64(len(times))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(found)/float64(b.N), "matches/op")
}
