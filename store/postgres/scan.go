package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/warpcache/warp/store"
)

// scanPage is how many rows Scan reads per query.
const scanPage = 256

// Scan implements [store.Store] with a range query over the primary key,
// key >= prefix AND key < the prefix's successor, in pages of 256 keys
// read in key order. No connection is held while fn runs, so fn may use
// the store; keys written during the scan may or may not be visited.
func (s *Store[T]) Scan(ctx context.Context, prefix string, fn func(string, store.Item[T]) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("postgres: scan %q: %w", prefix, err)
	}
	if !utf8.ValidString(prefix) || strings.IndexByte(prefix, 0) >= 0 {
		return nil // no key can start with it
	}
	upper, bounded := successor(prefix)
	after, first := prefix, 1
	for {
		page, last, n, err := s.page(ctx, prefix, after, first, upper, bounded)
		if err != nil {
			return err
		}
		for _, e := range page {
			if err := fn(e.key, e.it); err != nil {
				return err
			}
		}
		if n < scanPage {
			return nil
		}
		after, first = last, 0
	}
}

type entry[T any] struct {
	key string
	it  store.Item[T]
}

// page reads the next page of keys after (or from, if first is 1) after,
// returning the entries under prefix, the last key and how many rows it
// read.
func (s *Store[T]) page(ctx context.Context, prefix, after string, first int, upper string, bounded bool) ([]entry[T], string, int, error) {
	args := []any{after, scanPage}
	q := s.q.scan[first][0]
	if bounded {
		args, q = append(args, upper), s.q.scan[first][1]
	}
	rows, _ := s.pool.Query(ctx, q, args...)
	var out []entry[T]
	var k string
	var b []byte
	var v int64
	n := 0
	_, err := pgx.ForEachRow(rows, []any{&k, &b, &v}, func() error {
		n++
		if !strings.HasPrefix(k, prefix) {
			return nil
		}
		it, err := s.item(v, b)
		if err != nil {
			return fmt.Errorf("postgres: scan: %q: %w", k, err)
		}
		out = append(out, entry[T]{k, it})
		b = nil // the next row needs its own buffer: Decode owns this one
		return nil
	})
	if err != nil {
		return nil, "", 0, fail(ctx, "scan", prefix, err)
	}
	return out, k, n, nil
}

// successor returns the least UTF-8 string greater than every string that
// starts with prefix, or false if there is none (the empty prefix, or one
// made of U+10FFFF only). In byte order, which is code point order for
// UTF-8, that is the prefix with its last rune that can grow, grown by one.
func successor(prefix string) (string, bool) {
	rs := []rune(prefix)
	for len(rs) > 0 {
		r := rs[len(rs)-1] + 1
		if r == 0xD800 {
			r = 0xE000 // skip the surrogates, which UTF-8 cannot hold
		}
		if r <= unicode.MaxRune {
			rs[len(rs)-1] = r
			return string(rs), true
		}
		rs = rs[:len(rs)-1]
	}
	return "", false
}
