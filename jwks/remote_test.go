package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/internal/jwktest"
	"github.com/clerkgate/clerkgate/jwks"
)

func TestRemoteAnswersFromMemoryAfterStartupFetch(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Hour})
	ctx := context.Background()

	k, err := r.Key(ctx, "ins_a") // joins the start-up fetch
	require.NoError(t, err)
	require.Equal(t, "ins_a", k.ID)
	require.Equal(t, "RS256", k.Algorithm)
	pub, ok := k.Public.(*rsa.PublicKey)
	require.True(t, ok, "Public is %T", k.Public)
	require.True(t, pub.Equal(&rsaA().PublicKey))

	for range 100 {
		again, err := r.Key(ctx, "ins_a")
		require.NoError(t, err)
		require.True(t, again.Public == k.Public)
	}
	require.EqualValues(t, 1, srv.hits.Load(), "hits must not reach the server")
	st := r.Stats()
	require.EqualValues(t, 1, st.Fetches)
	require.Zero(t, st.Refetches)
	require.Equal(t, 1, st.Keys)
	require.False(t, st.LastSuccess.IsZero())
}

// Not parallel: AllocsPerRun refuses to run alongside parallel tests.
func TestCacheHitDoesNotAllocate(t *testing.T) {
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Hour})
	ctx := context.Background()
	_, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)

	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := r.Key(ctx, "ins_a"); err != nil {
			panic(err)
		}
	})
	require.Zero(t, allocs, "a cache hit must not allocate")
}

func TestNewRemoteNeitherBlocksNorFailsWhenNetworkIsDown(t *testing.T) {
	t.Parallel()

	t.Run("endpoint hangs", func(t *testing.T) {
		t.Parallel()
		srv := newKeyServer(t, hang)
		start := time.Now()
		r := newRemote(t, srv.URL, jwks.RemoteConfig{FetchTimeout: time.Minute})
		require.Less(t, time.Since(start), 10*time.Second, "the one-minute fetch must not be waited for")
		require.EqualValues(t, 1, r.Stats().Fetches, "the start-up fetch is under way")
	})

	t.Run("connection refused", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		addr := l.Addr().String()
		require.NoError(t, l.Close())

		r := newRemote(t, "http://"+addr+"/jwks", jwks.RemoteConfig{})
		_, err = r.Key(context.Background(), "ins_a")
		require.ErrorIs(t, err, jwks.ErrUnavailable)
		require.ErrorContains(t, err, addr)
	})
}

func TestNewRemoteRejectsBadConfig(t *testing.T) {
	t.Parallel()
	var nilCtx context.Context
	_, err := jwks.NewRemote(nilCtx, jwks.RemoteConfig{URL: "https://example.com/jwks"})
	require.ErrorContains(t, err, "nil context")

	for _, tc := range []struct {
		name string
		cfg  jwks.RemoteConfig
		want string
	}{
		{"empty URL", jwks.RemoteConfig{}, "URL: empty"},
		{"relative URL", jwks.RemoteConfig{URL: "/.well-known/jwks.json"}, "not an absolute http(s) URL"},
		{"no scheme", jwks.RemoteConfig{URL: "clerk.example.com/jwks"}, "not an absolute http(s) URL"},
		{"ftp", jwks.RemoteConfig{URL: "ftp://example.com/jwks"}, "not an absolute http(s) URL"},
		{"negative timeout", jwks.RemoteConfig{URL: "https://example.com/jwks", FetchTimeout: -time.Second}, "FetchTimeout is negative"},
		{"negative refresh", jwks.RemoteConfig{URL: "https://example.com/jwks", RefreshInterval: -1}, "RefreshInterval is negative"},
		{"negative rate limit", jwks.RemoteConfig{URL: "https://example.com/jwks", MinRefetchInterval: -1}, "MinRefetchInterval is negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := jwks.NewRemote(context.Background(), tc.cfg)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, r)
		})
	}
}

func TestBackendAPI(t *testing.T) {
	t.Parallel()

	t.Run("sends the secret key to /v1/jwks", func(t *testing.T) {
		t.Parallel()
		type seen struct{ path, auth, extra string }
		got := make(chan seen, 10)
		doc := jwksDoc(t, rsaJWK(t, rsaA(), "ins_a"))
		srv := newKeyServer(t, func(w http.ResponseWriter, r *http.Request) {
			got <- seen{r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("X-Extra")}
			serveBody(doc)(w, r)
		})
		callerHeader := http.Header{"X-Extra": {"yes"}}
		r, err := jwks.NewBackendAPI(context.Background(), srv.URL+"/", "sk_test_secret", jwks.RemoteConfig{Header: callerHeader})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, r.Close()) })

		require.Equal(t, srv.URL+"/v1/jwks", r.URL())
		_, err = r.Key(context.Background(), "ins_a")
		require.NoError(t, err)
		require.Equal(t, seen{"/v1/jwks", "Bearer sk_test_secret", "yes"}, <-got)
		require.Empty(t, callerHeader.Get("Authorization"), "the caller's header map must not be modified")
	})

	t.Run("default URL", func(t *testing.T) {
		t.Parallel()
		r, err := jwks.NewBackendAPI(context.Background(), "", "sk_test_secret", jwks.RemoteConfig{HTTPClient: offlineClient()})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, r.Close()) })
		require.Equal(t, "https://api.clerk.com/v1/jwks", r.URL())
	})

	for _, tc := range []struct {
		name, apiURL, secret string
		cfg                  jwks.RemoteConfig
		want                 string
	}{
		{"empty secret", "", "", jwks.RemoteConfig{}, "empty secret key"},
		{"secret with newline", "", "sk_test_secret\n", jwks.RemoteConfig{}, "whitespace"},
		{"no scheme", "api.clerk.com", "sk_test_secret", jwks.RemoteConfig{}, "not an absolute http(s) URL"},
		{"relative", "/v1", "sk_test_secret", jwks.RemoteConfig{}, "not an absolute http(s) URL"},
		{"ftp", "ftp://api.clerk.com", "sk_test_secret", jwks.RemoteConfig{}, "not an absolute http(s) URL"},
		{"query", "https://api.clerk.com?x=1", "sk_test_secret", jwks.RemoteConfig{}, "without query"},
		{"URL in config", "", "sk_test_secret", jwks.RemoteConfig{URL: "https://example.com/jwks"}, "leave RemoteConfig.URL empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := jwks.NewBackendAPI(context.Background(), tc.apiURL, tc.secret, tc.cfg)
			require.ErrorContains(t, err, tc.want)
			require.Nil(t, r)
			if tc.secret != "" {
				require.NotContains(t, err.Error(), tc.secret, "errors must not echo the secret key")
			}
		})
	}
}

func TestFrontendAPI(t *testing.T) {
	t.Parallel()

	t.Run("URL from the publishable key", func(t *testing.T) {
		t.Parallel()
		// Base64 of "clerk.inspired.puma-74.lcl.dev$", from Clerk's fixtures.
		r, err := jwks.NewFrontendAPI(context.Background(), "pk_test_Y2xlcmsuaW5zcGlyZWQucHVtYS03NC5sY2wuZGV2JA",
			jwks.RemoteConfig{HTTPClient: offlineClient()})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, r.Close()) })
		require.Equal(t, "https://clerk.inspired.puma-74.lcl.dev/.well-known/jwks.json", r.URL())
	})

	t.Run("fetches over https without credentials", func(t *testing.T) {
		t.Parallel()
		type seen struct{ host, path, auth string }
		got := make(chan seen, 10)
		doc := jwksDoc(t, rsaJWK(t, rsaA(), "ins_a"))
		srv := newTLSKeyServer(t, func(w http.ResponseWriter, r *http.Request) {
			got <- seen{r.Host, r.URL.Path, r.Header.Get("Authorization")}
			serveBody(doc)(w, r)
		})
		// "clerk.example.com" is covered by the test server's certificate;
		// the client dials the test server whatever the host.
		pk := "pk_live_" + "Y2xlcmsuZXhhbXBsZS5jb20k" // base64("clerk.example.com$")
		r, err := jwks.NewFrontendAPI(context.Background(), pk, jwks.RemoteConfig{HTTPClient: srv.client})
		require.NoError(t, err)
		t.Cleanup(func() { require.NoError(t, r.Close()) })

		_, err = r.Key(context.Background(), "ins_a")
		require.NoError(t, err)
		require.Equal(t, seen{"clerk.example.com", "/.well-known/jwks.json", ""}, <-got)
	})

	t.Run("bad publishable key", func(t *testing.T) {
		t.Parallel()
		_, err := jwks.NewFrontendAPI(context.Background(), "sk_test_nope", jwks.RemoteConfig{})
		require.ErrorContains(t, err, "pk_test_ or pk_live_")
		_, err = jwks.NewFrontendAPI(context.Background(), "pk_test_Y2xlcmsuZXhhbXBsZS5jb20k",
			jwks.RemoteConfig{URL: "https://example.com/jwks"})
		require.ErrorContains(t, err, "leave RemoteConfig.URL empty")
	})
}

func TestConcurrentStartupLookupsShareOneFetch(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newKeyServer(t, gated(release, serveKeys(t, rsaJWK(t, rsaA(), "ins_a"))))
	// An hour-long rate limit: the callers can only succeed by joining the
	// fetch already in flight, which the limit must not prevent.
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Hour})

	errs := lookupConcurrently(r, "ins_a", 50, func() {
		require.Eventually(t, func() bool { return r.Stats().Misses == 50 }, 5*time.Second, time.Millisecond)
		close(release)
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 1, srv.hits.Load())
	require.EqualValues(t, 1, r.Stats().Fetches)
}

func TestConcurrentUnknownKidsShareOneRefetch(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond})
	_, err := r.Key(context.Background(), "ins_a")
	require.NoError(t, err)

	release := make(chan struct{})
	srv.set(gated(release, serveKeys(t, rsaJWK(t, rsaA(), "ins_a"), rsaJWK(t, rsaB(), "ins_b"))))
	misses := r.Stats().Misses
	errs := lookupConcurrently(r, "ins_b", 50, func() {
		// Hold the refetch until every caller has missed memory, so all 50
		// really are concurrent with it.
		require.Eventually(t, func() bool { return r.Stats().Misses == misses+50 }, 5*time.Second, time.Millisecond)
		close(release)
	})
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.EqualValues(t, 2, srv.hits.Load(), "start-up fetch plus exactly one refetch")
	require.EqualValues(t, 1, r.Stats().Refetches)
}

// lookupConcurrently runs n Key calls at once, calls during while they are
// running, and returns their errors.
func lookupConcurrently(r *jwks.Remote, kid string, n int, during func()) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = r.Key(context.Background(), kid) })
	}
	during()
	wg.Wait()
	return errs
}

func TestUnknownKidRefetchesAreRateLimited(t *testing.T) {
	t.Parallel()
	const interval = 50 * time.Millisecond
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: interval})
	ctx := context.Background()
	_, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)

	before := r.Stats()
	start := time.Now()
	for i := range 200 {
		kid := fmt.Sprintf("forged_%d", i)
		_, err := r.Key(ctx, kid)
		require.ErrorIs(t, err, jwks.ErrKeyNotFound)
		require.ErrorContains(t, err, kid)
	}
	elapsed := time.Since(start)
	after := r.Stats()
	// However slow the machine, the limit allows at most one fetch per
	// interval; on any sane machine that is 0 or 1 for the whole flood.
	maxFetches := 1 + uint64(elapsed/interval)
	require.LessOrEqual(t, after.Fetches-before.Fetches, maxFetches, "200 forged kids in %v", elapsed)
	require.GreaterOrEqual(t, after.RefetchesRefused-before.RefetchesRefused, 200-maxFetches)
	_, err = r.Key(ctx, "forged_again")
	if after.Fetches == r.Stats().Fetches { // not slow enough for the window to have passed
		require.ErrorContains(t, err, "refetch not allowed yet")
	}

	time.Sleep(interval + 10*time.Millisecond)
	before = r.Stats()
	hits := srv.hits.Load()
	_, err = r.Key(ctx, "forged_after_interval")
	require.ErrorIs(t, err, jwks.ErrKeyNotFound)
	require.ErrorContains(t, err, "not in the current key set")
	require.Equal(t, before.Refetches+1, r.Stats().Refetches, "the interval has passed: one more refetch is allowed")
	require.Equal(t, hits+1, srv.hits.Load())
}

func TestEmptyKidNeverFetches(t *testing.T) {
	t.Parallel()

	t.Run("after a successful fetch", func(t *testing.T) {
		t.Parallel()
		srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
		r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond})
		_, err := r.Key(context.Background(), "ins_a")
		require.NoError(t, err)

		_, err = r.Key(context.Background(), "")
		require.ErrorIs(t, err, jwks.ErrKeyNotFound)
		require.EqualValues(t, 1, srv.hits.Load())
		require.EqualValues(t, 1, r.Stats().Fetches)
	})

	t.Run("before any fetch succeeded", func(t *testing.T) {
		t.Parallel()
		srv := newKeyServer(t, serveStatus(http.StatusInternalServerError))
		r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond})
		_, err := r.Key(context.Background(), "ins_a") // joins the failing start-up fetch
		require.ErrorIs(t, err, jwks.ErrUnavailable)
		fetches := r.Stats().Fetches

		_, err = r.Key(context.Background(), "")
		require.ErrorIs(t, err, jwks.ErrUnavailable)
		require.Equal(t, fetches, r.Stats().Fetches)
	})
}

func TestFailedFetchKeepsCachedKeys(t *testing.T) {
	t.Parallel()
	// A valid set padded past the size limit, so size is the only fault.
	oversized := func(t *testing.T) http.HandlerFunc {
		return serveBody(paddedDoc(t, 1<<20+1, rsaJWK(t, rsaA(), "ins_a")))
	}
	fixed := func(h http.HandlerFunc) func(*testing.T) http.HandlerFunc {
		return func(*testing.T) http.HandlerFunc { return h }
	}
	for _, tc := range []struct {
		name    string
		handler func(t *testing.T) http.HandlerFunc
		cause   string
		hang    bool
	}{
		{"status 500", fixed(serveStatus(500)), "status 500", false},
		{"status 404", fixed(serveStatus(404)), "status 404", false},
		{"not JSON", fixed(serveBody([]byte("<html>oops</html>"))), "parse key set", false},
		{"JSON but not a key set", fixed(serveBody([]byte(`{"error":"nope"}`))), "parse key set", false},
		{"truncated JSON", fixed(serveBody([]byte(`{"keys":[{"kty":"RSA"`))), "parse key set", false},
		{"empty set", fixed(serveBody([]byte(`{"keys":[]}`))), "no usable signature keys", false},
		{"keys given twice", func(t *testing.T) http.HandlerFunc {
			// A parser that takes the last "keys" would find no key, one
			// that takes the first a good one: neither reading is used.
			return serveBody(append([]byte(`{"keys":[],`), jwksDoc(t, rsaJWK(t, rsaA(), "ins_a"))[1:]...))
		}, `member "keys" appears twice`, false},
		{"only an HMAC key", func(t *testing.T) http.HandlerFunc {
			return serveKeys(t, newJWK(t, []byte("0123456789abcdef0123456789abcdef"), "ins_hmac", "HS256"))
		}, "no usable signature keys", false},
		{"body over 1 MiB", oversized, "larger than 1048576 bytes", false},
		{"connection dropped", fixed(dropConnection), "EOF", false},
		{"hang", fixed(hang), "no complete answer within 100ms", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			cfg := jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond}
			if tc.hang {
				cfg.FetchTimeout = 100 * time.Millisecond
			}
			logger, logs := newLogger()
			cfg.Logger = logger
			srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
			r := newRemote(t, srv.URL, cfg)
			cached := eventuallyKey(t, r, "ins_a")
			before := r.Stats()
			warnings := logs.linesContaining("level=WARN")

			srv.set(tc.handler(t))
			start := time.Now()
			_, err := r.Key(ctx, "ins_new")
			if tc.hang {
				// Without FetchTimeout this call would never return.
				require.Less(t, time.Since(start), 10*time.Second)
			}
			require.ErrorIs(t, err, jwks.ErrUnavailable, "the key might exist; we just cannot see it")
			require.NotErrorIs(t, err, jwks.ErrKeyNotFound)
			require.ErrorContains(t, err, `"ins_new"`)
			require.ErrorContains(t, err, tc.cause)

			again, err := r.Key(ctx, "ins_a")
			require.NoError(t, err, "the cached key survives the failed fetch")
			require.True(t, again.Public == cached.Public)
			st := r.Stats()
			require.Equal(t, before.FetchFailures+1, st.FetchFailures)
			require.True(t, st.LastFetchFailed)
			require.Equal(t, 1, st.Keys)
			require.Equal(t, before.LastSuccess, st.LastSuccess)

			require.Equal(t, warnings+1, logs.linesContaining("level=WARN"), logs.String())
			require.Contains(t, logs.String(), "fetch failed")
			require.Contains(t, logs.String(), srv.URL)

			// Once a fetch works again an unknown kid is the token's fault.
			srv.set(serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
			require.Eventually(t, func() bool {
				_, err := r.Key(ctx, "ins_other")
				return errors.Is(err, jwks.ErrKeyNotFound)
			}, 30*time.Second, time.Millisecond)
			require.False(t, r.Stats().LastFetchFailed)
		})
	}
}

func TestBodyOfExactlyOneMiBIsAccepted(t *testing.T) {
	t.Parallel()
	doc := paddedDoc(t, 1<<20, rsaJWK(t, rsaA(), "ins_a"))
	require.Len(t, doc, 1<<20)
	srv := newKeyServer(t, serveBody(doc))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{})
	_, err := r.Key(context.Background(), "ins_a")
	require.NoError(t, err)
}

// paddedDoc is a valid JWKS document of exactly size bytes.
func paddedDoc(t *testing.T, size int, keys ...jwkObj) []byte {
	t.Helper()
	doc := jwksDoc(t, keys...)
	head := string(doc[:len(doc)-1]) + `,"padding":"`
	tail := `"}`
	pad := size - len(head) - len(tail)
	require.Positive(t, pad)
	return []byte(head + strings.Repeat("x", pad) + tail)
}

func TestRotationIsPickedUpOnUnknownKid(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_old")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond})
	_, err := r.Key(ctx, "ins_old")
	require.NoError(t, err)

	srv.set(serveKeys(t, rsaJWK(t, rsaB(), "ins_new")))
	k, err := r.Key(ctx, "ins_new")
	require.NoError(t, err, "a token signed with the new key triggers a refetch")
	require.True(t, k.Public.(*rsa.PublicKey).Equal(&rsaB().PublicKey))
	require.EqualValues(t, 1, r.Stats().Refetches)
	require.Equal(t, 1, r.Stats().Keys, "the old key left with the refresh")

	_, err = r.Key(ctx, "ins_old")
	require.ErrorIs(t, err, jwks.ErrKeyNotFound)
}

func TestUnchangedKeysKeepTheirIdentity(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a"), rsaJWK(t, rsaB(), "ins_b")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Nanosecond})
	a1, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)
	b1, err := r.Key(ctx, "ins_b")
	require.NoError(t, err)

	// ins_a is served again (re-encoded, so only its material is the same),
	// ins_b is dropped, ins_c is new.
	srv.set(serveKeys(t, rsaJWK(t, rsaA(), "ins_a"), rsaJWK(t, rsaC(), "ins_c")))
	_, err = r.Key(ctx, "ins_c")
	require.NoError(t, err)
	a2, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)
	require.True(t, a2.Public == a1.Public, "an unchanged key keeps its Public pointer")
	_, err = r.Key(ctx, "ins_b")
	require.ErrorIs(t, err, jwks.ErrKeyNotFound)

	// Same kid, different material: a new value, so a caller comparing
	// Public with == notices.
	srv.set(serveKeys(t, rsaJWK(t, rsaB(), "ins_a"), rsaJWK(t, rsaC(), "ins_c")))
	_, err = r.Key(ctx, "ins_trigger")
	require.ErrorIs(t, err, jwks.ErrKeyNotFound)
	a3, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)
	require.False(t, a3.Public == a1.Public)
	require.True(t, a3.Public.(*rsa.PublicKey).Equal(b1.Public))

	// Same kid and material, different declared alg: also a new value.
	c1, err := r.Key(ctx, "ins_c")
	require.NoError(t, err)
	srv.set(serveKeys(t, rsaJWK(t, rsaB(), "ins_a"), newJWK(t, &rsaC().PublicKey, "ins_c", "RS512")))
	_, err = r.Key(ctx, "ins_trigger2")
	require.ErrorIs(t, err, jwks.ErrKeyNotFound)
	c2, err := r.Key(ctx, "ins_c")
	require.NoError(t, err)
	require.Equal(t, "RS512", c2.Algorithm)
	require.False(t, c2.Public == c1.Public)
}

func TestBackgroundRefresh(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{RefreshInterval: 20 * time.Millisecond})
	a1, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)

	srv.set(serveKeys(t, rsaJWK(t, rsaA(), "ins_a"), rsaJWK(t, rsaB(), "ins_b")))
	require.Eventually(t, func() bool { return r.Stats().Keys == 2 }, 5*time.Second, 5*time.Millisecond)
	_, err = r.Key(ctx, "ins_b")
	require.NoError(t, err)
	a2, err := r.Key(ctx, "ins_a")
	require.NoError(t, err)
	require.True(t, a2.Public == a1.Public)
	st := r.Stats()
	require.Zero(t, st.Refetches, "the new key came from the background refresh")
	require.GreaterOrEqual(t, st.Fetches, uint64(2))
}

func TestReadsDuringRefreshes(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{RefreshInterval: time.Millisecond})
	_, err := r.Key(context.Background(), "ins_a")
	require.NoError(t, err)

	// The race detector checks that readers and the refresher never touch
	// the same memory unsynchronised. The readers pause between lookups so
	// as not to starve the refresher (and the other tests) of CPU.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := r.Key(context.Background(), "ins_a"); err != nil {
					t.Error(err)
					return
				}
				time.Sleep(50 * time.Microsecond)
			}
		})
	}
	require.Eventually(t, func() bool { return r.Stats().Fetches >= 5 }, 30*time.Second, time.Millisecond)
	close(stop)
	wg.Wait()
}

func TestRecoveryWhenFirstFetchFailed(t *testing.T) {
	t.Parallel()
	const interval = 50 * time.Millisecond
	for _, tc := range []struct {
		name  string
		down  http.HandlerFunc
		cause string
	}{
		{"status 500", serveStatus(500), "status 500"},
		{"connection dropped", dropConnection, "EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			srv := newKeyServer(t, tc.down)
			r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: interval})

			_, err := r.Key(ctx, "ins_a")
			require.ErrorIs(t, err, jwks.ErrUnavailable, "nothing was ever fetched")
			require.ErrorContains(t, err, tc.cause)
			_, err = r.Key(ctx, "ins_a")
			require.ErrorIs(t, err, jwks.ErrUnavailable)
			require.ErrorContains(t, err, tc.cause, "a refused refetch still reports why the last one failed")

			srv.set(serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
			time.Sleep(interval + 10*time.Millisecond)
			k, err := r.Key(ctx, "ins_a")
			require.NoError(t, err, "the failure must not stick")
			require.Equal(t, "ins_a", k.ID)
		})
	}
}

func TestCallerCancellationDoesNotCancelTheFetch(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := newKeyServer(t, gated(release, serveKeys(t, rsaJWK(t, rsaA(), "ins_a"))))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{FetchTimeout: time.Minute})

	patient := make(chan error, 1)
	go func() {
		_, err := r.Key(context.Background(), "ins_a")
		patient <- err
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := r.Key(ctx, "ins_a")
	require.Less(t, time.Since(start), 10*time.Second, "the one-minute fetch must not be waited for")
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorIs(t, err, jwks.ErrUnavailable)
	require.ErrorContains(t, err, `"ins_a"`)

	select {
	case err := <-patient:
		t.Fatalf("the fetch cannot have finished before release, got %v", err)
	default:
	}
	close(release)
	require.NoError(t, <-patient)
	require.EqualValues(t, 1, srv.hits.Load(), "the same fetch carried on")
	require.Zero(t, r.Stats().FetchFailures)
}

func TestOnlyPublicSignatureKeysAreServed(t *testing.T) {
	t.Parallel()
	edPub, edPriv := newEd25519(t)
	encKey := jwktest.With(rsaJWK(t, rsaB(), "ins_enc"), "use", "enc")
	opsKey := jwktest.With(newJWK(t, &rsaB().PublicKey, "ins_ops", "RS256"), "key_ops", []string{"encrypt"})

	srv := newKeyServer(t, serveKeys(t,
		rsaJWK(t, rsaA(), "ins_rsa"),
		newJWK(t, &ecP256().PublicKey, "ins_ec", "ES256"),
		newJWK(t, edPub, "ins_ed", "EdDSA"),
		newJWK(t, []byte("0123456789abcdef0123456789abcdef"), "ins_hmac", "HS256"),
		newJWK(t, rsaB(), "ins_rsa_private", "RS256"),
		newJWK(t, ecP256(), "ins_ec_private", "ES256"),
		newJWK(t, edPriv, "ins_ed_private", "EdDSA"),
		encKey,
		opsKey,
		newJWK(t, &rsaC().PublicKey, "", "RS256"),
		newJWK(t, &rsaSmall().PublicKey, "ins_small1", "RS256"),
		newJWK(t, &rsaSmall().PublicKey, "ins_small2", "RS256"),
	))
	logger, logs := newLogger()
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Hour, Logger: logger})
	ctx := context.Background()

	k, err := r.Key(ctx, "ins_rsa")
	require.NoError(t, err)
	require.IsType(t, &rsa.PublicKey{}, k.Public)
	k, err = r.Key(ctx, "ins_ec")
	require.NoError(t, err)
	require.IsType(t, &ecdsa.PublicKey{}, k.Public)
	require.Equal(t, "ES256", k.Algorithm)
	k, err = r.Key(ctx, "ins_ed")
	require.NoError(t, err)
	require.IsType(t, ed25519.PublicKey{}, k.Public)
	require.Equal(t, "EdDSA", k.Algorithm)

	for _, kid := range []string{"ins_hmac", "ins_rsa_private", "ins_ec_private", "ins_ed_private",
		"ins_enc", "ins_ops", "ins_small1", "ins_small2"} {
		_, err := r.Key(ctx, kid)
		require.ErrorIs(t, err, jwks.ErrKeyNotFound, kid)
	}
	require.Equal(t, 3, r.Stats().Keys, "the kid-less key is skipped too")
	require.Equal(t, 1, logs.linesContaining("shorter than 2048 bits"), "one warning per fetch: %s", logs)
	require.Contains(t, logs.String(), "ins_small1")
	require.Contains(t, logs.String(), "ins_small2")
}

func TestUnsupportedKeysDoNotSpoilTheSet(t *testing.T) {
	t.Parallel()
	good := string(jwksDoc(t, rsaJWK(t, rsaA(), "ins_a")))
	doc := strings.Replace(good, `"keys":[`, `"keys":[{"kty":"PQC","kid":"ins_future"},{"kty":"RSA","kid":"ins_broken"},`, 1)
	srv := newKeyServer(t, serveBody([]byte(doc)))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{})
	_, err := r.Key(context.Background(), "ins_a")
	require.NoError(t, err)
	require.Equal(t, 1, r.Stats().Keys)
}

func TestClose(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveKeys(t, rsaJWK(t, rsaA(), "ins_a")))
	r, err := jwks.NewRemote(context.Background(), jwks.RemoteConfig{
		URL:                srv.URL,
		RefreshInterval:    time.Millisecond,
		MinRefetchInterval: time.Nanosecond,
	})
	require.NoError(t, err)
	_, err = r.Key(context.Background(), "ins_a")
	require.NoError(t, err)

	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { require.NoError(t, r.Close()) })
	}
	wg.Wait()
	require.NoError(t, r.Close(), "Close is idempotent")

	fetches := r.Stats().Fetches
	_, err = r.Key(context.Background(), "ins_a")
	require.NoError(t, err, "keys already fetched stay usable")
	_, err = r.Key(context.Background(), "ins_unknown")
	require.ErrorIs(t, err, jwks.ErrKeyNotFound)
	require.ErrorContains(t, err, "closed")
	time.Sleep(20 * time.Millisecond) // twenty refresh intervals
	require.Equal(t, fetches, r.Stats().Fetches, "no fetch after Close")
	// goleak in TestMain checks that the refresh goroutine is gone.
}

func TestCloseCancelsAFetchInProgress(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, hang)
	r, err := jwks.NewRemote(context.Background(), jwks.RemoteConfig{URL: srv.URL, FetchTimeout: time.Minute})
	require.NoError(t, err)

	waiting := make(chan error, 1)
	go func() {
		_, err := r.Key(context.Background(), "ins_a")
		waiting <- err
	}()
	require.Eventually(t, func() bool { return srv.hits.Load() == 1 }, 5*time.Second, time.Millisecond)

	start := time.Now()
	require.NoError(t, r.Close())
	require.Less(t, time.Since(start), 10*time.Second, "Close must not wait out the one-minute fetch timeout")
	require.ErrorIs(t, <-waiting, jwks.ErrUnavailable)
}

func TestClerkFixtureKeySet(t *testing.T) {
	t.Parallel()
	v := loadVectors(t)
	srv := newKeyServer(t, serveBody(v.JWKS))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{})
	k, err := r.Key(context.Background(), "ins_2GIoQhbUpy0hX7B2cVkuTMinXoD")
	require.NoError(t, err)
	require.Equal(t, "RS256", k.Algorithm)

	static, err := jwks.NewStatic(v.PublicKeyPEM)
	require.NoError(t, err)
	sk, err := static.Key(context.Background(), "")
	require.NoError(t, err)
	require.True(t, k.Public.(*rsa.PublicKey).Equal(sk.Public), "the JWKS and the dashboard PEM hold the same key")
}

func TestKeyErrorCarriesDetail(t *testing.T) {
	t.Parallel()
	srv := newKeyServer(t, serveStatus(503))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{})
	_, err := r.Key(context.Background(), "ins_a")
	var ke *jwks.KeyError
	require.ErrorAs(t, err, &ke)
	require.Equal(t, "ins_a", ke.KID)
	require.Equal(t, jwks.ErrUnavailable, ke.Reason)
	require.ErrorContains(t, ke.Cause, "status 503")
	require.True(t, strings.HasPrefix(err.Error(), `jwks: kid "ins_a": key set unavailable: `), err.Error())
	require.False(t, errors.Is(err, jwks.ErrKeyNotFound))
}

func TestDubiousKeysAreSkipped(t *testing.T) {
	t.Parallel()
	evenExponent := jwktest.With(rsaJWK(t, rsaB(), "ins_even_e"), "e", "Ag") // 2
	offCurve := newJWK(t, &ecP256().PublicKey, "ins_off_curve", "ES256")
	offCurve["y"] = offCurve["x"]
	x25519 := map[string]any{"kty": "OKP", "crv": "X25519", "kid": "ins_x25519",
		"x": "hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}
	first := rsaJWK(t, rsaA(), "ins_dup")
	second := rsaJWK(t, rsaB(), "ins_dup")
	doc, err := json.Marshal(map[string]any{"keys": []any{evenExponent, offCurve, x25519, first, second}})
	require.NoError(t, err)

	logger, logs := newLogger()
	srv := newKeyServer(t, serveBody(doc))
	r := newRemote(t, srv.URL, jwks.RemoteConfig{MinRefetchInterval: time.Hour, Logger: logger})
	ctx := context.Background()

	k, err := r.Key(ctx, "ins_dup")
	require.NoError(t, err)
	require.True(t, k.Public.(*rsa.PublicKey).Equal(&rsaA().PublicKey), "the first key under a duplicated kid wins")
	for _, kid := range []string{"ins_even_e", "ins_off_curve", "ins_x25519"} {
		_, err := r.Key(ctx, kid)
		require.ErrorIs(t, err, jwks.ErrKeyNotFound, kid)
	}
	require.Equal(t, 1, r.Stats().Keys)
	for _, want := range []string{"exponent 2 is invalid", "invalid EC point", "not a signature key", "duplicate kid"} {
		require.Contains(t, logs.String(), want)
	}
}
