package postgres

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed schema.sql
var schemaSQL string

// names are the quoted identifiers of one store's objects.
type names struct {
	table, history, keep, trigger string
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
	}
}

// schema returns schema.sql with n's names in place of the defaults.
func (n names) schema() string {
	return strings.NewReplacer(
		`"warp_store_history_keep"`, n.keep,
		`"warp_store_history"`, n.history,
		`"warp_store"`, n.table,
	).Replace(schemaSQL)
}

// ensureSchema creates the tables and sets the history trigger to keep
// history versions, serialized against other Stores doing the same.
func ensureSchema(ctx context.Context, pool *pgxpool.Pool, n names, history int) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", n.table); err != nil {
			return err
		}
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
