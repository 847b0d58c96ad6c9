package embedded

import (
	"bytes"
	"context"

	bolt "go.etcd.io/bbolt"

	"github.com/enlace-rfl/enlace/bot"
)

// resealLists are the per-person lists that hold sealed records.
var resealLists = map[string]bot.RecordKind{
	string(lIn): bot.RecordInbound, string(lOut): bot.RecordOutbound,
	string(lDead): bot.RecordDeadLetter, string(lEsc): bot.RecordEscalation,
}

// Reseal implements bot.Store, in one transaction.
func (s *Store) Reseal(ctx context.Context, f func(bot.Sealed) ([]byte, error)) (int, error) {
	n := 0
	err := s.update(func(tx *bolt.Tx) error {
		n = 0
		return tx.Bucket(bPeople).ForEachBucket(func(name []byte) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, err := resealPerson(tx.Bucket(bPeople).Bucket(name), string(name), f)
			n += m
			return err
		})
	})
	return n, err
}

// resealPerson reseals one person's session and lists. Values are collected
// before they are written: a bucket must not change while it is iterated.
func resealPerson(pb *bolt.Bucket, p string, f func(bot.Sealed) ([]byte, error)) (int, error) {
	n := 0
	if v := pb.Get(kSession); len(v) > 8 {
		data, err := f(bot.Sealed{Person: p, Kind: bot.RecordSession, Data: bytes.Clone(v[8:])})
		if err != nil {
			return n, err
		}
		if data != nil {
			if err := pb.Put(kSession, append(bytes.Clone(v[:8]), data...)); err != nil {
				return n, err
			}
			n++
		}
	}
	for list, kind := range resealLists {
		b := pb.Bucket([]byte(list))
		if b == nil {
			continue
		}
		var keys, values [][]byte
		err := b.ForEach(func(k, v []byte) error {
			it, err := decodeItem(v)
			if err != nil {
				return nil // not ours to fix: the reader reports it
			}
			data, err := f(bot.Sealed{Person: p, Kind: kind, ID: it.ID, Data: it.Data})
			if err != nil || data == nil {
				return err
			}
			keys = append(keys, bytes.Clone(k))
			values = append(values, encodeItem(bot.Item{ID: it.ID, Data: data}))
			return nil
		})
		if err != nil {
			return n, err
		}
		for i, k := range keys {
			if err := b.Put(k, values[i]); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}
