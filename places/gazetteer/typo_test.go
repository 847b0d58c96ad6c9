package gazetteer

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/textmatch"
)

// typed are names as people type them: real town names, the route's towns
// and the largest towns more often than villages, each with one typo (two in
// names of nine letters or more, one time in three), a deterministic sample.
func typed(g *Gazetteer, n int) []string {
	rnd := rand.New(rand.NewPCG(13, 5))
	byPop := slices.Clone(g.towns)
	slices.SortFunc(byPop, func(a, b Town) int { return b.Population - a.Population })
	var routeTowns []Town
	for _, t := range g.towns {
		if route[routeKey(t.Name, t.Admin1, t.Country)] {
			routeTowns = append(routeTowns, t)
		}
	}
	letters := []rune("abcdefghijklmnopqrstuvwxyz")
	typo := func(s []rune) []rune {
		i := rnd.IntN(len(s))
		switch rnd.IntN(4) {
		case 0: // a letter for another
			s = slices.Clone(s)
			s[i] = letters[rnd.IntN(len(letters))]
		case 1: // one left out
			s = slices.Delete(slices.Clone(s), i, i+1)
		case 2: // one too many
			s = slices.Insert(slices.Clone(s), i, letters[rnd.IntN(len(letters))])
		default: // two swapped
			if i+1 < len(s) {
				s = slices.Clone(s)
				s[i], s[i+1] = s[i+1], s[i]
			}
		}
		return s
	}
	var out []string
	for len(out) < n {
		var t Town
		switch r := rnd.IntN(10); {
		case r < 3:
			t = routeTowns[rnd.IntN(len(routeTowns))]
		case r < 6:
			t = byPop[rnd.IntN(500)]
		default:
			t = g.towns[rnd.IntN(len(g.towns))]
		}
		name := []rune(textmatch.Normalize(t.Name))
		if len(name) < 5 {
			continue
		}
		name = typo(name)
		if len(name) >= 10 && rnd.IntN(3) == 0 {
			name = typo(name)
		}
		out = append(out, string(name))
	}
	return out
}

// BenchmarkFindTypos times Find, one call at a time, over names typed with
// typos (see typed), and reports the 50th and 99th percentiles.
func BenchmarkFindTypos(b *testing.B) {
	g, err := Default()
	if err != nil {
		b.Fatal(err)
	}
	qs := typed(g, 2000)
	var ds []time.Duration
	found := 0
	i := 0
	for b.Loop() {
		q := qs[i%len(qs)]
		i++
		start := time.Now()
		m := g.Find(q)
		ds = append(ds, time.Since(start))
		if len(m.Towns) > 0 {
			found++
		}
	}
	slices.Sort(ds)
	pct := func(p float64) float64 { return float64(ds[int(p*float64(len(ds)-1))].Nanoseconds()) / 1e6 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(found)/float64(len(ds)), "found/op")
}

// TestTypoIndexMissesNothing compares the typo index with a scan of every
// name of a similar length: for names typed with typos, and for the same
// names with "ciudad " before them (as Find also looks), both find the same
// names within one and two typos, in the same order.
func TestTypoIndexMissesNothing(t *testing.T) {
	g, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	within := func(q string, ns []string, d int) []string {
		var out []string
		for _, n := range ns {
			if textmatch.Distance(q, n, d) <= d {
				out = append(out, n)
			}
		}
		return out
	}
	qs := typed(g, 500)
	for _, q := range qs[:100] {
		qs = append(qs, "ciudad "+q)
	}
	for _, q := range qs {
		for d := 1; d <= 2; d++ {
			var all []string
			for l := len([]rune(q)) - d; l <= len([]rune(q))+d; l++ {
				all = append(all, g.byLen[l]...)
			}
			want := within(q, all, d)
			got := within(q, g.typos.candidates(q, d, g.byLen), d)
			if !slices.Equal(got, want) {
				t.Errorf("%q within %d: index finds %q, a scan %q", q, d, got, want)
			}
		}
	}
}
