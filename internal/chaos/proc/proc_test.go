package proc_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warpcache/warp/internal/chaos/proc"
	"github.com/warpcache/warp/internal/leakcheck"
)

// The test binary doubles as the tiny child: with PROC_TEST_CHILD set it
// echoes stdin's lines to stdout ("exit N" exits with N), ignoring SIGTERM
// when the variable says "stubborn".
func TestMain(m *testing.M) {
	if mode := os.Getenv("PROC_TEST_CHILD"); mode != "" {
		child(mode)
		return
	}
	leakcheck.Main(m)
}

func child(mode string) {
	if mode == "stubborn" {
		signal.Ignore(syscall.SIGTERM)
	}
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		var code int
		if _, err := fmt.Sscanf(sc.Text(), "exit %d", &code); err == nil {
			os.Exit(code)
		}
		fmt.Println(sc.Text())
	}
	os.Exit(0)
}

// kid is a started child with pipes to its stdin and from its stdout.
type kid struct {
	t  *testing.T
	p  *proc.Process
	in *os.File
	r  *bufio.Reader
}

func start(t *testing.T, mode string) *kid {
	t.Helper()
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	p, err := proc.Start(proc.Spec{
		Path: os.Args[0], Args: []string{"-test.run=^$"}, Env: []string{"PROC_TEST_CHILD=" + mode},
		Stdin: inR, Stdout: outW,
	})
	_ = inR.Close() // the child holds its own copies
	_ = outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Kill()
		_ = inW.Close()
		_ = outR.Close()
	})
	_ = outR.SetReadDeadline(time.Now().Add(10 * time.Second)) // bounds every read
	return &kid{t: t, p: p, in: inW, r: bufio.NewReader(outR)}
}

func (k *kid) echo(s string) {
	k.t.Helper()
	if _, err := fmt.Fprintln(k.in, s); err != nil {
		k.t.Fatal(err)
	}
	line, err := k.r.ReadString('\n')
	if got := strings.TrimSpace(line); err != nil || got != s {
		k.t.Fatalf("child echoed %q, %v; want %q", got, err, s)
	}
}

// gone reports whether no process has pid any more.
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		<-time.After(time.Millisecond)
	}
}

func TestStop(t *testing.T) {
	t.Parallel()
	k := start(t, "echo")
	k.echo("hi")
	if err := k.p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.p.Done():
	default:
		t.Fatal("Stop returned before the child was reaped")
	}
	if !gone(k.p.Pid()) {
		t.Fatalf("pid %d still exists after Stop", k.p.Pid())
	}
	var ee *exec.ExitError
	if err := k.p.Err(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("exit status %v; want terminated by SIGTERM", err)
	}
}

func TestPauseContinue(t *testing.T) {
	t.Parallel()
	k := start(t, "echo")
	k.echo("before")
	if err := k.p.Pause(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child stopped (state T)", func() bool { return k.p.State() == 'T' })
	if err := k.p.Continue(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child running again", func() bool { s := k.p.State(); return s != 'T' && s != 0 })
	k.echo("after")
}

func TestStopPausedChild(t *testing.T) {
	t.Parallel()
	k := start(t, "echo")
	k.echo("x")
	if err := k.p.Pause(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child stopped (state T)", func() bool { return k.p.State() == 'T' })
	if err := k.p.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := k.p.Err(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Fatalf("exit status %v; want terminated by SIGTERM (a paused child must get it too)", err)
	}
}

func TestKill(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"echo", "stubborn"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			k := start(t, mode)
			k.echo("x")
			var err error
			if mode == "stubborn" {
				err = k.p.Stop(50 * time.Millisecond) // ignores SIGTERM: killed after the grace
			} else {
				err = k.p.Kill()
			}
			if err != nil {
				t.Fatal(err)
			}
			var ee *exec.ExitError
			if err := k.p.Err(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("exit status %v; want killed by SIGKILL", err)
			}
			if !gone(k.p.Pid()) {
				t.Fatalf("pid %d still exists after the kill", k.p.Pid())
			}
		})
	}
}

func TestExited(t *testing.T) {
	t.Parallel()
	k := start(t, "echo")
	if _, err := fmt.Fprintln(k.in, "exit 3"); err != nil {
		t.Fatal(err)
	}
	<-k.p.Done()
	var ee *exec.ExitError
	if err := k.p.Err(); !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("exit status %v; want 3", err)
	}
	if err := k.p.Pause(); !errors.Is(err, proc.ErrExited) {
		t.Fatalf("Pause of an exited child: %v; want ErrExited", err)
	}
	if err := k.p.Kill(); err != nil {
		t.Fatalf("Kill of an exited child: %v; want nil", err)
	}
	if err := k.p.Stop(time.Second); err != nil {
		t.Fatalf("Stop of an exited child: %v; want nil", err)
	}
}

func TestStartFails(t *testing.T) {
	t.Parallel()
	if p, err := proc.Start(proc.Spec{Path: "/nonexistent/warp-chaos"}); err == nil {
		_ = p.Kill()
		t.Fatal("Start of a missing executable succeeded; want an error")
	}
}
