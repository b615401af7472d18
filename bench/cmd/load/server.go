package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// repoRoot finds the clerkgate checkout through the go command, so that
// the generator can be run from anywhere in the workspace or the bench
// module.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/clerkgate/clerkgate").Output()
	if err != nil {
		return "", fmt.Errorf("load: finding the clerkgate checkout (run from the bench module or the workspace): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// build compiles the main package in dir (a path within the checkout)
// into out, from dir itself, so that the package's own module (and the
// workspace, if there is one) decides its dependencies.
func build(root, dir, out string) error {
	cmd := exec.Command("go", "build", "-o", out, ".")
	cmd.Dir = filepath.Join(root, dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("load: go build in %s: %w", cmd.Dir, err)
	}
	return nil
}

// server is one server process under load.
type server struct {
	name string
	cmd  *exec.Cmd
	addr string // host:port it listens on
	log  string // file with its output, kept for a post-mortem
	done chan error
	tls  *tlsSetup // nil when it serves plain HTTP
}

// startServer runs bin with env added to a copy of this process's
// environment without CLERK_* variables, and ADDR=127.0.0.1:0. The server
// prints "… listening on http://host:port" when ready, as the example
// does; that line tells the address.
//
// With cpus set, the server runs under taskset on those CPUs (and its Go
// runtime sizes GOMAXPROCS to them).
//
// With t set, the server serves HTTPS (and HTTP/2) with t's certificate.
func startServer(name, bin, logDir, cpus string, env []string, t *tlsSetup) (*server, error) {
	logFile, err := os.CreateTemp(logDir, name+"-*.log")
	if err != nil {
		return nil, err
	}
	s := &server{name: name, log: logFile.Name(), done: make(chan error, 1), tls: t}
	s.cmd = exec.Command(bin)
	if cpus != "" {
		s.cmd = exec.Command("taskset", "-c", cpus, bin)
	}
	s.cmd.Env = append(cleanEnv(), env...)
	s.cmd.Env = append(s.cmd.Env, "ADDR=127.0.0.1:0")
	if t != nil {
		s.cmd.Env = append(s.cmd.Env, t.env...)
	}
	s.cmd.Stderr = logFile
	banner := &bannerWatcher{w: logFile, addr: make(chan string, 1)}
	s.cmd.Stdout = banner
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("load: start %s: %w", name, err)
	}
	go func() {
		err := s.cmd.Wait()
		logFile.Close()
		s.done <- err
	}()

	select {
	case s.addr = <-banner.addr:
	case err := <-s.done:
		return nil, fmt.Errorf("load: %s exited before listening (%v); see %s", name, err, s.log)
	case <-time.After(30 * time.Second):
		s.kill()
		return nil, fmt.Errorf("load: %s did not start listening in 30 s; see %s", name, s.log)
	}
	if err := s.waitHealthy(); err != nil {
		s.kill()
		return nil, err
	}
	return s, nil
}

// pinnedEnv marks the generator once it runs under taskset.
const pinnedEnv = "CLERKGATE_LOAD_PINNED"

// pinSelf runs the generator again under taskset on cpus, so that it and
// every thread it starts stay off the servers' CPUs. It returns only on
// failure, or at once when the generator already runs pinned.
func pinSelf(cpus string) error {
	if os.Getenv(pinnedEnv) != "" {
		return nil
	}
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		return fmt.Errorf("load: pinning needs taskset (util-linux): %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	args := append([]string{"taskset", "-c", cpus, exe}, os.Args[1:]...)
	return syscall.Exec(taskset, args, append(os.Environ(), pinnedEnv+"=1"))
}

// bannerWatcher passes a server's output on to its log and picks the
// address out of the first "listening on http(s)://host:port" line.
type bannerWatcher struct {
	w     io.Writer
	addr  chan string
	line  []byte
	found bool
}

func (b *bannerWatcher) Write(p []byte) (int, error) {
	if !b.found {
		b.line = append(b.line, p...)
		for {
			line, rest, ok := bytes.Cut(b.line, []byte("\n"))
			if !ok {
				break
			}
			_, url, ok := bytes.Cut(line, []byte("listening on http://"))
			if !ok {
				_, url, ok = bytes.Cut(line, []byte("listening on https://"))
			}
			if ok {
				b.found = true
				b.addr <- string(bytes.TrimSpace(url))
				b.line = nil
				break
			}
			b.line = rest
		}
	}
	return b.w.Write(p)
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		// The servers get their configuration from the generator alone; a
		// REDIS_URL or REDIS_CLUSTER_ADDRS would also move the example's
		// revocation checks to Redis.
		if !strings.HasPrefix(kv, "CLERK_") && !strings.HasPrefix(kv, "ADDR=") &&
			!strings.HasPrefix(kv, "REDIS_URL=") && !strings.HasPrefix(kv, "REDIS_CLUSTER_ADDRS=") {
			env = append(env, kv)
		}
	}
	return env
}

func (s *server) waitHealthy() error {
	client, scheme := &http.Client{Timeout: time.Second}, "http://"
	if s.tls != nil {
		client, scheme = s.tls.client(), "https://"
		defer client.CloseIdleConnections()
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		res, err := client.Get(scheme + s.addr + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("load: %s at %s never answered /healthz with 200; see %s", s.name, s.addr, s.log)
}

// stop asks the server to shut down gracefully, and kills it after 10 s.
func (s *server) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.done:
		return err
	case <-time.After(10 * time.Second):
		s.kill()
		return fmt.Errorf("load: %s ignored SIGTERM for 10 s and was killed", s.name)
	}
}

func (s *server) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
}

// clockTick is the unit of utime and stime in /proc/<pid>/stat: USER_HZ,
// which Linux fixes at 100 on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// cpuTime reads the CPU time the server has used so far.
func (s *server) cpuTime() (time.Duration, error) {
	return processCPU(strconv.Itoa(s.cmd.Process.Pid))
}

// processCPU reads the CPU time process pid ("self" for this one) has used
// so far, user and system, over all its threads.
func processCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name, field 2, is in parentheses and may hold spaces;
	// utime and stime are fields 14 and 15, the 12th and 13th after it.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("load: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("load: short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("load: /proc stat: %w", err)
	}
	return time.Duration(utime+stime) * clockTick, nil
}

// memory reads the process's resident set size now (VmRSS) and at its
// peak (VmHWM), in bytes, from /proc.
func (s *server) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0, err
	}
	rss, peak = -1, -1
	for line := range bytes.Lines(b) {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(name) {
		case "VmRSS":
			dst = &rss
		case "VmHWM":
			dst = &peak
		default:
			continue
		}
		kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(value), []byte("kB")))), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("load: /proc status %s: %w", name, err)
		}
		*dst = kb << 10
	}
	if rss < 0 || peak < 0 {
		return 0, 0, errors.New("load: no VmRSS/VmHWM in /proc status")
	}
	return rss, peak, nil
}
