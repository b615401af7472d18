package soak

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/clerkgate/clerkgate/clerktest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	// envDuration sets the length of the traffic, e.g. "60s".
	envDuration     = "CLERKGATE_SOAK"
	defaultDuration = 10 * time.Second
	// fullOutage is the refresh outage of a 60 s run.
	fullOutage = 10 * time.Second
	// failureWindow is clerkgate's default Refresh.FailureWindow, which the
	// example keeps: a session whose refresh failed in the outage is
	// refused without a call for that long after its failure.
	failureWindow = 10 * time.Second
	// exampleRefetchLimit is the example's Keys.MinRefetchInterval, which is
	// clerkgate's default: it reads no setting for it.
	exampleRefetchLimit = 10 * time.Second
	// workers is how many clients send requests at once.
	workers = 8
	// sessions is how many signed-in users the traffic comes from.
	sessions = 32
)

// class is a kind of request, with the answer it must get.
type class int

const (
	classValid class = iota
	classExpired
	classForgedForeignKey
	classForgedTampered
	classForgedAlgNone
	classForgedHMAC
	classForgedIssuer
	classForgedExpired
	classNoToken
	numClasses
)

var classNames = [numClasses]string{
	"valid", "expired+refresh", "forged: foreign key", "forged: tampered payload",
	"forged: alg none", "forged: HS256 with the public key", "forged: other issuer",
	"forged: expired, foreign key, refresh cookie", "no token",
}

// wantReason is the refusal each forged or missing token must get.
var wantReason = map[class]string{
	classForgedForeignKey: "signature_invalid",
	classForgedTampered:   "signature_invalid",
	classForgedAlgNone:    "algorithm_not_allowed",
	classForgedHMAC:       "algorithm_not_allowed",
	classForgedIssuer:     "issuer_invalid",
	classForgedExpired:    "signature_invalid",
	classNoToken:          "token_missing",
}

// pick draws a class: mostly valid traffic, as in an app, with a steady
// share of everything else.
func pick(rng *mrand.Rand) class {
	switch n := rng.IntN(100); {
	case n < 50:
		return classValid
	case n < 65:
		return classExpired
	case n < 85:
		return classForgedForeignKey + class(rng.IntN(int(classNoToken-classForgedForeignKey)))
	default:
		return classNoToken
	}
}

// result is one request's outcome.
type result struct {
	class      class
	start, end time.Time
	status     int
	reason     string
	userID     string
	wantUser   string
	setCookie  bool
	err        error
}

func duration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv(envDuration)
	if v == "" {
		return defaultDuration
	}
	d, err := time.ParseDuration(v)
	require.NoError(t, err, "%s=%q", envDuration, v)
	require.Positive(t, d, "%s=%q", envDuration, v)
	return d
}

func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped in -short mode")
	}
	d := duration(t)
	outage := min(fullOutage, time.Duration(float64(fullOutage)*d.Seconds()/60))

	fake := clerktest.New(clerktest.WithRetiredKeys(1))
	t.Cleanup(fake.Close)
	// The fake keeps only its latest requests, which refreshes soon crowd
	// out; watch the JWKS count instead to know when keys were last fetched.
	var stop atomic.Bool
	var lastFetch atomic.Int64 // Unix nanoseconds
	var watch sync.WaitGroup
	watch.Go(func() {
		seen := 0
		for !stop.Load() {
			if n := fake.Requests(clerktest.RouteJWKS); n != seen {
				seen = n
				lastFetch.Store(time.Now().UnixNano())
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
	t.Cleanup(func() { stop.Store(true); watch.Wait() })
	base, stderr := startExample(t, fake)

	traffic := newTraffic(t, fake)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
	t.Cleanup(client.CloseIdleConnections)

	start := time.Now()
	var outageFrom, outageTo, rotatedAt, newKeyTokens atomic.Pointer[time.Time]
	var wg sync.WaitGroup

	// The schedule: the refresh outage centred on the middle of the run,
	// the rotation a quarter of the way in (or as soon as the example may
	// refetch keys), and traffic until both are over.
	wg.Go(func() {
		sleepUntil(start.Add(d/2 - outage/2))
		from := time.Now()
		fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Status: http.StatusServiceUnavailable})
		outageFrom.Store(&from)
		sleepUntil(from.Add(outage))
		fake.ClearFaults()
		to := time.Now()
		outageTo.Store(&to)
	})
	wg.Go(func() {
		sleepUntil(start.Add(d / 4))
		sleepUntil(time.Unix(0, lastFetch.Load()).Add(exampleRefetchLimit + 300*time.Millisecond))
		fake.RotateKey()
		rotated := time.Now()
		rotatedAt.Store(&rotated)
		traffic.mint() // from now on, tokens carry the new kid
		now := time.Now()
		newKeyTokens.Store(&now)
		// Traffic goes on for a quarter of the run after the rotation, and
		// for a second after the outage's failure windows.
		end := start.Add(max(d, now.Sub(start)+d/4, d/2+outage/2+failureWindow+time.Second))
		sleepUntil(end)
		stop.Store(true)
	})
	// Valid tokens live 60 s; keep the pool fresh.
	wg.Go(func() {
		for !stop.Load() {
			for i := 0; i < 50 && !stop.Load(); i++ {
				time.Sleep(100 * time.Millisecond)
			}
			traffic.mint()
		}
	})

	results := make([][]result, workers)
	for w := range workers {
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for !stop.Load() {
				results[w] = append(results[w], traffic.send(client, base, pick(rng), rng))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	all := slices.Concat(results...)
	from, to, rotated, newKey := *outageFrom.Load(), *outageTo.Load(), *rotatedAt.Load(), *newKeyTokens.Load()
	rep := judge(all, from, to, newKey)
	t.Logf("soak: %v of traffic (%s=%s), %d workers, %d requests: %.0f requests/s",
		elapsed.Round(time.Millisecond), envDuration, d, workers, len(all), float64(len(all))/elapsed.Seconds())
	t.Logf("latency: p50 %v, p90 %v, p99 %v, max %v", rep.p(50), rep.p(90), rep.p(99), rep.p(100))
	t.Logf("refresh outage %v–%v (%v); key rotation at %v, valid tokens with the new key from %v",
		from.Sub(start).Round(time.Millisecond), to.Sub(start).Round(time.Millisecond), to.Sub(from).Round(time.Millisecond),
		rotated.Sub(start).Round(time.Millisecond), newKey.Sub(start).Round(time.Millisecond))
	for c := range numClasses {
		t.Logf("  %-46s %s", classNames[c], rep.byClass[c])
	}
	t.Logf("backend: %d JWKS fetches, %d refresh calls", fake.Requests(clerktest.RouteJWKS), fake.Requests(clerktest.RouteRefresh))
	if len(rep.unexpected) > 0 {
		t.Logf("example's log:\n%s", stderr.String())
	}
	require.Empty(t, rep.unexpected, "%d unexpected answers", rep.count)
	require.Positive(t, rep.afterRotation, "no valid request was sent with the new key")
	require.Positive(t, rep.refusedInOutage+rep.okInOutage, "no refresh was attempted during the outage")
}

// report is the verdict on a run.
type report struct {
	latencies       []time.Duration
	byClass         [numClasses]string
	unexpected      []string // the first few
	count           int      // all unexpected answers
	afterRotation   int      // valid requests sent with the new key's tokens
	refusedInOutage int
	okInOutage      int
}

func (r report) p(pct int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := min(len(r.latencies)-1, len(r.latencies)*pct/100)
	return r.latencies[i].Round(10 * time.Microsecond)
}

// judge checks every answer against what its class must get. newKey is
// when valid tokens started to carry the rotated key.
func judge(all []result, outageFrom, outageTo, newKey time.Time) report {
	var rep report
	var counts [numClasses]map[string]int
	for c := range counts {
		counts[c] = map[string]int{}
	}
	for _, res := range all {
		rep.latencies = append(rep.latencies, res.end.Sub(res.start))
		counts[res.class][fmt.Sprintf("%d %s", res.status, res.reason)]++
		// Whether a refresh call of this request could have met the fault,
		// or a failure window it opened.
		inOutage := res.start.Before(outageTo.Add(failureWindow)) && res.end.After(outageFrom)
		ok := res.err == nil
		switch res.class {
		case classValid:
			ok = ok && res.status == http.StatusOK && res.userID == res.wantUser
			if res.start.After(newKey) {
				rep.afterRotation++
			}
		case classExpired:
			switch {
			case ok && res.status == http.StatusOK:
				ok = res.userID == res.wantUser && res.setCookie
				if inOutage {
					rep.okInOutage++
				}
			case ok && inOutage && res.status == http.StatusUnauthorized && res.reason == "refresh_failed":
				rep.refusedInOutage++
			default:
				ok = false
			}
		default:
			ok = ok && res.status == http.StatusUnauthorized && res.reason == wantReason[res.class] && !res.setCookie
		}
		if !ok {
			rep.count++
			if len(rep.unexpected) < 10 {
				rep.unexpected = append(rep.unexpected, fmt.Sprintf("%s at %s: %d %s (err %v)",
					classNames[res.class], res.start.Format("15:04:05.000"), res.status, res.reason, res.err))
			}
		}
	}
	slices.Sort(rep.latencies)
	for c := range counts {
		rep.byClass[c] = fmt.Sprint(counts[c])
	}
	return rep
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// startExample builds examples/nethttp and runs it against fake, on a free
// loopback port. It returns the server's base URL and its log.
func startExample(t *testing.T, fake *clerktest.Server) (string, *syncBuffer) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the soak test builds examples/nethttp with the go command")
	bin := filepath.Join(t.TempDir(), "nethttp")
	build := exec.Command(goBin, "build", "-o", bin, ".")
	build.Dir = filepath.Join("..", "examples", "nethttp") // its own module
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	cmd := exec.Command(bin)
	cmd.Env = append(cleanEnv(),
		"CLERK_SECRET_KEY="+fake.SecretKey(),
		"CLERK_PUBLISHABLE_KEY="+fake.PublishableKey(),
		"CLERK_API_URL="+fake.URL(),
		"ADDR=127.0.0.1:0",
	)
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	// The banner's first line names the address.
	banner := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		first := true
		for sc.Scan() {
			if first {
				banner <- sc.Text()
				first = false
			}
		}
		close(banner)
		_ = cmd.Wait()
	}()
	var line string
	select {
	case line = <-banner:
	case <-time.After(30 * time.Second):
		t.Fatalf("the example printed no banner; its log:\n%s", stderr.String())
	}
	_, base, ok := strings.Cut(line, " listening on ")
	require.True(t, ok, "unexpected banner %q; log:\n%s", line, stderr.String())
	base = strings.TrimSpace(base)

	res, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	http.DefaultClient.CloseIdleConnections()
	return base, stderr
}

// cleanEnv is the environment without CLERK_* and ADDR, so that nothing
// of the developer's own set-up leaks into the example.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CLERK_") && !strings.HasPrefix(kv, "ADDR=") {
			env = append(env, kv)
		}
	}
	return env
}

// syncBuffer collects the example's log from the process's pipe while the
// test may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// traffic makes the requests of each class.
type traffic struct {
	fake     *clerktest.Server
	foreign  *rsa.PrivateKey
	sessions []clerktest.Session
	// pool holds the current tokens, replaced whole by mint.
	pool atomic.Pointer[tokenPool]
}

// tokenPool holds, per session, a valid token and the forgeries made from
// it, all for the signing key current when it was minted.
type tokenPool struct {
	valid, foreignKey, tampered, algNone, hmac, issuer []string
}

func newTraffic(t *testing.T, fake *clerktest.Server) *traffic {
	t.Helper()
	foreign, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tr := &traffic{fake: fake, foreign: foreign}
	for i := range sessions {
		tr.sessions = append(tr.sessions, fake.CreateSession(fmt.Sprintf("user_soak_%02d", i)))
	}
	tr.mint()
	return tr
}

// mint refreshes the pool with tokens of the current signing key.
func (tr *traffic) mint() {
	kid := tr.fake.KeyID()
	pem := []byte(tr.fake.PublicKeyPEM())
	p := &tokenPool{}
	for i, s := range tr.sessions {
		var opts []clerktest.TokenOption
		if i%2 == 1 {
			opts = append(opts, clerktest.V2())
		}
		valid := tr.fake.Token(s.ID, opts...)
		parts := strings.Split(valid, ".")
		p.valid = append(p.valid, valid)
		p.foreignKey = append(p.foreignKey, tr.fake.Token(s.ID, clerktest.SignedWith(tr.foreign, kid)))
		p.tampered = append(p.tampered, parts[0]+"."+encodeJSON(map[string]any{
			"sub": "user_admin", "sid": s.ID, "iss": tr.fake.Issuer(), "exp": time.Now().Add(time.Hour).Unix(),
		})+"."+parts[2])
		p.algNone = append(p.algNone, encodeJSON(map[string]any{"alg": "none", "kid": kid, "typ": "JWT"})+"."+parts[1]+".AAAA")
		signed := encodeJSON(map[string]any{"alg": "HS256", "kid": kid, "typ": "JWT"}) + "." + parts[1]
		mac := hmac.New(crypto.SHA256.New, pem)
		mac.Write([]byte(signed))
		p.hmac = append(p.hmac, signed+"."+base64.RawURLEncoding.EncodeToString(mac.Sum(nil)))
		p.issuer = append(p.issuer, tr.fake.Token(s.ID, clerktest.WithIssuer("https://clerk.other-app.example")))
	}
	tr.pool.Store(p)
}

func encodeJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// send makes one request of class c and records its outcome.
func (tr *traffic) send(client *http.Client, base string, c class, rng *mrand.Rand) result {
	i := rng.IntN(len(tr.sessions))
	s := tr.sessions[i]
	p := tr.pool.Load()
	suffix := tr.fake.CookieSuffix()
	res := result{class: c, wantUser: s.UserID}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, base+"/me", nil)
	if err != nil {
		res.err = err
		return res
	}
	bearer := func(tok string) {
		if rng.IntN(2) == 0 {
			req.Header.Set("Authorization", "Bearer "+tok)
		} else {
			req.AddCookie(&http.Cookie{Name: "__session_" + suffix, Value: tok})
			// Clerk reads a suffixed session cookie only beside its __client_uat.
			req.AddCookie(&http.Cookie{Name: "__client_uat_" + suffix, Value: "1"})
		}
	}
	refreshCookie := &http.Cookie{Name: "__refresh_" + suffix, Value: s.RefreshToken}
	switch c {
	case classValid:
		bearer(p.valid[i])
	case classExpired:
		// A distinct expired token per request: Clerk exchanges each once.
		bearer(tr.fake.Token(s.ID, clerktest.Expired(), clerktest.V2()))
		req.AddCookie(refreshCookie)
	case classForgedForeignKey:
		bearer(p.foreignKey[i])
	case classForgedTampered:
		bearer(p.tampered[i])
	case classForgedAlgNone:
		bearer(p.algNone[i])
	case classForgedHMAC:
		bearer(p.hmac[i])
	case classForgedIssuer:
		bearer(p.issuer[i])
	case classForgedExpired:
		bearer(tr.fake.Token(s.ID, clerktest.Expired(), clerktest.V2(), clerktest.SignedWith(tr.foreign, tr.fake.KeyID())))
		req.AddCookie(refreshCookie)
	case classNoToken:
	}

	res.start = time.Now()
	resp, err := client.Do(req)
	if err != nil {
		res.end, res.err = time.Now(), err
		return res
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	res.end = time.Now()
	res.status, res.err = resp.StatusCode, err
	res.setCookie = len(resp.Header.Values("Set-Cookie")) > 0
	var doc struct {
		Error  string `json:"error"`
		UserID string `json:"user_id"`
	}
	if err == nil {
		res.err = json.Unmarshal(body, &doc)
	}
	res.reason, res.userID = doc.Error, doc.UserID
	return res
}
