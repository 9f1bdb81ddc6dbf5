package postgres

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/warpcache/warp/store"
)

// Defaults and hard limits of [Config].
const (
	DefaultTable        = "warp_store"
	DefaultMaxKeyLen    = 1024
	DefaultMaxValueSize = 16 << 20
	// MaxKeyLenLimit keeps a key inside a B-tree index entry.
	MaxKeyLenLimit = 2048
	// MaxValueSizeLimit is below PostgreSQL's 1 GiB limit for a field.
	MaxValueSizeLimit = 512 << 20
	// DefaultCommitTimeout is how long Commit waits for the reply to its
	// COMMIT by default.
	DefaultCommitTimeout = 10 * time.Second
)

// Config configures a [Store]. The zero value is a store on table
// warp_store without history, 1 KiB keys and 16 MiB values.
type Config struct {
	// Table is the table's name, optionally schema-qualified
	// ("schema.table"): letters, digits and underscores, at most 48 bytes
	// per part. The history table and its trigger function are named after
	// it (Table+"_history", Table+"_history_keep"). Default warp_store.
	Table string
	// History is how many older versions of each key the history table
	// keeps for GetAt; 0 keeps none and writes nothing there. It costs one
	// insert and one index probe per write when above zero.
	History int
	// HistoryAge, if positive, also bounds the history by age: GetAt
	// refuses (store.ErrHistory) a time older than HistoryAge ago unless
	// the key's current version answers it. Rows are still trimmed by
	// History only.
	HistoryAge time.Duration
	// Now is the clock HistoryAge is measured with; nil means time.Now.
	Now func() time.Time
	// MaxKeyLen is the longest key in bytes; longer keys fail with
	// store.ErrTooLarge. Default 1024, at most MaxKeyLenLimit.
	MaxKeyLen int
	// MaxValueSize is the largest encoded value in bytes; larger ones fail
	// with store.ErrTooLarge. Default 16 MiB, at most MaxValueSizeLimit.
	// A larger value read back (written by something else than this
	// store, or under a larger MaxValueSize) is an error wrapping
	// store.ErrInvalid, not a value.
	MaxValueSize int
	// CommitTimeout bounds how long Commit waits for the reply to its
	// COMMIT, which the caller's cancellation does not cut short (its
	// deadline does, if sooner: see [Store.Commit]); without a reply by
	// then, Commit fails with [ErrCommitUnknown]. Default
	// DefaultCommitTimeout (10 s).
	CommitTimeout time.Duration
	// SkipSchema makes New trust that schema.sql (and the history trigger,
	// if History > 0) has been applied instead of running it.
	SkipSchema bool
}

var identPart = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,47}$`)

// withDefaults returns c with its zero fields set to their defaults, or an
// error wrapping store.ErrInvalid.
func (c Config) withDefaults() (Config, error) {
	if c.Table == "" {
		c.Table = DefaultTable
	}
	if c.MaxKeyLen == 0 {
		c.MaxKeyLen = DefaultMaxKeyLen
	}
	if c.MaxValueSize == 0 {
		c.MaxValueSize = DefaultMaxValueSize
	}
	if c.CommitTimeout == 0 {
		c.CommitTimeout = DefaultCommitTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, c.validate()
}

func (c Config) validate() error {
	parts := strings.Split(c.Table, ".")
	if len(parts) > 2 {
		return fmt.Errorf("postgres: table %q: more than schema.table: %w", c.Table, store.ErrInvalid)
	}
	for _, p := range parts {
		if !identPart.MatchString(p) {
			return fmt.Errorf("postgres: table %q: want letters, digits and _ (at most 48 per part): %w", c.Table, store.ErrInvalid)
		}
	}
	switch {
	case c.History < 0:
		return fmt.Errorf("postgres: history %d < 0: %w", c.History, store.ErrInvalid)
	case c.MaxKeyLen < 0 || c.MaxKeyLen > MaxKeyLenLimit:
		return fmt.Errorf("postgres: max key length %d not in [1, %d]: %w", c.MaxKeyLen, MaxKeyLenLimit, store.ErrInvalid)
	case c.MaxValueSize < 0 || c.MaxValueSize > MaxValueSizeLimit:
		return fmt.Errorf("postgres: max value size %d not in [1, %d]: %w", c.MaxValueSize, MaxValueSizeLimit, store.ErrInvalid)
	case c.CommitTimeout < 0:
		return fmt.Errorf("postgres: commit timeout %v < 0: %w", c.CommitTimeout, store.ErrInvalid)
	}
	return nil
}
