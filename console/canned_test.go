package console

import (
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/locales"
)

// TestCannedRepliesInEveryLanguage: each ready answer exists in every
// language, is its own text (not the English one, but for a number), and is
// one SMS: short plain sentences.
func TestCannedRepliesInEveryLanguage(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{cat: c}
	for _, lang := range langs {
		for _, k := range cannedKeys {
			text, ok := c[lang]["canned."+k]
			if !ok || strings.TrimSpace(text) == "" {
				t.Errorf("%s lacks canned.%s", lang, k)
				continue
			}
			if lang != "en" && text == c["en"]["canned."+k] {
				t.Errorf("%s: canned.%s is the English text", lang, k)
			}
			if n, ucs2 := locales.SMSSegments(text); n != 1 {
				t.Errorf("%s: canned.%s %q takes %d SMS (UCS-2 %v), want 1", lang, k, text, n, ucs2)
			}
			if got := s.cannedText(lang, k); got != text {
				t.Errorf("cannedText(%s, %s) = %q, want %q", lang, k, got, text)
			}
		}
		if got := s.cannedText(lang, "nope"); got != "" {
			t.Errorf("cannedText(%s, nope) = %q, want nothing", lang, got)
		}
	}
}
