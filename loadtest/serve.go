package loadtest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// startTimeout bounds how long a serve may take to say it serves: a guard
// against a hang, never a measure.
const startTimeout = 2 * time.Minute

// serveProc is one running `enlace serve`.
type serveProc struct {
	n      int
	cmd    *exec.Cmd
	base   string // http://host:port of its ENLACE_ADDR
	exited chan struct{}
	tail   *tail
}

// tail keeps the end of a process's log, for error messages.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > 8<<10 {
		t.buf = t.buf[len(t.buf)-(8<<10):]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// startServe starts serve number n with env and waits until its log says it
// serves (its listening address is in that line: ENLACE_ADDR is port 0).
func startServe(ctx context.Context, command []string, env []string, n int, logDir string) (*serveProc, error) {
	cmd := exec.Command(command[0], append(append([]string(nil), command[1:]...), "serve")...)
	cmd.Env = env
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("loadtest: serve %d: %w", n, err)
	}
	var logs io.Writer = io.Discard
	var file *os.File
	if logDir != "" {
		file, err = os.OpenFile(filepath.Join(logDir, fmt.Sprintf("serve-%d.log", n)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("loadtest: serve %d's log: %w", n, err)
		}
		logs = file
	}
	if err := cmd.Start(); err != nil {
		if file != nil {
			file.Close()
		}
		return nil, fmt.Errorf("loadtest: starting serve %d: %w", n, err)
	}
	p := &serveProc{n: n, cmd: cmd, exited: make(chan struct{}), tail: &tail{}}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			fmt.Fprintf(io.MultiWriter(logs, p.tail), "%s\n", line)
			if strings.Contains(string(line), `"msg":"enlace serving"`) {
				var l struct{ Addr string }
				if json.Unmarshal(line, &l) == nil && l.Addr != "" {
					select {
					case addr <- l.Addr:
					default:
					}
				}
			}
		}
		io.Copy(io.Discard, stderr)
		cmd.Wait()
		if file != nil {
			file.Close()
		}
		close(p.exited)
	}()
	wait, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	select {
	case a := <-addr:
		p.base = "http://" + a
		return p, nil
	case <-p.exited:
		return nil, fmt.Errorf("loadtest: serve %d exited before serving (%s):\n%s", n, cmd.ProcessState, p.tail.String())
	case <-wait.Done():
		p.kill()
		return nil, fmt.Errorf("loadtest: serve %d did not start within %s: %w\n%s", n, startTimeout, wait.Err(), p.tail.String())
	}
}

// kill ends the process at once (SIGKILL: no cleanup, as a crash) and waits
// for it to be gone.
func (p *serveProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// stop asks the process to stop (SIGTERM, as an orchestrator does) and waits
// for it; it is killed if it takes longer than grace.
func (p *serveProc) stop(grace time.Duration) error {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("loadtest: stopping serve %d: %w", p.n, err)
	}
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.kill()
		return fmt.Errorf("loadtest: serve %d did not stop within %s of SIGTERM", p.n, grace)
	}
	if st := p.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("loadtest: serve %d ended with %s:\n%s", p.n, st, p.tail.String())
	}
	return nil
}

// targets are the serves that take webhooks now, used in turn.
type targets struct {
	mu   sync.Mutex
	live []*serveProc
	next int
}

func (t *targets) add(p *serveProc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.live = append(t.live, p)
}

func (t *targets) remove(p *serveProc) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, q := range t.live {
		if q == p {
			t.live = append(t.live[:i:i], t.live[i+1:]...)
			return
		}
	}
}

// pick is the next serve's address, "" when none takes webhooks.
func (t *targets) pick() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.live) == 0 {
		return ""
	}
	t.next++
	return t.live[t.next%len(t.live)].base
}

func (t *targets) all() []*serveProc {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]*serveProc(nil), t.live...)
}
