package postgres

import (
	"fmt"

	"github.com/warpcache/warp/merge"
)

// queries are the statements of one store, built once by New. Every write
// is a single statement, so a write is one round trip.
type queries struct {
	get, version string
	// upsert writes unconditionally or create-if-absent ($6: check that
	// the stored version is 0); update is the compare-and-swap on a
	// version above 0. Both return no row when a condition fails, or
	// when the key's version is at merge.MaxVersion or out of range
	// (negative, or above: not written by an adapter).
	upsert, update string
	// guarded[0] and guarded[1] are upsert and update conditional on the
	// member row ($7, $8, $9: cluster, node, incarnation), which they lock
	// FOR KEY SHARE until they commit.
	guarded [2]string
	// state reads what a rejected write ran into; stateGuarded also says
	// whether the guard's member row exists.
	state, stateGuarded string
	// members are the statements of Membership and of guarded commits.
	members memberQueries
	// lock takes the row locks of a commit in key order, inserting
	// version-0 placeholders for missing keys; apply writes one op of it;
	// unplace removes the placeholders left by checks of missing keys.
	lock, apply, unplace string
	// scan[first][bounded] reads one page of a prefix scan.
	scan [2][2]string
	// getAt and historyLen serve GetAt; getAt returns a negative current
	// version first, for GetAt to report, rather than an older one.
	getAt, historyLen string
}

// The tails of upsert and update, shared by their guarded forms.
const (
	upsertSet = `ON CONFLICT (key) DO UPDATE SET
    value = EXCLUDED.value, version = GREATEST($3::bigint, r.version + 1),
    fence = GREATEST(r.fence, EXCLUDED.fence), deleted = EXCLUDED.deleted, updated_at = EXCLUDED.updated_at
WHERE (NOT $6::boolean OR r.version = 0) AND ($4::bigint = 0 OR r.fence <= $4::bigint) AND r.version >= 0 AND r.version < %[2]d
RETURNING r.version`
	updateSet = `UPDATE %[1]s AS r SET
    value = $2, version = GREATEST($3::bigint, r.version + 1),
    fence = GREATEST(r.fence, $4::bigint), deleted = $5, updated_at = now()`
	updateWhere = `key = $1 AND r.version = $6::bigint AND ($4::bigint = 0 OR r.fence <= $4::bigint) AND r.version < %[2]d
RETURNING r.version`
	// guard locks the member row of a guarded write.
	guard = `WITH g AS (SELECT FROM %[3]s WHERE cluster = $7 AND node = $8 AND incarnation = $9 FOR KEY SHARE)
`
)

func newQueries(n names) queries {
	t, h := n.table, n.history
	f := func(format string) string { return fmt.Sprintf(format, t, merge.MaxVersion, n.members) }
	q := queries{
		get:     fmt.Sprintf(`SELECT value, version FROM %s WHERE key = $1 AND NOT deleted`, t),
		version: fmt.Sprintf(`SELECT version FROM %s WHERE key = $1`, t),
		upsert: f(`INSERT INTO %[1]s AS r (key, value, version, fence, deleted, updated_at)
VALUES ($1, $2, GREATEST($3::bigint, 1), $4::bigint, $5, now())
` + upsertSet),
		update: f(updateSet + `
WHERE ` + updateWhere),
		guarded: [2]string{
			f(guard + `INSERT INTO %[1]s AS r (key, value, version, fence, deleted, updated_at)
SELECT $1::text, $2::bytea, GREATEST($3::bigint, 1), $4::bigint, $5::boolean, now() FROM g
` + upsertSet),
			f(guard + updateSet + `
FROM g WHERE ` + updateWhere),
		},
		state: fmt.Sprintf(`SELECT version, fence FROM %s WHERE key = $1`, t),
		stateGuarded: fmt.Sprintf(`SELECT COALESCE(r.version, 0), COALESCE(r.fence, 0),
    EXISTS (SELECT FROM %[2]s WHERE cluster = $2 AND node = $3 AND incarnation = $4)
FROM (SELECT) AS one LEFT JOIN %[1]s AS r ON r.key = $1`, t, n.members),
		members: newMemberQueries(n),
		lock: fmt.Sprintf(`INSERT INTO %s AS r (key, version, deleted)
SELECT k, 0, true FROM unnest($1::text[]) AS k ORDER BY k COLLATE "C"
ON CONFLICT (key) DO UPDATE SET fence = r.fence
RETURNING key, version, fence`, t),
		apply:   fmt.Sprintf(`UPDATE %s SET value = $2, version = $3, fence = $4, deleted = $5, updated_at = now() WHERE key = $1`, t),
		unplace: fmt.Sprintf(`DELETE FROM %s WHERE key = ANY($1::text[]) AND version = 0`, t),
		getAt: fmt.Sprintf(`SELECT version, value, deleted FROM (
    SELECT version, value, deleted FROM %[1]s WHERE key = $1 AND (version <= $2 AND version > 0 OR version < 0)
    UNION ALL
    (SELECT version, value, deleted FROM %[2]s WHERE key = $1 AND version <= $2 ORDER BY version DESC LIMIT 1)
) AS x ORDER BY version < 0 DESC, version DESC LIMIT 1`, t, h),
		historyLen: fmt.Sprintf(`SELECT EXISTS (SELECT 1 FROM %s WHERE key = $1 AND version > 0),
    (SELECT count(*) FROM %s WHERE key = $1)`, t, h),
	}
	for first, lower := range []string{">", ">="} {
		for bounded, upper := range []string{"", " AND key < $3"} {
			q.scan[first][bounded] = fmt.Sprintf(`SELECT key, value, version FROM %s
WHERE key %s $1%s AND NOT deleted ORDER BY key LIMIT $2`, t, lower, upper)
		}
	}
	return q
}
