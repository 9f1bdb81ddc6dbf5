package main

import (
	"bufio"
	"bytes"
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
			args, _ := json.Marshal([]string{"-store", tc.store, "-keys", "2000000", "-modes", "eventual", "-duration", "1s"})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), envChild+"="+string(args))
			stderr, err := cmd.StderrPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			lines := make(chan string, 64)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stderr)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			var where, log string
			timeout := time.After(60 * time.Second)
		wait:
			for {
				select {
				case l, ok := <-lines:
					if !ok {
						t.Fatalf("the child ended before its preload:\n%s", log)
					}
					log += l + "\n"
					if m := redisWhere.FindStringSubmatch(l); m != nil && tc.store == "redis" {
						where = m[1]
					}
					if m := pgWhere.FindStringSubmatch(l); m != nil && tc.store == "postgres" {
						where = m[1]
					}
					if strings.Contains(l, "preloading") && strings.Contains(l, "keys") {
						break wait
					}
				case <-timeout:
					_ = cmd.Process.Kill()
					t.Fatalf("no preload progress within 60 s:\n%s", log)
				}
			}
			if where == "" {
				_ = cmd.Process.Kill()
				t.Fatalf("the child did not say where it writes:\n%s", log)
			}
			if tc.store == "redis" && redisKeys(t, rc, where+"*") == 0 ||
				tc.store == "postgres" && pgTables(t, pool, strings.ReplaceAll(where, "_", `\_`)) == 0 {
				t.Errorf("nothing under %s mid-preload: the test would prove nothing", where)
			}
			if err := cmd.Process.Signal(tc.sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				for l := range lines {
					log += l + "\n"
				}
				done <- cmd.Wait()
			}()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("the child did not exit within 60 s of %v", tc.sig)
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 130 {
				t.Errorf("exit: %v; want code 130 (interrupted)\n%s", err, log)
			}
			switch tc.store {
			case "redis":
				if n := redisKeys(t, rc, where+"*"); n != 0 {
					t.Errorf("%d keys left under %s after %v", n, where, tc.sig)
				}
			case "postgres":
				if n := pgTables(t, pool, strings.ReplaceAll(where, "_", `\_`)); n != 0 {
					t.Errorf("%d tables or functions %s* left after %v", n, where, tc.sig)
				}
			}
		})
	}
}
