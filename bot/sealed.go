package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/enlace-rfl/enlace/flows"
)

// sealReply encodes a reply and seals it as an outbox item.
func (p *Pipeline) sealReply(r Reply) (Item, error) {
	raw, err := json.Marshal(r)
	if err != nil {
		return Item{}, fmt.Errorf("bot: encoding reply: %w", err)
	}
	return Item{ID: r.ID, Data: p.keys.Seal(sealReply, raw)}, nil
}

// openReply opens an outbox item sealed by sealReply.
func (p *Pipeline) openReply(data []byte) (Reply, error) {
	var r Reply
	raw, err := p.keys.Open(sealReply, data)
	if err == nil {
		err = json.Unmarshal(raw, &r)
	}
	return r, err
}

// openSession opens a sealed session.
func (p *Pipeline) openSession(sealed []byte) (flows.Session, error) {
	var s flows.Session
	raw, err := p.keys.Open(sealSession, sealed)
	if err == nil {
		err = json.Unmarshal(raw, &s)
	}
	return s, err
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
	s, err = p.openSession(sealed)
	return s, err == nil, nil
}
