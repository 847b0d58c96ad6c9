package staff

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/enlace-rfl/enlace/languages"
)

// Role is what a staff member may do.
type Role string

// The roles. A caseworker may also work the volunteer inbox; only an admin
// manages accounts and reads the audit log.
const (
	RoleVolunteer  Role = "volunteer"
	RoleCaseworker Role = "caseworker"
	RoleAdmin      Role = "admin"
)

// Roles lists every role, least powerful first.
var Roles = []Role{RoleVolunteer, RoleCaseworker, RoleAdmin}

// ParseRole reads a role name.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !slices.Contains(Roles, r) {
		return "", fmt.Errorf("staff: unknown role %q (want volunteer, caseworker or admin)", s)
	}
	return r, nil
}

// ParseLanguages reads a comma-separated list such as "es,ht": each one of
// languages.All, no repeats, at least one.
func ParseLanguages(s string) ([]string, error) {
	var out []string
	for _, l := range strings.Split(s, ",") {
		l = strings.ToLower(strings.TrimSpace(l))
		if l == "" {
			continue
		}
		if !languages.Has(l) {
			return nil, fmt.Errorf("staff: unknown language %q (want one of %s)", l, strings.Join(languages.All, ", "))
		}
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("staff: give at least one language (%s)", strings.Join(languages.All, ", "))
	}
	return out, nil
}

// FoldName returns the login name in the form it is compared in: trimmed and
// lower case. A valid login name is 2 to 64 letters, digits, '.', '_' or '-'.
func FoldName(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if len(n) < 2 || len(n) > 64 {
		return "", fmt.Errorf("staff: a login name is 2 to 64 characters")
	}
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return "", fmt.Errorf("staff: a login name uses only letters a-z, digits, '.', '_' and '-'")
		}
	}
	return n, nil
}

// Account is a staff member as the rest of Enlace sees them: no secrets.
type Account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	Languages []string  `json:"languages"`
	Disabled  bool      `json:"disabled"`
	Enrolled  bool      `json:"enrolled"`
	Created   time.Time `json:"created"`
	Tokens    []Token   `json:"tokens"`
}

// Token describes one personal API token (never its secret).
type Token struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// Speaks reports whether the staff member works in language lang.
func (a Account) Speaks(lang string) bool { return slices.Contains(a.Languages, lang) }

// Can reports whether the account's role includes the permission.
func (a Account) Can(p Permission) bool { return a.Role.Can(p) }

// Permission is one thing a role may do.
type Permission string

// The permissions. Each role's set is in rolePermissions.
const (
	PermInbox     Permission = "inbox"     // the volunteer inbox: escalations, conversations
	PermTracing   Permission = "tracing"   // tracing cases (issue 12)
	PermAdmin     Permission = "admin"     // staff accounts
	PermAudit     Permission = "audit"     // read and export the audit log
	PermDirectory Permission = "directory" // the directory's places: mark them open, full or closed
)

var rolePermissions = map[Role][]Permission{
	RoleVolunteer:  {PermInbox},
	RoleCaseworker: {PermInbox, PermTracing},
	RoleAdmin:      {PermAdmin, PermAudit, PermDirectory},
}

// Can reports whether the role includes the permission.
func (r Role) Can(p Permission) bool { return slices.Contains(rolePermissions[r], p) }

// account is the stored (sealed) form, with the secrets.
type account struct {
	Account
	Password     string            `json:"password,omitempty"`      // argon2id PHC string
	TOTPSecret   string            `json:"totp_secret,omitempty"`   // base32
	TOTPStep     int64             `json:"totp_step,omitempty"`     // last accepted time step
	EnrolHash    string            `json:"enrol_hash,omitempty"`    // hash of the enrolment token's secret
	EnrolExpires time.Time         `json:"enrol_expires,omitempty"` // the enrolment link's end
	Epoch        int64             `json:"epoch"`                   // sessions of an older epoch are signed out
	TokenHashes  map[string]string `json:"token_hashes,omitempty"`  // token id -> hash of its secret
}
