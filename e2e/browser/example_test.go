package browser_test

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	// buildTimeout bounds `go build` of the example; a cold cache on a
	// small CI machine compiles go-redis too.
	buildTimeout = 10 * time.Minute
	// startTimeout bounds the wait from exec to the start-up banner.
	startTimeout = 30 * time.Second
	// stopTimeout bounds a graceful shutdown before the process is killed.
	stopTimeout = 10 * time.Second
)

// example is the net/http example running as a program.
type example struct {
	base   string // http://127.0.0.1:port
	cmd    *exec.Cmd
	stdout *syncBuffer // the banner
	stderr *syncBuffer // the log
}

func (e *example) output() string {
	return "stdout:\n" + e.stdout.String() + "stderr:\n" + e.stderr.String()
}

// startExample builds examples/nethttp in its own module (so that it
// builds with or without the repository's go.work), runs it on a free
// loopback port with the test's environment less CLERK_* and ADDR, plus
// env, and waits for its banner. The test's end stops it.
func startExample(t *testing.T, env ...string) *example {
	t.Helper()
	src, err := filepath.Abs(filepath.Join("..", "..", "examples", "nethttp"))
	require.NoError(t, err)
	exe := filepath.Join(t.TempDir(), "nethttp")
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	build := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-o", exe, ".")
	build.Dir = src
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build examples/nethttp:\n%s", out)

	e := &example{cmd: exec.Command(exe), stdout: newSyncBuffer(), stderr: newSyncBuffer()}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLERK_") && !strings.HasPrefix(kv, "ADDR=") {
			e.cmd.Env = append(e.cmd.Env, kv)
		}
	}
	e.cmd.Env = append(e.cmd.Env, "ADDR=127.0.0.1:0")
	e.cmd.Env = append(e.cmd.Env, env...)
	e.cmd.Stdout = e.stdout
	e.cmd.Stderr = e.stderr
	e.cmd.WaitDelay = time.Second
	require.NoError(t, e.cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- e.cmd.Wait() }()
	t.Cleanup(func() { e.stop(t, exited) })

	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case line := <-e.stdout.firstLine:
		_, addr, ok := strings.Cut(line, " listening on ")
		require.True(t, ok, "unexpected first line %q; output:\n%s", line, e.output())
		u, err := url.Parse(addr)
		require.NoError(t, err)
		require.Equal(t, "http", u.Scheme)
		e.base = u.String()
	case err := <-exited:
		exited <- err // for stop
		require.FailNow(t, "the example exited before its banner", "%v; output:\n%s", err, e.output())
	case <-timer.C:
		require.FailNow(t, "the example printed no banner", "within %v; output:\n%s", startTimeout, e.output())
	}
	return e
}

// stop asks the example to shut down and kills it if it does not.
func (e *example) stop(t *testing.T, exited chan error) {
	_ = e.cmd.Process.Signal(os.Interrupt)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-exited:
	case <-timer.C:
		_ = e.cmd.Process.Kill()
		err = <-exited
		t.Errorf("the example ignored SIGINT for %v and was killed", stopTimeout)
	}
	exited <- err // for a second stop
	if t.Failed() {
		t.Logf("the example exited: %v\noutput:\n%s", err, e.output())
	}
}

// syncBuffer collects a child's output, which os/exec copies from other
// goroutines, and announces the first complete line: the banner's
// "clerkgate net/http example listening on http://…".
type syncBuffer struct {
	mu        sync.Mutex
	buf       bytes.Buffer
	firstLine chan string
	announced bool
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{firstLine: make(chan string, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Write(p)
	if line, _, ok := bytes.Cut(b.buf.Bytes(), []byte("\n")); ok && !b.announced {
		b.firstLine <- string(line)
		b.announced = true
	}
	return len(p), nil
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
