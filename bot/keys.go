package bot

import (
	"context"
	"fmt"

	"github.com/enlace-rfl/enlace/keyring"
)

// purposes are the seal purposes of the store's record kinds.
var purposes = map[RecordKind]string{
	RecordSession: sealSession, RecordInbound: sealInbound, RecordOutbound: sealReply,
	RecordDeadLetter: sealReply, RecordEscalation: sealEscalation,
}

// ResealReport says what Reseal found and did.
type ResealReport struct {
	// Current is the key every readable record is now sealed with.
	Current string `json:"current"`
	// Before counts the records each key id had sealed before.
	Before map[string]int `json:"before"`
	// Resealed counts the records sealed again with Current.
	Resealed int `json:"resealed"`
	// Unreadable counts records no key of the keyring opens (a key already
	// dropped, a record copied under another person): they are left as they
	// are, and read as absent or are dropped when their person is next handled.
	Unreadable int `json:"unreadable"`
}

// Reseal seals every record of the store again with the current key, so
// that an older key can be dropped from ENLACE_SECRET_KEY afterwards (see
// README, "Rotating keys"). It may run while the service runs; run it again
// until Before names only the current key.
func (p *Pipeline) Reseal(ctx context.Context) (ResealReport, error) {
	rep := ResealReport{Current: p.keys.CurrentKeyID(), Before: map[string]int{}}
	n, err := p.store.Reseal(ctx, func(r Sealed) ([]byte, error) {
		rep.Before[keyring.KeyID(r.Data)]++
		out, changed, err := p.keys.Reseal(purposes[r.Kind], r.Person, r.Data)
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
		return rep, fmt.Errorf("bot: resealing: %w", err)
	}
	p.log.Info("resealed records", "current", rep.Current, "resealed", rep.Resealed, "unreadable", rep.Unreadable)
	return rep, nil
}
