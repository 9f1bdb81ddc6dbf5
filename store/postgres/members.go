package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/warpcache/warp/store"
	"github.com/warpcache/warp/store/internal/check"
)

// memberQueries are the statements on the members table.
//
// A guarded write locks its member's row FOR KEY SHARE, and a lock queue
// of PostgreSQL lets new KEY SHARE lockers past a waiting DELETE, which a
// member that keeps writing would starve. So a record is removed in two
// transactions: the first marks it dead (its incarnation negated, an
// UPDATE that leaves the key alone, so it waits for no writer, while the
// locks of the writes in flight carry over to the new row version) and
// commits, after which no write matches the row any more; the second
// DELETEs the dead row, waiting only for the writes that were in flight.
type memberQueries struct {
	// mark (Leave), markExpel (with the counter) and markJoin (any live
	// record of node) mark a record dead.
	mark, markExpel, markJoin string
	// reap deletes a dead record ($3: its negated incarnation), reapJoin
	// any dead record of node.
	reap, reapJoin string
	// joinTop raises the cluster's top incarnation, whose row (node '')
	// serializes the Joins of a cluster until they commit; joinPut then
	// writes node's record unless the cluster is full or node has a live
	// record (a concurrent Join); joinLive tells which.
	joinTop, joinPut, joinLive string
	// renew bumps the counter; list then reads the live members, in the
	// same implicit transaction, so that they include the bump.
	renew, list string
	// guard locks the live member rows of a guarded commit.
	guard string
}

func newMemberQueries(n names) memberQueries {
	m := n.members
	f := func(format string) string { return fmt.Sprintf(format, m, store.MaxMembers) }
	return memberQueries{
		mark:      f(`UPDATE %[1]s SET incarnation = -incarnation WHERE cluster = $1 AND node = $2 AND incarnation = $3`),
		markExpel: f(`UPDATE %[1]s SET incarnation = -incarnation WHERE cluster = $1 AND node = $2 AND incarnation = $3 AND counter = $4`),
		markJoin:  f(`UPDATE %[1]s SET incarnation = -incarnation WHERE cluster = $1 AND node = $2 AND incarnation > 0`),
		reap:      f(`DELETE FROM %[1]s WHERE cluster = $1 AND node = $2 AND incarnation = $3`),
		reapJoin:  f(`DELETE FROM %[1]s WHERE cluster = $1 AND node = $2 AND incarnation < 0`),
		joinTop: f(`INSERT INTO %[1]s AS r (cluster, node, incarnation, counter) VALUES ($1, '', GREATEST($2::bigint, 1), 0)
ON CONFLICT (cluster, node) DO UPDATE SET incarnation = GREATEST($2::bigint, r.incarnation + 1)`),
		joinPut: f(`INSERT INTO %[1]s (cluster, node, incarnation, counter)
SELECT $1::text, $2::text, t.incarnation, 0 FROM %[1]s AS t
WHERE t.cluster = $1 AND t.node = ''
  AND (SELECT count(*) FROM %[1]s WHERE cluster = $1 AND node <> '' AND incarnation > 0) < %[2]d
ON CONFLICT (cluster, node) DO NOTHING
RETURNING incarnation`),
		joinLive: f(`SELECT EXISTS (SELECT FROM %[1]s WHERE cluster = $1 AND node = $2 AND incarnation > 0)`),
		renew:    f(`UPDATE %[1]s SET counter = counter + 1 WHERE cluster = $1 AND node = $2 AND incarnation = $3`),
		list:     f(`SELECT node, incarnation, counter FROM %[1]s WHERE cluster = $1 AND node <> '' AND incarnation > 0 LIMIT %[2]d + 1`),
		guard: f(`SELECT r.cluster, r.node, r.incarnation FROM %[1]s AS r
JOIN unnest($1::text[], $2::text[], $3::bigint[]) AS g (cluster, node, incarnation) USING (cluster, node, incarnation)
FOR KEY SHARE OF r`),
	}
}

// joinTries bounds how often Join starts again when a concurrent Join of
// the same node wrote its record first.
const joinTries = 4

// Join implements [store.Membership] in two round trips: one transaction
// marks node's live record dead, if any; a second one (a batch of
// statements, run by PostgreSQL in one implicit transaction) deletes it,
// waiting for its guarded writes in flight, raises the cluster's top
// incarnation and writes the new record.
func (s *Store[T]) Join(ctx context.Context, cluster, node string, min uint64) (uint64, error) {
	if err := check.Call(ctx, "postgres", "join", check.IDs(cluster, node), check.Min(min)); err != nil {
		return 0, err
	}
	q := &s.q.members
	for range joinTries {
		if _, err := s.pool.Exec(ctx, q.markJoin, cluster, node); err != nil {
			return 0, fail(ctx, "join", node, err)
		}
		b := &pgx.Batch{}
		b.Queue(q.reapJoin, cluster, node)
		b.Queue(q.joinTop, cluster, int64(min))
		var inc int64
		put := false
		b.Queue(q.joinPut, cluster, node).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&inc)
			put = err == nil
			if errors.Is(err, pgx.ErrNoRows) {
				return nil
			}
			return err
		})
		var live bool
		b.Queue(q.joinLive, cluster, node).QueryRow(func(row pgx.Row) error { return row.Scan(&live) })
		err := s.pool.SendBatch(ctx, b).Close()
		var pe *pgconn.PgError
		switch {
		case errors.As(err, &pe) && pe.Code == "22003": // top + 1 overflowed
			return 0, fmt.Errorf("postgres: join %q: incarnations of cluster %q exhausted: %w", node, cluster, store.ErrInvalid)
		case err != nil:
			return 0, fail(ctx, "join", node, err)
		case put:
			return uint64(inc), nil
		case !live:
			return 0, fmt.Errorf("postgres: join %q: cluster %q has %d members: %w", node, cluster, store.MaxMembers, store.ErrTooLarge)
		}
	}
	return 0, fmt.Errorf("postgres: join %q: concurrent joins of the node won %d times: %w", node, joinTries, store.ErrConflict)
}

// Renew implements [store.Membership] in one round trip: the counter's
// UPDATE and the members' SELECT in one batch.
func (s *Store[T]) Renew(ctx context.Context, cluster, node string, incarnation uint64) ([]store.Member, error) {
	if err := check.Call(ctx, "postgres", "renew", check.Member(cluster, node, incarnation)); err != nil {
		return nil, err
	}
	q := &s.q.members
	b := &pgx.Batch{}
	var renewed bool
	b.Queue(q.renew, cluster, node, int64(incarnation)).Exec(func(tag pgconn.CommandTag) error {
		renewed = tag.RowsAffected() == 1
		return nil
	})
	var out []store.Member
	listed := 0
	b.Queue(q.list, cluster).Query(func(rows pgx.Rows) error {
		var m store.Member
		var inc, counter int64
		_, err := pgx.ForEachRow(rows, []any{&m.Node, &inc, &counter}, func() error {
			listed++
			// A row no Join could have written is skipped: no node can
			// hold it, and taken into the view it could never answer
			// nor be expelled (every lease would stay off).
			if check.ID("node", m.Node) != nil || inc <= 0 || check.Incarnation(uint64(inc)) != nil || counter < 0 {
				return nil
			}
			m.Incarnation, m.Counter = uint64(inc), uint64(counter)
			out = append(out, m)
			return nil
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return nil, fail(ctx, "renew", node, err)
	}
	if listed > store.MaxMembers {
		// Join admits no more: something else wrote them. Left out, some
		// would be members no node waits for.
		return nil, fmt.Errorf("postgres: renew %q: cluster %q holds more than %d members, which no Join writes: %w", node, cluster, store.MaxMembers, store.ErrTooLarge)
	}
	if !renewed {
		return out, notMember("renew", store.Guard{Cluster: cluster, Node: node, Incarnation: incarnation})
	}
	return out, nil
}

// Expel implements [store.Membership] in two round trips: an UPDATE marks
// m's record dead if it holds m's incarnation and counter, then a DELETE
// removes it, waiting for the row locks of the writes guarded by m that
// were in flight.
func (s *Store[T]) Expel(ctx context.Context, cluster string, m store.Member) (bool, error) {
	if err := check.Call(ctx, "postgres", "expel", check.Member(cluster, m.Node, m.Incarnation)); err != nil {
		return false, err
	}
	if m.Counter > math.MaxInt64 {
		return false, nil // no record holds it
	}
	tag, err := s.pool.Exec(ctx, s.q.members.markExpel, cluster, m.Node, int64(m.Incarnation), int64(m.Counter))
	if err != nil {
		return false, fail(ctx, "expel", m.Node, err)
	}
	if tag.RowsAffected() == 0 {
		return false, nil
	}
	return true, s.reap(ctx, "expel", cluster, m.Node, m.Incarnation)
}

// Leave implements [store.Membership] as Expel does, without the counter.
func (s *Store[T]) Leave(ctx context.Context, cluster, node string, incarnation uint64) error {
	if err := check.Call(ctx, "postgres", "leave", check.Member(cluster, node, incarnation)); err != nil {
		return err
	}
	if _, err := s.pool.Exec(ctx, s.q.members.mark, cluster, node, int64(incarnation)); err != nil {
		return fail(ctx, "leave", node, err)
	}
	// Also when the record was marked dead already: a Leave asked again
	// after one whose wait failed must still wait for the writes in flight
	// (a node settling a write whose outcome the store left open relies on
	// it).
	return s.reap(ctx, "leave", cluster, node, incarnation)
}

// reap deletes the record that Expel or Leave marked dead, once the writes
// that hold its row lock have ended. If the call fails, the dead record
// stays, which is no member; the next Join of node deletes it.
func (s *Store[T]) reap(ctx context.Context, op, cluster, node string, incarnation uint64) error {
	if _, err := s.pool.Exec(ctx, s.q.members.reap, cluster, node, -int64(incarnation)); err != nil {
		return fail(ctx, op, node, fmt.Errorf("removed, but waiting for its writes in flight failed: %w", err))
	}
	return nil
}

// guard queues on b, if an op is guarded, the statement that locks the
// live member rows of ops' guards FOR KEY SHARE. Once b has run, the
// returned func returns an error wrapping store.ErrNotMember if a guard
// had no such row, else nil (also if the statement's result never came,
// which b's own error then tells).
func (s *Store[T]) guard(b *pgx.Batch, ops []store.Op[T]) func() error {
	guards := check.Guards(ops)
	if len(guards) == 0 {
		return func() error { return nil }
	}
	clusters, nodes, incs := make([]string, len(guards)), make([]string, len(guards)), make([]int64, len(guards))
	for i, g := range guards {
		clusters[i], nodes[i], incs[i] = g.Cluster, g.Node, int64(g.Incarnation)
	}
	// The callback never returns ErrNotMember itself: an error from a batch
	// callback makes pgx drop the connection's prepared statements, and
	// read lets the caller report the missing member ahead of the key
	// locks' errors.
	read := false
	b.Queue(s.q.members.guard, clusters, nodes, incs).Query(func(rows pgx.Rows) error {
		var g store.Guard
		var inc int64
		_, err := pgx.ForEachRow(rows, []any{&g.Cluster, &g.Node, &inc}, func() error {
			g.Incarnation = uint64(inc)
			guards = slices.DeleteFunc(guards, func(x store.Guard) bool { return x == g })
			return nil
		})
		read = err == nil
		return err
	})
	return func() error {
		if read && len(guards) > 0 {
			return notMember("commit", guards[0])
		}
		return nil
	}
}

func notMember(op string, g store.Guard) error {
	return fmt.Errorf("postgres: %s: %w", op, check.NotMember(g))
}

var _ store.Membership = (*Store[int])(nil)
