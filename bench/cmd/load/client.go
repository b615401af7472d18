package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The client speaks just enough HTTP/1.1 to send GETs over keep-alive
// connections and check the status of each answer. The generator shares
// two cores with the server it measures, and every microsecond it spends
// per request is one the server does not get; net/http's client costs
// several times what this does, which would flatten every ratio.

// phase is one measured stretch of load against one server.
type phase struct {
	label string
	path  string
	// token returns the bearer token of the i-th request, or "" for none.
	token func(i int64) string
	// requests, when positive, is exactly how many requests to send;
	// otherwise the phase lasts duration.
	requests int64
	duration time.Duration
	// carry is how the token travels: in the Authorization header (the
	// zero value), or in the __session cookie.
	carry carry
	// h2, when set, sends the requests through net/http's client instead,
	// over HTTPS, where it speaks HTTP/2: the minimal client speaks only
	// HTTP/1.1 in the clear.
	h2 *http.Client
}

// outcome is what a phase measured.
type outcome struct {
	ok, failed   int64 // answers with status 200, and everything else
	elapsed      time.Duration
	firstFailure string
	// serverCPU and loadCPU are the CPU time the server process and the
	// load generator used meanwhile (user and system, all threads), when
	// the caller measured them.
	serverCPU, loadCPU time.Duration
}

// cpuPerRequest is the server's CPU time per request in microseconds.
// Unlike the rate, it hardly depends on what else the machine is doing.
func (o outcome) cpuPerRequest() float64 { return o.perRequest(o.serverCPU) }

// loadCPUPerRequest is the same for the load generator.
func (o outcome) loadCPUPerRequest() float64 { return o.perRequest(o.loadCPU) }

func (o outcome) perRequest(d time.Duration) float64 {
	if n := o.ok + o.failed; n > 0 {
		return float64(d.Microseconds()) / float64(n)
	}
	return 0
}

// rate is successful requests per second.
func (o outcome) rate() float64 {
	if o.elapsed <= 0 {
		return 0
	}
	return float64(o.ok) / o.elapsed.Seconds()
}

// progressFunc is called about once a second while a phase runs.
type progressFunc func(done int64, elapsed time.Duration)

// drive runs p against addr over conns keep-alive connections, one
// goroutine each, and calls progress every second.
func drive(addr string, conns int, p phase, progress progressFunc) outcome {
	var (
		next, ok, failed atomic.Int64
		stop             atomic.Bool
		failOnce         sync.Once
		first            string
		wg               sync.WaitGroup
	)
	fail := func(msg string) {
		failed.Add(1)
		failOnce.Do(func() { first = msg })
	}
	start := time.Now()
	if p.requests <= 0 {
		t := time.AfterFunc(p.duration, func() { stop.Store(true) })
		defer t.Stop()
	}
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{addr: addr}
			defer w.close()
			var req []byte
			for !stop.Load() {
				i := next.Add(1) - 1
				if p.requests > 0 && i >= p.requests {
					return
				}
				var status int
				var err error
				if p.h2 != nil {
					status, err = getH2(p.h2, addr, p.path, p.token(i))
				} else {
					req = appendRequest(req[:0], addr, p.path, p.token(i), p.carry)
					status, err = w.roundTrip(req)
				}
				switch {
				case err != nil:
					fail(err.Error())
				case status != 200:
					fail("status " + strconv.Itoa(status))
				default:
					ok.Add(1)
				}
			}
		}()
	}

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return outcome{ok: ok.Load(), failed: failed.Load(), elapsed: time.Since(start), firstFailure: first}
		case <-tick.C:
			if progress != nil {
				progress(ok.Load()+failed.Load(), time.Since(start))
			}
		}
	}
}

// carry is how a request carries its token.
type carry int

const (
	// bearer is an API call's Authorization: Bearer header.
	bearer carry = iota
	// cookie is a browser's API call (a fetch): the __session cookie.
	cookie
	// pageLoad is a signed-in browser's page load: a document request
	// (Sec-Fetch-Dest: document, Accept: text/html) with the __session
	// cookie, the __client_uat cookie of a sign-in before the token was
	// minted, and a development browser's __clerk_db_jwt, which Clerk's
	// development instances (clerktest's keys are pk_test_) expect on
	// every page load. clerkgate runs Clerk's page-load decision on such
	// requests and finds nothing to do: no handshake, no redirect.
	pageLoad
)

// pageLoadUAT is the __client_uat the page loads carry: a sign-in long
// before any token the generator mints (the decision would send a
// browser whose session token predates its last sign-in to the handshake).
const pageLoadUAT = "1700000000"

// appendRequest formats a GET with an optional token, carried as c says.
func appendRequest(b []byte, host, path, token string, c carry) []byte {
	b = append(b, "GET "...)
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, host...)
	switch {
	case token == "":
	case c == cookie:
		b = append(b, "\r\nCookie: __session="...)
		b = append(b, token...)
	case c == pageLoad:
		b = append(b, "\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"...)
		b = append(b, "\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\nSec-Fetch-Site: same-origin"...)
		b = append(b, "\r\nCookie: __client_uat="+pageLoadUAT+"; __clerk_db_jwt=dvb_load; __session="...)
		b = append(b, token...)
	default:
		b = append(b, "\r\nAuthorization: Bearer "...)
		b = append(b, token...)
	}
	return append(b, "\r\n\r\n"...)
}

// getH2 sends one GET over HTTPS with a bearer token and reads the whole
// answer, as the minimal client does.
func getH2(c *http.Client, addr, path, token string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, "https://"+addr+path, nil)
	if err != nil {
		return 0, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.ProtoMajor != 2 {
		return 0, fmt.Errorf("load: got %s, want HTTP/2", res.Proto)
	}
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// worker is one keep-alive connection, dialled on first use and again
// after the server closes it or an error breaks it.
type worker struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
}

func (w *worker) roundTrip(req []byte) (status int, err error) {
	if w.conn == nil {
		c, err := net.DialTimeout("tcp", w.addr, 5*time.Second)
		if err != nil {
			return 0, err
		}
		w.conn = c
		if w.br == nil {
			w.br = bufio.NewReaderSize(c, 16<<10)
		} else {
			w.br.Reset(c)
		}
	}
	_ = w.conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err = w.conn.Write(req); err == nil {
		var keep bool
		status, keep, err = readResponse(w.br)
		if err == nil && keep {
			return status, nil
		}
	}
	w.close()
	return status, err
}

func (w *worker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

var errProtocol = errors.New("load: malformed HTTP response")

// readResponse reads one response, discarding its body. keep is false when
// the server will close the connection.
func readResponse(br *bufio.Reader) (status int, keep bool, err error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("%w: status line %q", errProtocol, line)
	}
	status, err = strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, false, fmt.Errorf("%w: status line %q", errProtocol, line)
	}
	keep = line[7] == '1' // HTTP/1.1 keeps the connection unless told otherwise
	length, chunked := int64(-1), false
	for {
		line, err = br.ReadSlice('\n')
		if err != nil {
			return status, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			return status, false, fmt.Errorf("%w: header line %q", errProtocol, line)
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			length, err = strconv.ParseInt(string(value), 10, 64)
			if err != nil || length < 0 {
				return status, false, fmt.Errorf("%w: Content-Length %q", errProtocol, value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keep = false
			}
		}
	}
	switch {
	case chunked:
		err = discardChunked(br)
	case length >= 0:
		_, err = br.Discard(int(length))
	case status == 204 || status == 304 || status/100 == 1:
	default:
		// The body runs to the end of the connection.
		_, err = br.WriteTo(io.Discard)
		keep = false
	}
	return status, keep && err == nil, err
}

func discardChunked(br *bufio.Reader) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%w: chunk size %q", errProtocol, line)
		}
		if n == 0 {
			break
		}
		if _, err := br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
	for { // trailers, up to the blank line
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return nil
		}
	}
}
