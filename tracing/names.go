package tracing

import (
	"strings"

	"github.com/enlace-rfl/enlace/textmatch"
)

// particles are the words names are written with that say nothing of who the
// person is: "María de la Cruz y López", "Ana López viuda de Pérez", "Marc van
// Damme", "João dos Santos". Dropping them on both sides makes "de la Cruz" and
// "Cruz" the same name.
var particles = map[string]bool{
	"de": true, "del": true, "la": true, "las": true, "los": true, "y": true, "e": true, "i": true,
	"da": true, "das": true, "do": true, "dos": true, "di": true, "du": true, "des": true,
	"van": true, "von": true, "der": true, "den": true, "vda": true, "viuda": true,
}

// NameTokens splits a name into folded words without particles: "José Luis de la
// Cruz" → [jose luis cruz]. A name made only of particles ("De la") keeps them.
func NameTokens(name string) []string {
	words := strings.Fields(textmatch.FoldName(name))
	out := words[:0:0]
	for _, w := range words {
		if !particles[w] {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return words
	}
	return out
}
