package staff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Audit actions. Subjects are opaque ids (an account, a token, a
// conversation, a case), never text, names or numbers.
const (
	ActionStaffAdd         = "staff.add"
	ActionStaffDisable     = "staff.disable"
	ActionStaffEnable      = "staff.enable"
	ActionStaffReset       = "staff.reset"
	ActionStaffList        = "staff.list"
	ActionEnrol            = "staff.enrol"
	ActionLogin            = "login"
	ActionLoginFailed      = "login.failed"
	ActionLoginLimited     = "login.limited"
	ActionLogout           = "logout"
	ActionLogoutEverywhere = "logout.everywhere"
	ActionTokenIssue       = "token.issue"
	ActionTokenRevoke      = "token.revoke"
	ActionTokenUse         = "token.use"
	ActionAuditView        = "audit.view"
	ActionAuditExport      = "audit.export"
	ActionAuditVerify      = "audit.verify"
)

// Audit actions of tracing cases (package casework). The subject is the
// case's opaque id; a list has none.
const (
	ActionCaseList     = "case.list"
	ActionCaseView     = "case.view"
	ActionCaseUpdates  = "case.updates"
	ActionCaseExport   = "case.export"
	ActionCaseCreate   = "case.create"
	ActionCaseAssign   = "case.assign"
	ActionCaseStatus   = "case.status"
	ActionCaseNote     = "case.note"
	ActionCasePINReset = "case.pin_reset"
	ActionCaseNotify   = "case.notify"
	ActionMatchList    = "match.list"
	ActionMatchConfirm = "match.confirm"
	ActionMatchDismiss = "match.dismiss"
)

// Audit actions of the directory of places (the console's Directory page
// and API). The subject is the place's id.
const (
	ActionPlaceStatus = "place.status"
)

// Entry is one audit log entry: who (staff id and role, from where) did what
// (action) to which record (subject), when; Prev and Hash chain it to the
// entry before.
type Entry struct {
	Seq     int64     `json:"seq"`
	Time    time.Time `json:"time"`
	Staff   string    `json:"staff"`
	Role    Role      `json:"role"`
	Action  string    `json:"action"`
	Subject string    `json:"subject,omitempty"`
	Addr    string    `json:"addr,omitempty"`
	Prev    string    `json:"prev"`
	Hash    string    `json:"hash"`
}

// ErrBadSubject means an audit subject is not an opaque id.
var ErrBadSubject = errors.New("staff: an audit subject is an opaque id, never text or a number")

// validSubject: 1-128 of [A-Za-z0-9_-:.], and not only digits (a phone number
// or a code must never be a subject).
func validSubject(s string) bool {
	if s == "" {
		return true
	}
	if len(s) > 128 {
		return false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':' || c == '.') {
			return false
		}
		if c < '0' || c > '9' {
			digits = false
		}
	}
	return !digits
}

// chainHash is the keyed hash of an entry (Hash empty), which includes Prev.
func (s *Service) chainHash(e Entry) (string, error) {
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("staff: encoding audit entry: %w", err)
	}
	return s.cfg.Keys.Hash(hashAudit, string(b)), nil
}

// Record appends one entry to the audit log. It returns only once the entry
// is stored: an action whose audit entry cannot be written must not happen.
func (s *Service) Record(ctx context.Context, by Actor, action, subject string) error {
	if !validSubject(subject) {
		return ErrBadSubject
	}
	for range 1000 {
		head, err := s.cfg.Store.AuditHead(ctx)
		if err != nil {
			return err
		}
		e := Entry{Seq: head.Seq + 1, Time: s.Now().UTC(), Staff: by.ID, Role: by.Role, Action: action,
			Subject: subject, Addr: by.Addr, Prev: head.Hash}
		if e.Hash, err = s.chainHash(e); err != nil {
			return err
		}
		b, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("staff: encoding audit entry: %w", err)
		}
		err = s.cfg.Store.AppendAudit(ctx, e.Seq, e.Hash, s.cfg.Keys.Seal(purposeAudit, staffOwner, b))
		if errors.Is(err, ErrConflict) {
			continue // another entry took this number; chain after it
		}
		if err != nil {
			return fmt.Errorf("staff: writing audit entry: %w", err)
		}
		return nil
	}
	return fmt.Errorf("staff: writing audit entry: %w (gave up retrying)", ErrConflict)
}

func (s *Service) openEntry(r AuditRecord) (Entry, error) {
	b, err := s.cfg.Keys.Open(purposeAudit, staffOwner, r.Data)
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	if err := json.Unmarshal(b, &e); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// AuditPage returns up to n entries from seq from on (from < 1 starts at the
// oldest kept), and the seq to ask for next (0 at the end). Entries that
// cannot be opened are skipped here; VerifyAudit reports them.
func (s *Service) AuditPage(ctx context.Context, from int64, n int) ([]Entry, int64, error) {
	head, err := s.cfg.Store.AuditHead(ctx)
	if err != nil {
		return nil, 0, err
	}
	if from < head.Floor {
		from = head.Floor
	}
	if n <= 0 || n > 1000 {
		n = 100
	}
	recs, err := s.cfg.Store.AuditEntries(ctx, from, n)
	if err != nil {
		return nil, 0, err
	}
	out := make([]Entry, 0, len(recs))
	for _, r := range recs {
		if e, err := s.openEntry(r); err == nil {
			out = append(out, e)
		}
	}
	next := from + int64(n)
	if next > head.Seq {
		next = 0
	}
	return out, next, nil
}

// AuditRecent returns up to n of the newest entries, newest first.
func (s *Service) AuditRecent(ctx context.Context, n int) ([]Entry, error) {
	head, err := s.cfg.Store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	from := max(head.Seq-int64(n)+1, head.Floor)
	recs, err := s.cfg.Store.AuditEntries(ctx, from, n)
	if err != nil {
		return nil, err
	}
	out := make([]Entry, 0, len(recs))
	for i := len(recs) - 1; i >= 0; i-- {
		if e, err := s.openEntry(recs[i]); err == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// AuditBrokenError says where the audit chain does not hold.
type AuditBrokenError struct {
	Seq    int64
	Reason string
}

func (e *AuditBrokenError) Error() string {
	return fmt.Sprintf("audit log broken at entry %d: %s", e.Seq, e.Reason)
}

// VerifyReport is what VerifyAudit checked.
type VerifyReport struct {
	From, To int64 // the kept entries (From > To when the log is empty)
	Entries  int64
}

// VerifyAudit walks the whole kept log and checks every entry opens, is
// numbered in sequence, names the hash of the entry before and has the hash
// it should, and that the last one is the chain's head. A changed, removed,
// inserted or reordered entry gives an *AuditBrokenError.
func (s *Service) VerifyAudit(ctx context.Context) (VerifyReport, error) {
	head, err := s.cfg.Store.AuditHead(ctx)
	if err != nil {
		return VerifyReport{}, err
	}
	rep := VerifyReport{From: head.Floor, To: head.Seq}
	prev := head.FloorPrev
	const page = 500
	for seq := head.Floor; seq <= head.Seq; seq += page {
		recs, err := s.cfg.Store.AuditEntries(ctx, seq, page)
		if err != nil {
			return rep, err
		}
		want := seq
		for _, r := range recs {
			if r.Seq != want {
				return rep, &AuditBrokenError{Seq: want, Reason: "entry missing"}
			}
			e, err := s.openEntry(r)
			if err != nil {
				return rep, &AuditBrokenError{Seq: r.Seq, Reason: "entry altered (cannot be opened)"}
			}
			if e.Seq != r.Seq {
				return rep, &AuditBrokenError{Seq: r.Seq, Reason: fmt.Sprintf("entry says it is %d", e.Seq)}
			}
			if e.Prev != prev {
				return rep, &AuditBrokenError{Seq: r.Seq, Reason: "does not follow the entry before (one was removed or changed)"}
			}
			h, err := s.chainHash(e)
			if err != nil {
				return rep, err
			}
			if h != e.Hash {
				return rep, &AuditBrokenError{Seq: r.Seq, Reason: "entry altered (hash mismatch)"}
			}
			prev = e.Hash
			rep.Entries++
			want++
		}
		if end := min(seq+page-1, head.Seq); want <= end {
			return rep, &AuditBrokenError{Seq: want, Reason: "entry missing"}
		}
	}
	if prev != head.Hash {
		return rep, &AuditBrokenError{Seq: head.Seq, Reason: "last entry is not the chain's head"}
	}
	if extra, err := s.cfg.Store.AuditEntries(ctx, head.Seq+1, 1); err != nil {
		return rep, err
	} else if len(extra) > 0 {
		return rep, &AuditBrokenError{Seq: extra[0].Seq, Reason: "entry after the chain's head"}
	}
	return rep, nil
}

// ExportAudit writes every kept entry as one JSON object per line.
func (s *Service) ExportAudit(ctx context.Context, w io.Writer) error {
	enc := json.NewEncoder(w)
	for from := int64(0); ; {
		page, next, err := s.AuditPage(ctx, from, 500)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := enc.Encode(e); err != nil {
				return fmt.Errorf("staff: writing audit export: %w", err)
			}
		}
		if next == 0 {
			return nil
		}
		from = next
	}
}

// ExpireAudit removes the entries older than Config.AuditTTL, oldest first,
// keeping the chain checkable from the first kept entry. It returns how many it removed.
func (s *Service) ExpireAudit(ctx context.Context) (int64, error) {
	head, err := s.cfg.Store.AuditHead(ctx)
	if err != nil {
		return 0, err
	}
	cutoff := s.Now().Add(-s.cfg.AuditTTL)
	var through int64
	var lastHash string
	for seq := head.Floor; seq <= head.Seq; {
		recs, err := s.cfg.Store.AuditEntries(ctx, seq, 500)
		if err != nil {
			return 0, err
		}
		if len(recs) == 0 {
			break
		}
		done := false
		for _, r := range recs {
			e, err := s.openEntry(r)
			if err != nil || !e.Time.Before(cutoff) {
				done = true // never expire past an entry that cannot be read: verify must see it
				break
			}
			through, lastHash = e.Seq, e.Hash
		}
		if done {
			break
		}
		seq = recs[len(recs)-1].Seq + 1
	}
	if through == 0 {
		return 0, nil
	}
	if err := s.cfg.Store.TrimAudit(ctx, through, lastHash); err != nil {
		return 0, err
	}
	return through - head.Floor + 1, nil
}
