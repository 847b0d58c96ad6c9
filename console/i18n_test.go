package console

import (
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/inbox"
	"github.com/enlace-rfl/enlace/staff"
)

// TestEveryLanguageComplete holds every language to English's keys, with the
// same {placeholders}, no extra keys and no empty text.
func TestEveryLanguageComplete(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(c) != len(langs) {
		t.Fatalf("%d catalogs, want %d (%v)", len(c), len(langs), langs)
	}
	for _, l := range langs {
		for key, en := range c["en"] {
			got, ok := c[l][key]
			if !ok {
				t.Errorf("%s lacks %q", l, key)
				continue
			}
			if strings.TrimSpace(got) == "" {
				t.Errorf("%s: %q is empty", l, key)
			}
			if !slices.Equal(placeholders(got), placeholders(en)) {
				t.Errorf("%s: %q has placeholders %v, English has %v", l, key, placeholders(got), placeholders(en))
			}
		}
		for key := range c[l] {
			if _, ok := c["en"][key]; !ok {
				t.Errorf("%s has %q, which English lacks", l, key)
			}
		}
	}
}

// keyRef finds text keys in templates ({{.L.T "key"}}, {{$.L.T "key"}}) and
// in Go code ("prefix.name" strings).
var (
	templateKey = regexp.MustCompile(`\.T "([a-z_]+\.[a-z_.]+)"`)
	goKey       = regexp.MustCompile(`"((?:nav|role|login|enrol|enrolled|home|staff|audit|error|inbox|conv|lang|directory)\.[a-z_]+)"`)
)

// TestEveryKeyUsedExists makes sure no page shows a bare key.
func TestEveryKeyUsedExists(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	check := func(file string, re *regexp.Regexp, src []byte) {
		for _, m := range re.FindAllSubmatch(src, -1) {
			if _, ok := c["en"][string(m[1])]; !ok {
				t.Errorf("%s uses %q, which is in no catalog", file, m[1])
			}
		}
	}
	_ = fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := templateFS.ReadFile(p)
			check(p, templateKey, b)
		}
		return nil
	})
	files, _ := fs.Glob(os.DirFS("."), "*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		check(f, goKey, b)
	}
	for _, p := range []string{"login", "enrol", "enrolled", "home", "staff", "audit"} {
		if _, ok := c["en"][p+".title"]; !ok {
			t.Errorf("page %s has no title text %s.title", p, p)
		}
	}
}

// TestEveryAuditActionNamed: the audit page names every action the service
// records in words, in every language (a test of every language's keys
// holds the other four to English).
func TestEveryAuditActionNamed(t *testing.T) {
	c, err := loadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	actions := []string{
		staff.ActionLogin, staff.ActionLoginFailed, staff.ActionLoginLimited, staff.ActionLogout, staff.ActionLogoutEverywhere,
		staff.ActionStaffAdd, staff.ActionEnrol, staff.ActionStaffDisable, staff.ActionStaffEnable, staff.ActionStaffList,
		staff.ActionStaffReset, staff.ActionTokenIssue, staff.ActionTokenRevoke, staff.ActionTokenUse, staff.ActionAuditView,
		staff.ActionAuditExport, staff.ActionAuditVerify, staff.ActionCaseList, staff.ActionCaseView, staff.ActionCaseCreate,
		staff.ActionCaseAssign, staff.ActionCaseStatus, staff.ActionCaseNote, staff.ActionCaseNotify, staff.ActionCaseUpdates,
		staff.ActionCaseExport, staff.ActionCasePINReset, staff.ActionMatchList, staff.ActionMatchConfirm, staff.ActionMatchDismiss,
		staff.ActionPlaceStatus, inbox.ActionOpen, inbox.ActionClaim, inbox.ActionRelease, inbox.ActionReply, inbox.ActionNote,
		inbox.ActionClose, inbox.ActionAssign, inbox.ActionUnmask, bot.AuditPINFailed, bot.AuditPINLocked,
	}
	for _, a := range actions {
		if _, ok := c["en"]["audit.a."+a]; !ok {
			t.Errorf("the audit action %q has no name (audit.a.%s)", a, a)
		}
	}
	for _, r := range []staff.Role{staff.RoleVolunteer, staff.RoleCaseworker, staff.RoleAdmin, staff.RoleOperator, staff.RoleSystem} {
		if _, ok := c["en"]["role."+string(r)]; !ok {
			t.Errorf("the role %q has no name", r)
		}
	}
}
