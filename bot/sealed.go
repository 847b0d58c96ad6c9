package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/enlace-rfl/enlace/flows"
)

// Purposes bind sealed records to what they are, and the person they are
// stored under to whom they belong (AES-GCM additional data): a record copied
// under another person's key, or passed off as another kind, does not open.
const (
	sealInbound    = "inbound"
	sealSession    = "session"
	sealReply      = "reply"
	sealEscalation = "escalation"
)

// sealReply encodes a reply and seals it as an item of person's outbox.
func (p *Pipeline) sealReply(person string, r Reply) (Item, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return Item{}, fmt.Errorf("bot: encoding reply: %w", err)
	}
	return Item{ID: p.ticket(r), Data: p.keys.Seal(sealReply, person, raw)}, nil
}

// openReply opens an item of person's outbox (or dead letters) sealed by sealReply.
func (p *Pipeline) openReply(person string, data []byte) (Reply, error) {
	var r Reply
	raw, err := p.keys.Open(sealReply, person, data)
	if err == nil {
		err = json.Unmarshal(raw, &r)
	}
	return r, err
}

// sealSession encodes and seals person's session.
func (p *Pipeline) sealSession(person string, s flows.Session) ([]byte, error) {
	plain, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("bot: encoding session: %w", err)
	}
	return p.keys.Seal(sealSession, person, plain), nil
}

// openSession opens person's sealed session.
func (p *Pipeline) openSession(person string, sealed []byte) (flows.Session, error) {
	var s flows.Session
	raw, err := p.keys.Open(sealSession, person, sealed)
	if err == nil {
		err = json.Unmarshal(raw, &s)
	}
	return s, err
}

// openInbound opens an item of person's inbox sealed by accept.
func (p *Pipeline) openInbound(person string, data []byte) (inboundRecord, error) {
	var rec inboundRecord
	raw, err := p.keys.Open(sealInbound, person, data)
	if err == nil {
		err = json.Unmarshal(raw, &rec)
	}
	return rec, err
}

// readSession loads and opens another person's session, for a lookup that
// does not hold their lock. ok is false when there is none, or it cannot be read.
func (p *Pipeline) readSession(ctx context.Context, person string) (s flows.Session, ok bool, err error) {
	sealed, err := p.store.LoadSession(ctx, person, p.now())
	if errors.Is(err, ErrNotFound) {
		return s, false, nil
	}
	if err != nil {
		return s, false, fmt.Errorf("bot: reading session: %w", err)
	}
	s, err = p.openSession(person, sealed)
	return s, err == nil, nil
}
