package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// ErrExited is returned when a signal is sent to a process that has
// exited already.
var ErrExited = errors.New("proc: process has exited")

// Spec describes a process to start.
type Spec struct {
	// Path is the executable; Args its arguments (without the name).
	Path string
	Args []string
	// Env is added to the controller's environment.
	Env []string
	// Stdin, Stdout and Stderr are the process's streams; nil: /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// Process is a running (or exited) child process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has been reaped
	err  error         // its exit status, set before done closes
}

// Start starts the process described by spec.
func Start(spec Spec) (*Process, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = spec.Stdin, spec.Stdout, spec.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proc: start %s: %w", spec.Path, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Done is closed once the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err returns the process's exit status once Done is closed (nil for a
// clean exit), nil before.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Pause stops the process with SIGSTOP.
func (p *Process) Pause() error { return p.signal(syscall.SIGSTOP) }

// Continue resumes a paused process with SIGCONT.
func (p *Process) Continue() error { return p.signal(syscall.SIGCONT) }

// Kill kills the process with SIGKILL and waits until it is reaped. Killing
// an exited process is not an error.
func (p *Process) Kill() error {
	if err := p.signal(syscall.SIGKILL); err != nil && !errors.Is(err, ErrExited) {
		return err
	}
	<-p.done
	return nil
}

// Stop asks the process to exit (SIGTERM, and SIGCONT in case it is
// paused), waits up to grace, then kills it. It returns once the process
// is reaped; stopping an exited process is not an error.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.signal(syscall.SIGTERM); err != nil {
		if errors.Is(err, ErrExited) {
			return nil
		}
		return err
	}
	_ = p.signal(syscall.SIGCONT)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-p.done:
		return nil
	case <-t.C:
		return p.Kill()
	}
}

// signal sends sig unless the process has been reaped (after which its
// pid may belong to another process).
func (p *Process) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return fmt.Errorf("%w: pid %d, %v", ErrExited, p.Pid(), sig)
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("%w: pid %d, %v", ErrExited, p.Pid(), sig)
		}
		return fmt.Errorf("proc: signal %v to pid %d: %w", sig, p.Pid(), err)
	}
	return nil
}

// State returns the process's scheduler state from /proc (Linux): 'R'
// running, 'S' sleeping, 'T' stopped, 'Z' zombie; 0 when unknown.
func (p *Process) State() byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Pid()))
	if err != nil {
		return 0
	}
	// The state follows the command name in parentheses, which may
	// contain spaces: find the last ')'.
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' && i+2 < len(b) {
			return b[i+2]
		}
	}
	return 0
}
