package embedded

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/enlace-rfl/enlace/bot"
)

// Conversations with staff (bot.Conversations), each change one bbolt
// transaction:
//
//	convs/<id>/meta             JSON: the conversation and when it expires
//	convs/<id>/log/<seq>        entry: ID, NUL, sealed data (FIFO)
//	convs/<id>/ids/<entry id>   entries appended (dedupe)
//	convs/<id>/st/<entry id>    JSON: delivery status
//	conv:open/<person>          the id of the person's open conversation
//	conv:people/<person>/<id>   the person's conversations (for erase)
//
// Open conversations expire ttl after their last activity, closed ones keep
// after closing; expired ones read as absent and Sweep removes them.
// Events go to the subscribers in this process (one process owns the file).

var _ bot.Conversations = (*Store)(nil)

var (
	bConvs      = []byte("convs")
	bConvOpen   = []byte("conv:open")
	bConvPeople = []byte("conv:people")
	kMeta       = []byte("meta")
	bLog        = []byte("log")
	bIDs        = []byte("ids")
	bSt         = []byte("st")
)

// convRecord is a conversation as stored.
type convRecord struct {
	bot.Conversation
	Expires time.Time `json:"expires"`
}

// convBroker hands conversation events to this process's subscribers.
type convBroker struct {
	mu   sync.Mutex
	subs map[chan bot.ConvEvent]struct{}
}

func (b *convBroker) publish(e bot.ConvEvent) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for ch := range b.subs {
		select {
		case ch <- e:
		default: // a slow reader misses events, never blocks a writer
		}
	}
}

func (b *convBroker) subscribe(ctx context.Context) <-chan bot.ConvEvent {
	ch := make(chan bot.ConvEvent, 64)
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[chan bot.ConvEvent]struct{}{}
	}
	b.subs[ch] = struct{}{}
	b.mu.Unlock()
	go func() {
		<-ctx.Done()
		b.mu.Lock()
		delete(b.subs, ch)
		close(ch)
		b.mu.Unlock()
	}()
	return ch
}

func convBuckets(tx *bolt.Tx) (convs, open, people *bolt.Bucket, err error) {
	if convs, err = tx.CreateBucketIfNotExists(bConvs); err != nil {
		return
	}
	if open, err = tx.CreateBucketIfNotExists(bConvOpen); err != nil {
		return
	}
	people, err = tx.CreateBucketIfNotExists(bConvPeople)
	return
}

// readConv returns a live conversation's bucket and record, or bot.ErrNotFound.
func readConv(tx *bolt.Tx, id string, now time.Time) (*bolt.Bucket, convRecord, error) {
	var r convRecord
	cb := tx.Bucket(bConvs)
	if cb == nil {
		return nil, r, bot.ErrNotFound
	}
	b := cb.Bucket([]byte(id))
	if b == nil {
		return nil, r, bot.ErrNotFound
	}
	if err := json.Unmarshal(b.Get(kMeta), &r); err != nil {
		return nil, r, fmt.Errorf("embedded: corrupt conversation: %w", err)
	}
	if !r.Expires.After(now) {
		return nil, r, bot.ErrNotFound
	}
	return b, r, nil
}

func writeConv(b *bolt.Bucket, r convRecord) error {
	v, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return b.Put(kMeta, v)
}

// openIDOf is the person's open conversation id, or "".
func openIDOf(tx *bolt.Tx, person string) string {
	if b := tx.Bucket(bConvOpen); b != nil {
		return string(b.Get([]byte(person)))
	}
	return ""
}

// OpenConversation implements bot.Conversations.
func (s *Store) OpenConversation(ctx context.Context, c bot.Conversation, now time.Time) (bot.Conversation, bool, error) {
	if err := checkPerson(c.Person); err != nil {
		return bot.Conversation{}, false, err
	}
	var out convRecord
	created := false
	err := s.update(func(tx *bolt.Tx) error {
		convs, open, people, err := convBuckets(tx)
		if err != nil {
			return err
		}
		if id := openIDOf(tx, c.Person); id != "" {
			b, r, err := readConv(tx, id, now)
			if err == nil && r.Open() {
				if c.Priority > r.Priority {
					r.Reason, r.Priority = c.Reason, c.Priority
				}
				r.Expires = now.Add(s.ret.Person)
				out = r
				return writeConv(b, r)
			}
		}
		id, err := randomConvID()
		if err != nil {
			return err
		}
		b, err := convs.CreateBucket([]byte(id))
		if err != nil {
			return err
		}
		r := convRecord{Conversation: bot.Conversation{
			ID: id, Person: c.Person, State: bot.ConvWaiting, Reason: c.Reason, Priority: c.Priority,
			Lang: c.Lang, Channel: c.Channel, Opened: now, Queued: now, Contact: c.Contact,
		}, Expires: now.Add(s.ret.Person)}
		if err := writeConv(b, r); err != nil {
			return err
		}
		if err := open.Put([]byte(c.Person), []byte(id)); err != nil {
			return err
		}
		pb, err := people.CreateBucketIfNotExists([]byte(c.Person))
		if err != nil {
			return err
		}
		out, created = r, true
		return pb.Put([]byte(id), nil)
	})
	if err != nil {
		return bot.Conversation{}, false, err
	}
	s.conv.publish(bot.EventOf(out.Conversation))
	return out.Conversation, created, nil
}

func randomConvID() (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("embedded: random id: %w", err)
	}
	// "c" first: an id is never all digits (the audit refuses those).
	return "c" + hex.EncodeToString(b), nil
}

// Conversation implements bot.Conversations.
func (s *Store) Conversation(ctx context.Context, id string, now time.Time) (bot.Conversation, error) {
	var out bot.Conversation
	err := s.view(func(tx *bolt.Tx) error {
		_, r, err := readConv(tx, id, now)
		out = r.Conversation
		return err
	})
	return out, err
}

// OpenConversationOf implements bot.Conversations.
func (s *Store) OpenConversationOf(ctx context.Context, person string, now time.Time) (bot.Conversation, error) {
	var out bot.Conversation
	err := s.view(func(tx *bolt.Tx) error {
		id := openIDOf(tx, person)
		if id == "" {
			return bot.ErrNotFound
		}
		_, r, err := readConv(tx, id, now)
		if err == nil && !r.Open() {
			err = bot.ErrNotFound
		}
		out = r.Conversation
		return err
	})
	return out, err
}

// OpenConversations implements bot.Conversations.
func (s *Store) OpenConversations(ctx context.Context, now time.Time) ([]bot.Conversation, error) {
	var out []bot.Conversation
	err := s.view(func(tx *bolt.Tx) error {
		open := tx.Bucket(bConvOpen)
		if open == nil {
			return nil
		}
		return open.ForEach(func(_, id []byte) error {
			_, r, err := readConv(tx, string(id), now)
			if err == nil && r.Open() {
				out = append(out, r.Conversation)
			}
			return nil
		})
	})
	bot.SortConversations(out)
	return out, err
}

// change runs fn on one live conversation in a write transaction, then
// publishes its state when fn changed it.
func (s *Store) change(id string, now time.Time, fn func(b *bolt.Bucket, r *convRecord) (bool, error)) (bot.Conversation, error) {
	var out convRecord
	changed := false
	err := s.update(func(tx *bolt.Tx) error {
		b, r, err := readConv(tx, id, now)
		if err != nil {
			return err
		}
		if changed, err = fn(b, &r); err != nil {
			return err
		}
		out = r
		if !changed {
			return nil
		}
		if !r.Open() {
			if open := tx.Bucket(bConvOpen); open != nil && string(open.Get([]byte(r.Person))) == id {
				if err := open.Delete([]byte(r.Person)); err != nil {
					return err
				}
			}
		}
		return writeConv(b, r)
	})
	if err != nil {
		return bot.Conversation{}, err
	}
	if changed {
		s.conv.publish(bot.EventOf(out.Conversation))
	}
	return out.Conversation, nil
}

func claimTx(r *convRecord, staff string, now time.Time, timeout time.Duration, force bool) (bool, error) {
	switch {
	case r.State == bot.ConvClosed:
		return false, bot.ErrClosed
	case r.State == bot.ConvClaimed && r.Holder == staff && !force:
		return false, nil
	case r.State == bot.ConvClaimed && !force && !r.ClaimStale(now, timeout):
		return false, &bot.HeldError{Holder: r.Holder}
	}
	r.State, r.Holder, r.Claimed = bot.ConvClaimed, staff, now
	return true, nil
}

// ClaimConversation implements bot.Conversations.
func (s *Store) ClaimConversation(ctx context.Context, id, staff string, now time.Time, timeout time.Duration) (bot.Conversation, error) {
	if staff == "" {
		return bot.Conversation{}, errors.New("embedded: claim: no staff member")
	}
	return s.change(id, now, func(_ *bolt.Bucket, r *convRecord) (bool, error) {
		return claimTx(r, staff, now, timeout, false)
	})
}

// AssignConversation implements bot.Conversations.
func (s *Store) AssignConversation(ctx context.Context, id, staff string, now time.Time) (bot.Conversation, error) {
	if staff == "" {
		return bot.Conversation{}, errors.New("embedded: assign: no staff member")
	}
	return s.change(id, now, func(_ *bolt.Bucket, r *convRecord) (bool, error) {
		return claimTx(r, staff, now, 0, true)
	})
}

func releaseTx(r *convRecord, staff string) (bool, error) {
	switch {
	case r.State == bot.ConvClosed:
		return false, bot.ErrClosed
	case r.State != bot.ConvClaimed:
		return false, nil
	case staff != "" && r.Holder != staff:
		return false, &bot.HeldError{Holder: r.Holder}
	}
	r.State, r.Holder, r.Claimed = bot.ConvWaiting, "", time.Time{}
	return true, nil
}

// ReleaseConversation implements bot.Conversations.
func (s *Store) ReleaseConversation(ctx context.Context, id, staff string, now time.Time) (bot.Conversation, error) {
	return s.change(id, now, func(_ *bolt.Bucket, r *convRecord) (bool, error) { return releaseTx(r, staff) })
}

// ReleaseStale implements bot.Conversations.
func (s *Store) ReleaseStale(ctx context.Context, now time.Time, timeout time.Duration) ([]bot.Conversation, error) {
	open, err := s.OpenConversations(ctx, now)
	if err != nil {
		return nil, err
	}
	var out []bot.Conversation
	for _, c := range open {
		if !c.ClaimStale(now, timeout) {
			continue
		}
		c, err := s.change(c.ID, now, func(_ *bolt.Bucket, r *convRecord) (bool, error) {
			if !r.ClaimStale(now, timeout) {
				return false, nil
			}
			return releaseTx(r, "")
		})
		if err != nil && !errors.Is(err, bot.ErrNotFound) {
			return out, err
		}
		if err == nil && c.State == bot.ConvWaiting {
			out = append(out, c)
		}
	}
	return out, nil
}

// CloseConversation implements bot.Conversations.
func (s *Store) CloseConversation(ctx context.Context, id, outcome string, now time.Time, keep time.Duration) (bot.Conversation, error) {
	return s.change(id, now, func(_ *bolt.Bucket, r *convRecord) (bool, error) {
		if r.State == bot.ConvClosed {
			return false, bot.ErrClosed
		}
		r.State, r.Outcome, r.Closed, r.Expires = bot.ConvClosed, outcome, now, now.Add(keep)
		return true, nil
	})
}

// AppendEntry implements bot.Conversations.
func (s *Store) AppendEntry(ctx context.Context, person, id string, e bot.Entry, holder string, now time.Time) (bool, error) {
	if err := checkPerson(person); err != nil {
		return false, err
	}
	if err := checkItems(bot.Item{ID: e.ID}); err != nil {
		return false, err
	}
	appended := false
	err := s.update(func(tx *bolt.Tx) error {
		if id == "" {
			if id = openIDOf(tx, person); id == "" {
				return bot.ErrNotFound
			}
		}
		b, r, err := readConv(tx, id, now)
		if err != nil {
			return err
		}
		switch {
		case r.Person != person:
			return bot.ErrNotFound
		case r.State == bot.ConvClosed:
			return bot.ErrClosed
		case holder != "" && (r.State != bot.ConvClaimed || r.Holder != holder):
			return &bot.HeldError{Holder: r.Holder}
		}
		ids, err := b.CreateBucketIfNotExists(bIDs)
		if err != nil {
			return err
		}
		if ids.Get([]byte(e.ID)) != nil {
			return nil
		}
		if err := ids.Put([]byte(e.ID), []byte{1}); err != nil {
			return err
		}
		if err := push(b, bLog, encodeItem(bot.Item{ID: e.ID, Data: e.Data})); err != nil {
			return err
		}
		if holder != "" {
			r.Replied = now
		}
		r.Expires = now.Add(s.ret.Person)
		appended = true
		return writeConv(b, r)
	})
	return appended, err
}

// Entries implements bot.Conversations.
func (s *Store) Entries(ctx context.Context, id string, now time.Time) ([]bot.Entry, error) {
	var out []bot.Entry
	err := s.view(func(tx *bolt.Tx) error {
		b, _, err := readConv(tx, id, now)
		if err != nil {
			return err
		}
		log, st := b.Bucket(bLog), b.Bucket(bSt)
		if log == nil {
			return nil
		}
		return log.ForEach(func(_, v []byte) error {
			it, err := decodeItem(v)
			if err != nil {
				return err
			}
			e := bot.Entry{ID: it.ID, Data: it.Data}
			if st != nil {
				if raw := st.Get([]byte(it.ID)); raw != nil {
					_ = json.Unmarshal(raw, &e.Status)
				}
			}
			out = append(out, e)
			return nil
		})
	})
	return out, err
}

// SetEntryStatus implements bot.Conversations.
func (s *Store) SetEntryStatus(ctx context.Context, person, id, entry string, st bot.EntryStatus, now time.Time) error {
	if !validName(entry) {
		return fmt.Errorf("%w: entry id %q", errInvalid, entry)
	}
	err := s.update(func(tx *bolt.Tx) error {
		b, r, err := readConv(tx, id, now)
		if err != nil || r.Person != person {
			return nil // gone: nothing to record
		}
		sb, err := b.CreateBucketIfNotExists(bSt)
		if err != nil {
			return err
		}
		var cur bot.EntryStatus
		if raw := sb.Get([]byte(entry)); raw != nil {
			_ = json.Unmarshal(raw, &cur)
		}
		if st.Status != "" && bot.StatusRank(st.Status) > bot.StatusRank(cur.Status) {
			cur.Status, cur.At = st.Status, st.At
		}
		if st.Via != "" {
			cur.Via = st.Via
		}
		if st.Error != "" {
			cur.Error = st.Error
		}
		v, err := json.Marshal(cur)
		if err != nil {
			return err
		}
		return sb.Put([]byte(entry), v)
	})
	return err
}

// EraseConversations implements bot.Conversations.
func (s *Store) EraseConversations(ctx context.Context, person string, now time.Time) ([]string, error) {
	if err := checkPerson(person); err != nil {
		return nil, err
	}
	var ids []string
	err := s.update(func(tx *bolt.Tx) error {
		convs, open, people, err := convBuckets(tx)
		if err != nil {
			return err
		}
		if pb := people.Bucket([]byte(person)); pb != nil {
			_ = pb.ForEach(func(k, _ []byte) error { ids = append(ids, string(k)); return nil })
			if err := people.DeleteBucket([]byte(person)); err != nil {
				return err
			}
		}
		for _, id := range ids {
			if err := convs.DeleteBucket([]byte(id)); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		return open.Delete([]byte(person))
	})
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		s.conv.publish(bot.ConvEvent{ID: id})
	}
	return ids, nil
}

// sweepConversations removes the conversations expired at now (from Sweep).
func sweepConversations(tx *bolt.Tx, now time.Time) error {
	{
		convs := tx.Bucket(bConvs)
		if convs == nil {
			return nil
		}
		var gone []convRecord
		_ = convs.ForEach(func(k, _ []byte) error {
			var r convRecord
			b := convs.Bucket(k)
			if b == nil || json.Unmarshal(b.Get(kMeta), &r) != nil || !r.Expires.After(now) {
				r.ID = string(k)
				gone = append(gone, r)
			}
			return nil
		})
		if len(gone) == 0 {
			return nil // and a read-only sweep stays read-only
		}
		convs, open, people, err := convBuckets(tx)
		if err != nil {
			return err
		}
		for _, r := range gone {
			if err := convs.DeleteBucket([]byte(r.ID)); err != nil {
				return err
			}
			if string(open.Get([]byte(r.Person))) == r.ID {
				if err := open.Delete([]byte(r.Person)); err != nil {
					return err
				}
			}
			if pb := people.Bucket([]byte(r.Person)); pb != nil {
				if err := pb.Delete([]byte(r.ID)); err != nil {
					return err
				}
				if empty(pb) {
					if err := people.DeleteBucket([]byte(r.Person)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
}

// SubscribeConversations implements bot.Conversations, in this process.
func (s *Store) SubscribeConversations(ctx context.Context) (<-chan bot.ConvEvent, error) {
	return s.conv.subscribe(ctx), nil
}
