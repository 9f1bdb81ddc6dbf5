package postgres

import "errors"

// ErrCommitUnknown: [Store.Commit] sent COMMIT but got no reply (the
// connection was lost, or [Config].CommitTimeout passed), so the
// transaction may or may not have committed, whole. Read the keys to
// learn which. Errors wrapping it also wrap the connection's error.
var ErrCommitUnknown = errors.New("postgres: commit outcome unknown")
