package bot

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/locales"
)

func TestMergeReplies(t *testing.T) {
	short := Reply{To: "1", Channel: "sms", Lang: "es", Text: "Perdón, no entendí."}
	menu := Reply{To: "1", Channel: "sms", Lang: "es", Text: "¿Qué necesitas?", Choices: []ReplyChoice{{ID: "a", Label: "Uno"}}}
	long := Reply{To: "1", Channel: "sms", Lang: "es", Text: strings.Repeat("á", 190)}
	other := Reply{To: "2", Channel: "sms", Lang: "es", Text: "hola"}
	cases := []struct {
		name string
		in   []Reply
		want []string
	}{
		{"note joins the question after it", []Reply{short, menu}, []string{short.Text + "\n\n" + menu.Text}},
		{"choices end a message", []Reply{menu, short}, []string{menu.Text, short.Text}},
		{"too long for three SMS parts", []Reply{long, menu}, []string{long.Text, menu.Text}},
		{"another reader", []Reply{short, other}, []string{short.Text, other.Text}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := mergeReplies(tc.in)
			var texts []string
			for _, r := range got {
				texts = append(texts, r.Text)
				if n, _ := locales.SMSSegments(RenderText("sms", r)); n > maxSegments && len(tc.in) > 1 && r.Text != tc.in[0].Text {
					t.Errorf("merged reply takes %d SMS parts", n)
				}
			}
			if strings.Join(texts, "|") != strings.Join(tc.want, "|") {
				t.Errorf("got %q, want %q", texts, tc.want)
			}
			if len(got) > 0 && got[len(got)-1].Choices == nil && tc.in[len(tc.in)-1].Choices != nil {
				t.Error("the choices were lost")
			}
		})
	}
}
