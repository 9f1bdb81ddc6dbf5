package postgres

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/warpcache/warp/store"
)

//go:embed schema.sql
var schemaSQL string

// names are the quoted identifiers of one store's objects.
type names struct {
	table, history, keep, trigger, members string
}

func newNames(table string) names {
	parts := strings.Split(table, ".")
	last := len(parts) - 1
	with := func(suffix string) string {
		p := append([]string(nil), parts...)
		p[last] += suffix
		return pgx.Identifier(p).Sanitize()
	}
	return names{
		table:   with(""),
		history: with("_history"),
		keep:    with("_history_keep"),
		trigger: pgx.Identifier{parts[last] + "_history"}.Sanitize(),
		members: with("_members"),
	}
}

// schema returns schema.sql with n's names in place of the defaults.
func (n names) schema() string {
	return strings.NewReplacer(
		`"warp_store_history_keep"`, n.keep,
		`"warp_store_history"`, n.history,
		`"warp_store_members"`, n.members,
		`"warp_store"`, n.table,
	).Replace(schemaSQL)
}

// ensureSchema creates the tables and sets the history trigger to keep
// history versions, serialized against other Stores doing the same.
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, n names, history int) error {
	return n.underDDLLock(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, n.schema()); err != nil {
			return err
		}
		ddl := fmt.Sprintf("DROP TRIGGER IF EXISTS %s ON %s", n.trigger, n.table)
		if history > 0 {
			ddl += fmt.Sprintf(`;
CREATE TRIGGER %s AFTER UPDATE ON %s FOR EACH ROW
    WHEN (OLD.version <> NEW.version AND OLD.version > 0)
    EXECUTE FUNCTION %s('%d')`, n.trigger, n.table, n.keep, history)
		}
		_, err := tx.Exec(ctx, ddl)
		return err
	})
}

// DropSchema drops what [New] creates for table (a [Config].Table; empty
// means DefaultTable): the table, its _history and _members tables, with
// the history trigger, and the function <table>_history_keep. Missing
// objects are skipped. It waits for a [New] creating the table named the
// same way (not "x" and "public.x": the lock is taken on the name), and
// New for it. It is meant for tests and benchmarks that create
// tables of their own; the data is gone for good.
func DropSchema(ctx context.Context, pool *pgxpool.Pool, table string) error {
	cfg, err := Config{Table: table}.withDefaults()
	if err != nil {
		return err
	}
	if pool == nil {
		return fmt.Errorf("postgres: nil pool: %w", store.ErrInvalid)
	}
	n := newNames(cfg.Table)
	err = n.underDDLLock(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, n.drop())
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: drop %s: %w", n.table, err)
	}
	return nil
}

// underDDLLock runs fn in a transaction that first takes the advisory
// lock serializing ensureSchema and DropSchema on the table named n.table:
// PostgreSQL's DDL is not safe against itself on the same catalog rows
// (CREATE OR REPLACE FUNCTION racing DROP FUNCTION fails with "tuple
// concurrently deleted", or deadlocks).
func (n names) underDDLLock(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", n.table); err != nil {
			return err
		}
		return fn(tx)
	})
}

// drop returns the statements that undo schema and the history trigger.
func (n names) drop() string {
	return fmt.Sprintf("DROP TABLE IF EXISTS %s, %s, %s; DROP FUNCTION IF EXISTS %s()", n.table, n.history, n.members, n.keep)
}

// checkSchema fails unless the tables New would create exist (the history
// table only if history > 0): with Config.SkipSchema, a missing table
// would otherwise surface at the first write, or the first guarded one.
func checkSchema(ctx context.Context, pool *pgxpool.Pool, n names, history int) error {
	tables := []string{n.table, n.members}
	if history > 0 {
		tables = append(tables, n.history)
	}
	var missing []string
	err := pool.QueryRow(ctx, `SELECT array(SELECT t FROM unnest($1::text[]) AS t WHERE to_regclass(t) IS NULL)`, tables).Scan(&missing)
	if err != nil {
		return fmt.Errorf("postgres: check tables: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("postgres: table %s does not exist (Config.SkipSchema is set): run store/postgres/schema.sql with %s in place of \"warp_store\", or unset SkipSchema: %w",
			strings.Join(missing, ", "), n.table, store.ErrInvalid)
	}
	return nil
}
