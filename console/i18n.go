package console

import (
	"embed"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"golang.org/x/text/language"

	"github.com/enlace-rfl/enlace/languages"
)

//go:embed locales/*.toml
var localeFS embed.FS

// langs are the console's languages, Enlace's own, in the order the language
// menu shows them. "ht" is Haitian Creole (the bot's catalog stores it as fr-HT).
var langs = languages.All

// defaultLang is used when nothing else says which language to speak.
const defaultLang = languages.Default

// catalog holds every language's texts by key.
type catalog map[string]map[string]string

func loadCatalog() (catalog, error) {
	c := catalog{}
	files, err := fs.Glob(localeFS, "locales/*.toml")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		lang := strings.TrimSuffix(path.Base(f), ".toml")
		b, err := localeFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := toml.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("console: %s: %w", f, err)
		}
		c[lang] = m
	}
	for _, l := range langs {
		if c[l] == nil {
			return nil, fmt.Errorf("console: no texts for %s", l)
		}
	}
	return c, nil
}

var placeholder = regexp.MustCompile(`\{[A-Za-z]+\}`)

// placeholders returns the sorted {Names} a text uses.
func placeholders(s string) []string {
	p := placeholder.FindAllString(s, -1)
	sort.Strings(p)
	return p
}

// Lang renders texts in one language.
type Lang struct {
	Code string
	c    catalog
}

// T returns the text of key with {Name} placeholders filled from pairs of
// name, value. A key missing in the language falls back to English, then to
// the key itself (a test keeps every language complete).
func (l Lang) T(key string, pairs ...any) string {
	s, ok := l.c[l.Code][key]
	if !ok {
		if s, ok = l.c["en"][key]; !ok {
			return key
		}
	}
	for i := 0; i+1 < len(pairs); i += 2 {
		s = strings.ReplaceAll(s, "{"+fmt.Sprint(pairs[i])+"}", fmt.Sprint(pairs[i+1]))
	}
	return s
}

// Label is the text of prefix+value when the catalog has one, else value
// itself (an audit action a newer version added, say).
func (l Lang) Label(prefix, value string) string {
	if _, ok := l.c["en"][prefix+value]; !ok {
		return value
	}
	return l.T(prefix + value)
}

// LangName is the own name of the language code ("ht" → "Kreyòl").
func (l Lang) LangName(code string) string {
	if n, ok := l.c[code]["lang.self"]; ok {
		return n
	}
	return code
}

// Codes are the console's languages, the bot's five, in order.
func (l Lang) Codes() []string { return langs }

// Name is the language's own name, for the language menu.
func (l Lang) Name() string { return l.T("lang.self") }

// matcher's tags are langs, in langs order.
var matcher = func() language.Matcher {
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.MustParse(l)
	}
	return language.NewMatcher(tags)
}()

// pickLang chooses the page language: ?lang=, then the lang cookie, then the
// staff member's first language, then Accept-Language, then Spanish.
func pickLang(r *http.Request, accountLangs []string) string {
	valid := languages.Has
	if l := r.URL.Query().Get("lang"); valid(l) {
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && valid(c.Value) {
		return c.Value
	}
	if len(accountLangs) > 0 && valid(accountLangs[0]) {
		return accountLangs[0]
	}
	if h := r.Header.Get("Accept-Language"); h != "" {
		tags, _, err := language.ParseAcceptLanguage(h)
		if err == nil && len(tags) > 0 {
			_, i, conf := matcher.Match(tags...)
			if conf != language.No {
				return langs[i] // the matcher's tags are in langs order
			}
		}
	}
	return defaultLang
}
