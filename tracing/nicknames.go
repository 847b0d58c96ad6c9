package tracing

import (
	"bufio"
	_ "embed"
	"strings"

	"github.com/enlace-rfl/enlace/textmatch"
)

//go:embed nicknames.txt
var nicknamesFile string

// nicknames maps a folded name token to the canonical names it stands for,
// including itself when it is a canonical name. Multi-word entries (Jean-Baptiste,
// "Jan Batis") are joined without spaces, the way nameTokens compares compound
// names.
var nicknames = parseNicknames(nicknamesFile)

func parseNicknames(text string) map[string][]string {
	m := map[string][]string{}
	add := func(k, v string) {
		for _, have := range m[k] {
			if have == v {
				return
			}
		}
		m[k] = append(m[k], v)
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue // a test checks the file has no such line
		}
		canon := joinFolded(name)
		add(canon, canon)
		for _, v := range strings.Split(rest, ",") {
			if f := joinFolded(v); f != "" {
				add(f, canon)
			}
		}
	}
	return m
}

func joinFolded(s string) string { return strings.ReplaceAll(textmatch.FoldName(s), " ", "") }

// SameGivenName reports whether two folded tokens are the same given name by the
// nickname list: one stands for the other (Pancho, Francisco), or both stand for
// the same name (Pepe, Chepe: José).
func SameGivenName(a, b string) bool {
	if a == b {
		return true
	}
	ca, cb := nicknames[a], nicknames[b]
	for _, x := range ca {
		if x == b {
			return true
		}
		for _, y := range cb {
			if x == y {
				return true
			}
		}
	}
	for _, y := range cb {
		if y == a {
			return true
		}
	}
	return false
}
