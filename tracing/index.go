package tracing

import (
	"slices"
	"strings"
	"sync"
)

// Index finds the cases that could match a case among many, fast: every word of
// every name (of the sought person and of the enquirer) is filed under its sound
// keys and the names it is a nickname of; a lookup gathers the cases sharing
// enough words with the case's names (blocking), and only those are scored.
//
// Only matchable cases are ever in the index (Put drops the others), and Match
// refuses a case that is not matchable: a case without tracing consent, withdrawn
// or erased neither finds nor is found. Index holds personal data in memory only;
// it is rebuilt from the store on start. It is safe for concurrent use.
type Index struct {
	mu    sync.RWMutex
	cases []*caseProf        // by slot; nil once removed
	slot  map[string]int32   // case ID → slot
	post  map[uint64][]int32 // key hash → entries: slot<<1 | role bit (1 = enquirer)
	dead  int
	// people counts the persons filed (sought persons and named enquirers), for
	// how common a word is.
	nPeople int
	pool    sync.Pool
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{slot: map[string]int32{}, post: map[uint64][]int32{}}
}

// Len is the number of cases in the index.
func (x *Index) Len() int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return len(x.slot)
}

// Put adds or replaces a case. A case that is not matchable is removed instead.
func (x *Index) Put(c *Case) {
	if c.ID == "" {
		return
	}
	if !c.Matchable() {
		x.Remove(c.ID)
		return
	}
	cp := newCaseProf(c)
	if cp.sought == nil {
		x.Remove(c.ID)
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(c.ID)
	s := int32(len(x.cases))
	x.cases = append(x.cases, cp)
	x.slot[c.ID] = s
	for role, p := range []*personProf{cp.sought, cp.enquirer} {
		if p == nil {
			continue
		}
		entry := s<<1 | int32(role)
		x.nPeople++
		seen := map[uint64]bool{}
		for i := range p.names {
			for j := range p.names[i].tokens {
				for _, k := range p.names[i].tokens[j].look {
					if !seen[k] {
						seen[k] = true
						x.post[k] = append(x.post[k], entry)
					}
				}
			}
		}
	}
}

// Remove takes a case out of the index (withdrawn, erased, consent taken back).
func (x *Index) Remove(id string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(id)
}

func (x *Index) removeLocked(id string) {
	s, ok := x.slot[id]
	if !ok {
		return
	}
	delete(x.slot, id)
	x.nPeople--
	if x.cases[s].enquirer != nil {
		x.nPeople--
	}
	x.cases[s] = nil
	x.dead++
	if x.dead > 1024 && x.dead > len(x.cases)/2 {
		x.compactLocked()
	}
}

// compactLocked drops removed cases from the slots and postings.
func (x *Index) compactLocked() {
	remap := make([]int32, len(x.cases))
	live := x.cases[:0:0]
	for s, cp := range x.cases {
		remap[s] = -1
		if cp != nil {
			remap[s] = int32(len(live))
			x.slot[cp.id] = int32(len(live))
			live = append(live, cp)
		}
	}
	x.cases = live
	for k, list := range x.post {
		out := list[:0]
		for _, e := range list {
			if ns := remap[e>>1]; ns >= 0 {
				out = append(out, ns<<1|e&1)
			}
		}
		if len(out) == 0 {
			delete(x.post, k)
		} else {
			x.post[k] = out
		}
	}
	x.dead = 0
}

// share is the share of filed people with word w in a name (its own spelling or
// nickname forms: Pepe counts with José). Removed cases still count until the
// next compaction, which only makes words look a little more common.
func (f indexFreq) share(self uint64) float64 {
	if f.x.nPeople == 0 {
		return 0
	}
	return min(1, float64(len(f.x.post[self]))/float64(f.x.nPeople))
}

func (f indexFreq) people() int { return f.x.nPeople }

// indexFreq answers frequencies from the index (under its read lock).
type indexFreq struct{ x *Index }

// scratch is one lookup's working memory, reused through the pool.
type scratch struct {
	count   []uint8
	seen    []uint32 // stamp of the last query word that counted the entry
	stamp   uint32
	touched []int32
	want    []uint8 // by slot: which comparisons to make (compareCases' want)
	cand    []int32 // slots with a non-zero want
}

// Match returns the cases that could be about the same people as c, best first,
// at most limit (0: all) with a score of at least MinScore. c itself (same ID) is
// never among them. A case that is not matchable gets none.
func (x *Index) Match(c *Case, limit int) []Match {
	if !c.Matchable() {
		return nil
	}
	q := newCaseProf(c)
	if q.sought == nil {
		return nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	sc, _ := x.pool.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	defer x.pool.Put(sc)
	if n := 2 * len(x.cases); len(sc.count) < n {
		sc.count = make([]uint8, n+n/4)
		sc.seen = make([]uint32, n+n/4)
		sc.stamp = 0
	}

	// Candidate cases: the slots whose sought person or enquirer shares enough
	// words with one of the query's people, with which comparisons to make.
	if len(sc.want) < len(x.cases) {
		sc.want = make([]uint8, len(x.cases)+len(x.cases)/4)
	}
	sc.cand = sc.cand[:0]
	for i := range q.sought.names {
		x.block(&q.sought.names[i], sc, false)
	}
	if q.enquirer != nil {
		for i := range q.enquirer.names {
			x.block(&q.enquirer.names[i], sc, true)
		}
	}

	var out []Match
	freq := indexFreq{x}
	for _, s := range sc.cand {
		want := sc.want[s]
		sc.want[s] = 0
		cp := x.cases[s]
		if cp == nil || cp.id == c.ID {
			continue
		}
		if m, ok := compareCases(q, cp, freq, want); ok {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b Match) int {
		if a.Score != b.Score {
			return b.Score - a.Score
		}
		return strings.Compare(a.CaseID, b.CaseID)
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out
}

// block counts, for one name of the query's sought person (or of its enquirer),
// the entries sharing each of its words, and marks the slots of entries sharing at
// least two words (one for a one-word name) with the comparison to make. An
// enquirer is compared with sought persons only: two enquirers alike is no match.
func (x *Index) block(n *nameProf, sc *scratch, enquirer bool) {
	// Words that share a key (Hernández Hernández, José "Pepe") count once: two
	// of them are not two pieces of evidence.
	var distinct [maxTokens]bool
	nd := 0
	for i := range n.tokens {
		distinct[i] = true
		for j := 0; j < i && distinct[i]; j++ {
			if distinct[j] && sharesKey(&n.tokens[i], &n.tokens[j]) {
				distinct[i] = false
			}
		}
		if distinct[i] {
			nd++
		}
	}
	need := uint8(min(2, nd))
	sc.touched = sc.touched[:0]
	for i := range n.tokens {
		if !distinct[i] {
			continue
		}
		sc.stamp++
		if sc.stamp == 0 { // wrapped: clear the stamps
			clear(sc.seen)
			sc.stamp = 1
		}
		for _, k := range n.tokens[i].look {
			for _, e := range x.post[k] {
				if enquirer && e&1 == 1 {
					continue
				}
				if sc.seen[e] == sc.stamp {
					continue
				}
				sc.seen[e] = sc.stamp
				if sc.count[e] == 0 {
					sc.touched = append(sc.touched, e)
				}
				if sc.count[e] < 255 {
					sc.count[e]++
				}
			}
		}
	}
	for _, e := range sc.touched {
		if sc.count[e] >= need {
			bit := wantSameSought
			switch {
			case enquirer:
				bit = wantSeeksEnquirer
			case e&1 == 1:
				bit = wantSoughtIsEnquirer
			}
			s := e >> 1
			if sc.want[s] == 0 {
				sc.cand = append(sc.cand, s)
			}
			sc.want[s] |= bit
		}
		sc.count[e] = 0
	}
}

func sharesKey(a, b *token) bool {
	for _, k := range a.look {
		if slices.Contains(b.look, k) {
			return true
		}
	}
	return false
}
