package console

import "net/url"

// Canned replies: a few ready answers under the reply box of a conversation
// the viewer holds, in the person's language (the conversation's), not the
// viewer's. Their texts are the console catalog's canned.* keys, in every
// language (a test keeps each one short: one SMS). Without JavaScript each
// is a link that opens the page again with ?canned=<key>, which puts it in
// the box; with it, inbox.js adds it to what is written and counts the SMS.

// cannedKeys are the ready answers, in the order they are offered.
var cannedKeys = []string{"ack", "danger", "where", "call"}

// canned is one ready answer as the page offers it.
type canned struct {
	Key, Text, Href string
}

// cannedReplies returns the ready answers in the language lang, each with
// the link that puts it in conversation id's reply box.
func (s *Server) cannedReplies(lang, id string) []canned {
	l := Lang{Code: lang, c: s.cat}
	out := make([]canned, len(cannedKeys))
	for i, k := range cannedKeys {
		out[i] = canned{Key: k, Text: l.T("canned." + k),
			Href: "/inbox/" + url.PathEscape(id) + "?" + url.Values{"canned": {k}}.Encode() + "#reply-text"}
	}
	return out
}

// cannedText is the text of the ready answer key in lang, "" for a key
// that is none.
func (s *Server) cannedText(lang, key string) string {
	for _, k := range cannedKeys {
		if k == key {
			return Lang{Code: lang, c: s.cat}.T("canned." + k)
		}
	}
	return ""
}
