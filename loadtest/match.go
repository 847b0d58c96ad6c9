package loadtest

import (
	"slices"
	"time"
)

// part is one provider message a person's message is answered with: a reply
// may take several (consent's explanation, then its question).
type part struct {
	message int // the script's message it answers
	text    string
}

// tally matches what the stand-ins received, text for text, to what each
// person's messages must get (learned from `enlace chat`, see learn).
type tally struct {
	people []*person
	byAddr map[string]int // a person's place in people

	expected [][]part        // per person, in the order they must arrive
	matched  [][]bool        // per person and part
	at       [][]time.Time   // when each part first arrived
	again    [][][]time.Time // when each further copy of a part arrived
	maxPart  []int           // per person: the latest part arrived so far, -1 before any

	outOfOrder int // parts that came after a later part of the same person
	unmatched  int // messages to people of the run that are no part they must get
	strangers  int // messages to addresses of nobody in the run
}

func newTally(people []*person, expected [][]part) *tally {
	t := &tally{people: people, byAddr: map[string]int{}, expected: expected,
		matched: make([][]bool, len(people)), at: make([][]time.Time, len(people)),
		again: make([][][]time.Time, len(people)), maxPart: make([]int, len(people))}
	for i, p := range people {
		t.byAddr[p.address] = i
		n := len(expected[i])
		t.matched[i], t.at[i], t.again[i], t.maxPart[i] = make([]bool, n), make([]time.Time, n), make([][]time.Time, n), -1
	}
	return t
}

// add counts one message a stand-in received for an address at a time. It
// is the first part not yet arrived with that very text, unless a part of
// that text already arrived and a part between the two has not: replies
// come in order, so it is then a copy of the one that arrived (a menu sent
// again after a kill, say, is not the next menu come early). When every
// part with that text already arrived, it is a copy of the latest of them
// (doubled); a text no part has is unmatched.
func (t *tally) add(addr, text string, at time.Time) {
	i, ok := t.byAddr[addr]
	if !ok {
		t.strangers++
		return
	}
	copyOf := -1
	for j, e := range t.expected[i] {
		if e.text != text {
			continue
		}
		if !t.matched[i][j] {
			if copyOf >= 0 && slices.Contains(t.matched[i][copyOf+1:j], false) {
				break
			}
			t.matched[i][j], t.at[i][j] = true, at
			if j < t.maxPart[i] {
				t.outOfOrder++
			}
			t.maxPart[i] = max(t.maxPart[i], j)
			return
		}
		copyOf = j
	}
	if copyOf < 0 {
		t.unmatched++
		return
	}
	t.again[i][copyOf] = append(t.again[i][copyOf], at)
}

// counts is what the tally holds for the messages accepted (accepted[i][k]).
type counts struct {
	expected, replied, lost, unanswered, doubled, acrossKill int
	last                                                     time.Time // when the latest part arrived
	copies                                                   []Copy
}

// Copy is one reply a stand-in received again, told by where it stands in
// the run (never by an address or a text).
type Copy struct {
	Channel string `json:"channel"`
	Person  int    `json:"person"`  // the person's number in the run
	Message int    `json:"message"` // the message of their script it answers, from 0
	Part    int    `json:"part"`    // which of the person's expected replies, from 0
	// First and Again are when the first copy and this one reached the
	// stand-in, in seconds from the first post.
	First float64 `json:"first_s"`
	Again float64 `json:"again_s"`
	// AcrossKill says the first copy came before a kill and this one after.
	AcrossKill bool `json:"across_kill,omitempty"`
}

// count sums the tally over the parts of the accepted messages. A copy
// counts as doubled across a kill when the part's first copy reached the
// stand-in before the kill and this one after it: a provider call the killed
// process made and never recorded as done (the at-least-once boundary of
// README, Known limits).
func (t *tally) count(accepted [][]bool, killAt []time.Time, start time.Time) counts {
	var c counts
	for i := range t.people {
		answered := map[int]bool{}
		for j, e := range t.expected[i] {
			if !accepted[i][e.message] {
				continue
			}
			if _, seen := answered[e.message]; !seen {
				answered[e.message] = true
			}
			c.expected++
			if !t.matched[i][j] {
				c.lost++
				answered[e.message] = false
				continue
			}
			c.replied++
			if t.at[i][j].After(c.last) {
				c.last = t.at[i][j]
			}
			for _, at := range t.again[i][j] {
				c.doubled++
				cp := Copy{Channel: t.people[i].channel, Person: t.people[i].index, Message: e.message, Part: j,
					First: t.at[i][j].Sub(start).Seconds(), Again: at.Sub(start).Seconds()}
				for _, kill := range killAt {
					if t.at[i][j].Before(kill) && at.After(kill) {
						c.acrossKill++
						cp.AcrossKill = true
						break
					}
				}
				c.copies = append(c.copies, cp)
			}
		}
		for _, ok := range answered {
			if !ok {
				c.unanswered++
			}
		}
	}
	return c
}
