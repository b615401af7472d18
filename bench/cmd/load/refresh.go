package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/clerkgate/clerkgate/clerktest"
)

// The refresh phase: a population of browsers whose session tokens
// expire. Each browser, in every cycle, is handed a token that has just
// expired (as a tab waking up finds its cookie stale) and fires a burst
// of concurrent requests with it, as a page load fires its API calls.
// The server must refresh the session through the Backend API once for
// the whole burst, answer every request of it, and set the new token as
// a cookie, which the browser then sends on the rest of the cycle's
// requests. clerktest answers the refresh calls after an injected
// latency, as Clerk's API would over the internet.

// refreshOutcome is one round of the refresh phase.
type refreshOutcome struct {
	expired    int64 // expired tokens sent (one burst each)
	calls      int64 // refresh calls that reached the fake
	ok, failed int64
	first      string
	elapsed    time.Duration
	// latencies of the requests that carried an expired token, and of
	// the others, in the order they finished.
	refreshing, fresh []time.Duration
}

func (r refreshOutcome) callsPerToken() float64 {
	if r.expired == 0 {
		return 0
	}
	return float64(r.calls) / float64(r.expired)
}

// refreshBrowser is one browser of the population: its session and the
// expired tokens it will wake up with, one per cycle.
type refreshBrowser struct {
	session clerktest.Session
	expired []string
}

// refreshPopulation creates the browsers' sessions once per run.
func refreshPopulation(fake *clerktest.Server, browsers int) []clerktest.Session {
	out := make([]clerktest.Session, browsers)
	for i := range out {
		out[i] = fake.CreateSession(fmt.Sprintf("user_refresh_%04d", i))
	}
	return out
}

// refreshPhase runs o.refreshCycles cycles of every browser against the
// clerkgate server at addr. The expired tokens are minted just before, so
// that all are well within the age Clerk still refreshes.
func refreshPhase(o options, fake *clerktest.Server, sessions []clerktest.Session, addr string) refreshOutcome {
	browsers := make([]refreshBrowser, len(sessions))
	for i, s := range sessions {
		browsers[i].session = s
		for range o.refreshCycles {
			browsers[i].expired = append(browsers[i].expired, fake.Token(s.ID, clerktest.V2(), clerktest.Expired()))
		}
	}
	fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{Latency: o.refreshLatency})
	defer fake.SetFault(clerktest.RouteRefresh, clerktest.Fault{})
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: len(browsers) * o.refreshBurst},
		Timeout:   30 * time.Second,
	}
	defer client.CloseIdleConnections()

	calls0 := fake.Requests(clerktest.RouteRefresh)
	start := time.Now()
	var (
		mu  sync.Mutex
		out refreshOutcome
		wg  sync.WaitGroup
	)
	for _, b := range browsers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := b.run(client, addr, fake.CookieSuffix(), o)
			mu.Lock()
			defer mu.Unlock()
			out.expired += r.expired
			out.ok += r.ok
			out.failed += r.failed
			if out.first == "" {
				out.first = r.first
			}
			out.refreshing = append(out.refreshing, r.refreshing...)
			out.fresh = append(out.fresh, r.fresh...)
		}()
	}
	wg.Wait()
	out.elapsed = time.Since(start)
	out.calls = int64(fake.Requests(clerktest.RouteRefresh) - calls0)
	return out
}

// run plays the browser's cycles.
func (b refreshBrowser) run(client *http.Client, addr, suffix string, o options) refreshOutcome {
	var out refreshOutcome
	fail := func(msg string) {
		out.failed++
		if out.first == "" {
			out.first = msg
		}
	}
	// A browser holds the suffixed session beside its __client_uat twin
	// (Clerk reads a suffixed session only with it), set at sign-in.
	refreshCookie := "__client_uat_" + suffix + "=1; __refresh_" + suffix + "=" + b.session.RefreshToken
	for _, expired := range b.expired {
		out.expired++
		type answer struct {
			token   string
			status  int
			err     error
			latency time.Duration
		}
		answers := make([]answer, o.refreshBurst)
		var wg sync.WaitGroup
		for i := range answers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				res, err := getWithCookies(client, addr, "__session_"+suffix+"="+expired+"; "+refreshCookie)
				answers[i].latency = time.Since(t0)
				if err != nil {
					answers[i].err = err
					return
				}
				answers[i].status = res.StatusCode
				for _, c := range res.Cookies() {
					if c.Name == "__session_"+suffix {
						answers[i].token = c.Value
					}
				}
			}()
		}
		wg.Wait()
		next := ""
		for _, a := range answers {
			out.refreshing = append(out.refreshing, a.latency)
			switch {
			case a.err != nil:
				fail(a.err.Error())
			case a.status != http.StatusOK:
				fail(fmt.Sprintf("refreshing request: status %d", a.status))
			case a.token == "":
				fail("refreshing request: no new __session cookie")
			default:
				out.ok++
				next = a.token
			}
		}
		if next == "" {
			continue
		}
		for range o.refreshFollowUps {
			t0 := time.Now()
			res, err := getWithCookies(client, addr, "__session_"+suffix+"="+next+"; "+refreshCookie)
			out.fresh = append(out.fresh, time.Since(t0))
			switch {
			case err != nil:
				fail(err.Error())
			case res.StatusCode != http.StatusOK:
				fail(fmt.Sprintf("request with the refreshed token: status %d", res.StatusCode))
			default:
				out.ok++
			}
		}
	}
	return out
}

// getWithCookies sends GET /me with the given Cookie header and reads the
// answer to its end, so that the connection is reused.
func getWithCookies(client *http.Client, addr, cookies string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/me", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cookie", cookies)
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res, err
}

// percentile is the p-th percentile (0 < p ≤ 100) of ds, nearest rank.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(p/100*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}
