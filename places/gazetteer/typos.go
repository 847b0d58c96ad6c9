package gazetteer

import (
	"slices"
	"sync"
)

// typoIndex finds the names that may be within a few typos of a query
// without measuring the distance to every name of a similar length: each
// typo (a letter changed, left out, added, or two swapped) breaks at most
// three of the query's pairs of adjacent letters, so a name within d typos
// has all but 3d of the query's distinct pairs. Only those names are
// measured; the others cannot be within d.
type typoIndex struct {
	names []string // every name, by length in runes, then in order
	// pairs lists, for each length and pair of letters, the names of that
	// length holding the pair (indexes into names, ascending).
	pairs map[int]map[pair][]int32
	count sync.Pool // *[]uint8 of len(names), zeroed
}

type pair [2]rune

func newTypoIndex(byLen map[int][]string) *typoIndex {
	x := &typoIndex{pairs: map[int]map[pair][]int32{}}
	lens := make([]int, 0, len(byLen))
	for l := range byLen {
		lens = append(lens, l)
	}
	slices.Sort(lens)
	for _, l := range lens {
		m := map[pair][]int32{}
		for _, n := range byLen[l] {
			i := int32(len(x.names))
			x.names = append(x.names, n)
			for _, p := range pairsOf([]rune(n)) {
				m[p] = append(m[p], i)
			}
		}
		x.pairs[l] = m
	}
	size := len(x.names)
	x.count.New = func() any { c := make([]uint8, size); return &c }
	return x
}

// pairsOf returns the distinct pairs of adjacent letters of r.
func pairsOf(r []rune) []pair {
	ps := make([]pair, 0, len(r))
	for i := 1; i < len(r); i++ {
		if p := (pair{r[i-1], r[i]}); !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return ps
}

// candidates returns the names of q's length ± maxD that may be within maxD
// typos of q, in the order of byLen (by length, then sorted), which is the
// order a scan of byLen meets them in.
func (x *typoIndex) candidates(q string, maxD int, byLen map[int][]string) []string {
	qr := []rune(q)
	ps := pairsOf(qr)
	need := len(ps) - 3*maxD
	// Too short to tell (or too long to count in a byte): measure them all.
	if need < 1 || len(ps) > 255 {
		var all []string
		for l := len(qr) - maxD; l <= len(qr)+maxD; l++ {
			all = append(all, byLen[l]...)
		}
		return all
	}
	cp := x.count.Get().(*[]uint8)
	count := *cp
	var touched, hits []int32
	for l := len(qr) - maxD; l <= len(qr)+maxD; l++ {
		m := x.pairs[l]
		for _, p := range ps {
			for _, i := range m[p] {
				if count[i] == 0 {
					touched = append(touched, i)
				}
				count[i]++
			}
		}
	}
	for _, i := range touched {
		if int(count[i]) >= need {
			hits = append(hits, i)
		}
		count[i] = 0
	}
	x.count.Put(cp)
	slices.Sort(hits)
	out := make([]string, len(hits))
	for k, i := range hits {
		out[k] = x.names[i]
	}
	return out
}
