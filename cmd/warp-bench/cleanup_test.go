package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warpcache/warp/internal/pgtest"
	"github.com/warpcache/warp/store/postgres"
)

// The tables and keys every warp-bench run writes start with these.
const (
	tablePrefix = `warpbench\_` // a LIKE pattern
	keyPattern  = "warpbench:*"
)

// A run against Redis or PostgreSQL, cluster or single node, leaves no
// key and no table behind: the keys and tables are counted before and
// after (the rueidis baseline's keys included). These tests do not run in
// parallel, so no other run of this package writes meanwhile.
func TestStoresLeaveNothing(t *testing.T) {
	rc, pool := testRedisClient(t), testPool(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"redis cluster", []string{"-store", "redis", "-modes", "eventual"}},
		{"postgres cluster", []string{"-store", "postgres", "-modes", "strong-local,eventual"}},
		{"redis single node", []string{"-store", "redis", "-nodes", "1", "-targets", "warp"}},
		{"postgres single node", []string{"-store", "postgres", "-nodes", "1", "-targets", "warp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys, tables := redisKeys(t, rc, keyPattern), pgTables(t, pool, tablePrefix)
			var errOut bytes.Buffer
			args := append(tc.args, "-keys", "3000", "-duration", "200ms", "-concurrency", "2", "-json")
			if err := run(args, io.Discard, &errOut); err != nil {
				t.Fatalf("run: %v\n%s", err, errOut.String())
			}
			if !strings.Contains(errOut.String(), "cleanup: dropped") {
				t.Errorf("no clean-up reported on stderr:\n%s", errOut.String())
			}
			if k, tb := redisKeys(t, rc, keyPattern), pgTables(t, pool, tablePrefix); k != keys || tb != tables {
				t.Errorf("after the run: %d keys, %d tables and functions; want %d and %d as before", k, tb, keys, tables)
			}
		})
	}
}

var (
	redisWhere = regexp.MustCompile(`prefix (warpbench:[a-z0-9]+:)`)
	pgWhere    = regexp.MustCompile(`table (warpbench_[a-z0-9]+)`)
)

// A signal in the middle of the preload stops the run, which removes what
// it wrote and exits 130: a child warp-bench (this test binary, see
// TestMain) preloads two million keys, and gets SIGINT or SIGTERM once its
// progress line shows the preload under way.
func TestSignalMidPreloadLeavesNothing(t *testing.T) {
	rc, pool := testRedisClient(t), testPool(t)
	for _, tc := range []struct {
		store string
		sig   syscall.Signal
	}{{"redis", syscall.SIGINT}, {"postgres", syscall.SIGTERM}} {
		t.Run(tc.store, func(t *testing.T) {
			c, where := startPreloading(t, tc.store)
			if tc.store == "redis" && redisKeys(t, rc, where+"*") == 0 ||
				tc.store == "postgres" && pgTables(t, pool, likePrefix(where)) == 0 {
				t.Errorf("nothing under %s mid-preload: the test would prove nothing", where)
			}
			c.signal(t, tc.sig)
			err := c.wait(t, 60*time.Second)
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("exit: %v; want code 130 (interrupted)\n%s", err, c.log)
			}
			switch tc.store {
			case "redis":
				if n := redisKeys(t, rc, where+"*"); n != 0 {
					t.Errorf("%d keys left under %s after %v", n, where, tc.sig)
				}
			case "postgres":
				if n := pgTables(t, pool, likePrefix(where)); n != 0 {
					t.Errorf("%d tables or functions %s* left after %v", n, where, tc.sig)
				}
			}
		})
	}
}

// A second signal quits at once, without waiting for the clean-up: the
// child's DROP TABLE waits for a lock this test holds on its table, and a
// second SIGINT, sent once that DROP is seen waiting at the server, ends
// it by that signal well before the clean-up's 30 s bound (-h and
// docs/performance.md say so). The test then drops what the child left.
func TestSecondSignalQuitsAtOnce(t *testing.T) {
	pool := testPool(t)
	c, table := startPreloading(t, "postgres")
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback(ctx) }()
	if _, err := tx.Exec(ctx, "LOCK TABLE "+table+" IN ACCESS SHARE MODE"); err != nil {
		t.Fatal(err)
	}
	c.signal(t, syscall.SIGINT)
	c.waitFor(t, "the clean-up under way", func(l string) bool { return strings.Contains(l, "cleanup: dropping") })
	// The child's DROP TABLE must be at the server, waiting for the lock,
	// before the second signal: once the child is gone, nothing else
	// would show whether it had been sent.
	var locker int32
	if err := tx.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&locker); err != nil {
		t.Fatal(err)
	}
	pid := pgtest.BlockedBy(t, pool, locker, 30*time.Second)
	c.signal(t, syscall.SIGINT)
	err = c.wait(t, 10*time.Second)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Errorf("exit: %v; want the child ended by the second SIGINT\n%s", err, c.log)
	}
	// The DROP still waits for the lock in its server process, which
	// outlives the child: end it, waiting up to 10 s for it to be gone
	// (pg_terminate_backend only signals otherwise), then drop what the
	// child left.
	var gone bool
	if err := pool.QueryRow(ctx, "SELECT pg_terminate_backend($1, 10000)", pid).Scan(&gone); err != nil || !gone {
		t.Fatalf("ending the child's DROP (pid %d): %v, %v", pid, gone, err)
	}
	_ = tx.Rollback(ctx)
	if err := postgres.DropSchema(ctx, pool, table); err != nil {
		t.Fatal(err)
	}
	if n := pgTables(t, pool, likePrefix(table)); n != 0 {
		t.Errorf("%d tables or functions %s* left after the test's own drop", n, table)
	}
}

// child is a warp-bench run in a child process, its stderr read line by
// line.
type child struct {
	cmd   *exec.Cmd
	lines chan string
	log   string // the lines read so far
}

// startPreloading starts a child warp-bench that preloads two million
// keys into store and returns once its progress line shows the preload
// under way, with where it writes: the Redis prefix or PostgreSQL table.
func startPreloading(t *testing.T, store string) (*child, string) {
	t.Helper()
	args, _ := json.Marshal([]string{"-store", store, "-keys", "2000000", "-modes", "eventual", "-duration", "1s"})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+string(args))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 64)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	t.Cleanup(c.reap) // whichever way the test ends, no child outlives it
	whereRE := map[string]*regexp.Regexp{"redis": redisWhere, "postgres": pgWhere}[store]
	var where string
	c.waitFor(t, "preload progress", func(l string) bool {
		if m := whereRE.FindStringSubmatch(l); m != nil {
			where = m[1]
		}
		return strings.Contains(l, "preloading") && strings.Contains(l, "keys")
	})
	if where == "" {
		t.Fatalf("the child did not say where it writes:\n%s", c.log)
	}
	return c, where
}

// waitFor reads the child's lines until match holds for one, within 60 s.
func (c *child) waitFor(t *testing.T, what string, match func(line string) bool) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("the child ended before %s:\n%s", what, c.log)
			}
			c.log += l + "\n"
			if match(l) {
				return
			}
		case <-timeout:
			t.Fatalf("no %s within 60 s:\n%s", what, c.log)
		}
	}
}

func (c *child) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// wait reads the child's remaining lines and returns its exit, failing
// the test if it takes longer than bound.
func (c *child) wait(t *testing.T, bound time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		for l := range c.lines {
			c.log += l + "\n"
		}
		done <- c.cmd.Wait()
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(bound):
		_ = c.cmd.Process.Kill()
		<-done
		t.Fatalf("the child did not exit within %v:\n%s", bound, c.log)
		return nil
	}
}

// reap kills the child unless wait saw it exit, and waits for it and its
// output: the test's clean-up, so that a test that fails half-way leaves
// no process behind.
func (c *child) reap() {
	if c.cmd.ProcessState != nil { // wait saw it exit
		return
	}
	_ = c.cmd.Process.Kill()
	for range c.lines {
	}
	_ = c.cmd.Wait()
}

// likePrefix is a LIKE pattern's prefix matching s literally.
func likePrefix(s string) string { return strings.ReplaceAll(s, "_", `\_`) }
