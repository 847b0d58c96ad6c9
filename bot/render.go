package bot

import (
	"github.com/enlace-rfl/enlace/flows"
	"github.com/enlace-rfl/enlace/locales"
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
	labels := make([]string, len(r.Choices))
	for i, ch := range r.Choices {
		labels[i] = ch.Label
	}
	return flows.Numbered(r.Text, labels)
}

// maxSegments is the most SMS parts one message may take.
const maxSegments = 3

// mergeReplies joins consecutive replies to the same reader into one message
// where the result, as an SMS would carry it, still fits in maxSegments parts:
// every message costs a poor person money on SMS, and a second on Telegram,
// which allows about one message a second per chat. A reply with choices or a
// request ends a merged message, since buttons belong under the last text; a
// place with its map pin, and a message whose delivery is reported, stay whole.
func mergeReplies(rs []Reply) []Reply {
	if len(rs) < 2 {
		return rs
	}
	out := []Reply{rs[0]}
	for _, next := range rs[1:] {
		cur := &out[len(out)-1]
		if cur.To == next.To && cur.Address == next.Address && cur.Channel == next.Channel && cur.Lang == next.Lang &&
			cur.Proactive == next.Proactive && len(cur.Choices) == 0 && cur.Request == "" &&
			cur.Venue == nil && cur.ReceiptTo == "" && next.ReceiptTo == "" &&
			cur.Entry == "" && next.Entry == "" {
			joined := next
			joined.ID = cur.ID
			joined.Text = cur.Text + "\n\n" + next.Text
			if segments, _ := locales.SMSSegments(RenderText("sms", joined)); segments <= maxSegments {
				*cur = joined
				continue
			}
		}
		out = append(out, next)
	}
	return out
}
