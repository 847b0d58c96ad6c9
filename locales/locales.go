// Package locales holds Enlace's translations, embedded in the binary, and the
// Catalog that renders a message in one of the five languages: es, en, fr, ht, pt.
//
// Haitian Creole has no plural rule in CLDR, so go-i18n cannot load a file tagged
// "ht" and `goi18n merge` skips it. The Creole texts therefore live in
// active.fr-HT.toml (which goi18n handles with French plural forms) and are loaded
// into a bundle of their own. Enlace chooses the language itself (it never lets
// go-i18n match a person's preferences against the loaded tags), and only the
// code "ht" reaches that bundle, so a French speaker (fr, fr-CA) never gets Creole.
package locales

import (
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/enlace-rfl/enlace/languages"
)

//go:embed active.*.toml
var files embed.FS

// fileTags maps each language code to the tag of its file (active.<tag>.toml).
var fileTags = map[string]string{"es": "es", "en": "en", "fr": "fr", "ht": "fr-HT", "pt": "pt"}

// Catalog renders messages. It is safe for concurrent use.
type Catalog struct {
	localizers map[string]*i18n.Localizer
	ids        map[string][]string // message IDs per language, for tests and tools
}

// Load parses the embedded translation files.
func Load() (*Catalog, error) {
	return LoadFS(files)
}

// LoadFS parses active.<tag>.toml files for the five languages from fsys.
func LoadFS(fsys fs.FS) (*Catalog, error) {
	c := &Catalog{localizers: map[string]*i18n.Localizer{}, ids: map[string][]string{}}
	for _, lang := range languages.All {
		tag := fileTags[lang]
		name := "active." + tag + ".toml"
		buf, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("locales: reading %s: %w", name, err)
		}
		// One bundle per language: nothing can fall through to another language's
		// text by tag matching, and the Creole file loads under its fr-HT name.
		bundle := i18n.NewBundle(language.MustParse(tag))
		bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
		mf, err := bundle.ParseMessageFileBytes(buf, name)
		if err != nil {
			return nil, fmt.Errorf("locales: parsing %s: %w", name, err)
		}
		for _, m := range mf.Messages {
			c.ids[lang] = append(c.ids[lang], m.ID)
		}
		c.localizers[lang] = i18n.NewLocalizer(bundle, tag)
	}
	return c, nil
}

// MessageIDs lists the message IDs a language's file holds.
func (c *Catalog) MessageIDs(lang string) []string { return c.ids[lang] }

// Text renders message id in lang with data. A code such as "fr-CA" renders in
// the language languages.Match gives; an unknown language renders in the default one. A missing message renders as its ID (and is logged by ID only):
// the completeness tests keep that from ever reaching people.
func (c *Catalog) Text(lang, id string, data map[string]string) string {
	loc, ok := c.localizers[lang]
	if !ok {
		loc, ok = c.localizers[languages.Match(lang)]
	}
	if !ok {
		loc = c.localizers[languages.Default]
	}
	cfg := &i18n.LocalizeConfig{MessageID: id}
	if data != nil {
		cfg.TemplateData = data
	}
	s, err := loc.Localize(cfg)
	if err != nil {
		slog.Error("missing translation", "lang", lang, "message_id", id, "err", err)
		if s == "" {
			return id
		}
	}
	return strings.TrimSpace(s)
}
