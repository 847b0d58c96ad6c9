package bot

import (
	"fmt"
	"strings"
)

// ButtonChannels show choices as buttons; every other channel gets them as a
// numbered list in the text.
var ButtonChannels = map[string]bool{"telegram": true}

// RenderText returns the text of a reply as a channel shows it: where choices
// are buttons the text stands alone; elsewhere (SMS, WhatsApp) the choices
// follow as a numbered list the person answers with a number or a word.
func RenderText(channel string, r Reply) string {
	if ButtonChannels[channel] || len(r.Choices) == 0 {
		return r.Text
	}
	var b strings.Builder
	b.WriteString(r.Text)
	for i, ch := range r.Choices {
		fmt.Fprintf(&b, "\n%d. %s", i+1, ch.Label)
	}
	return b.String()
}
