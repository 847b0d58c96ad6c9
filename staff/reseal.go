package staff

import (
	"context"
	"fmt"

	"github.com/enlace-rfl/enlace/keyring"
)

// purposes are the seal purposes of the staff record kinds.
var purposes = map[RecordKind]string{
	RecordAccount: purposeAccount, RecordSession: purposeSession, RecordAudit: purposeAudit,
}

// ResealReport says what Reseal found and did.
type ResealReport struct {
	// Before counts the records each key id had sealed before.
	Before map[string]int `json:"before"`
	// Resealed counts the records sealed again with the current key.
	Resealed int `json:"resealed"`
	// Unreadable counts records no key of the keyring opens; they are left
	// as they are.
	Unreadable int `json:"unreadable"`
}

// Reseal seals every staff record (accounts, sessions, audit entries) again
// with the current key, so that an older key can be dropped afterwards:
// staff still log in, their sessions hold, and the audit chain still
// verifies (its hashes are of the entries, not of their sealed form). It is
// part of `enlace keys reseal`.
func (s *Service) Reseal(ctx context.Context) (ResealReport, error) {
	rep := ResealReport{Before: map[string]int{}}
	n, err := s.cfg.Store.ResealStaff(ctx, func(kind RecordKind, rec []byte) ([]byte, error) {
		purpose, ok := purposes[kind]
		if !ok {
			return nil, fmt.Errorf("staff: reseal: unknown record kind %q", kind)
		}
		rep.Before[keyring.KeyID(rec)]++
		out, changed, err := s.cfg.Keys.Reseal(purpose, staffOwner, rec)
		if err != nil {
			rep.Unreadable++
			return nil, nil
		}
		if !changed {
			return nil, nil
		}
		return out, nil
	})
	rep.Resealed = n
	if err != nil {
		return rep, fmt.Errorf("staff: resealing: %w", err)
	}
	return rep, nil
}
