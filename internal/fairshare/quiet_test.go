package fairshare

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// floodRig is a Global with the defaults shared by a nonce Limiter and a
// machine-credential one (1/s, bursts of 10, as the Gate's), on a clock
// the test moves. Waits for the global bucket are not slept: they are
// granted at once, as though waited, so what a flood reserves ahead stays
// spent, and the longest one since reset is kept in waited.
type floodRig struct {
	now    time.Time
	g      *Global
	nonces *Limiter
	keys   *Limiter
	waited time.Duration
	steps  int
}

func newFloodRig() *floodRig {
	r := &floodRig{now: time.Unix(1_700_000_000, 0)}
	r.g = NewGlobal(DefaultGlobalPerSecond, DefaultGlobalBurst, DefaultMaxWait)
	clock := func() time.Time { return r.now }
	waited := func(_ context.Context, d time.Duration) bool {
		r.waited = max(r.waited, d)
		return true
	}
	r.nonces = New(Config{PerSecond: 1, Burst: 10, Global: r.g, Clock: clock})
	r.keys = New(Config{PerSecond: 1, Burst: 10, Global: r.g, Clock: clock})
	r.nonces.sleep, r.keys.sleep = waited, waited
	return r
}

// flood moves the clock on by d in steps of 100 ms; at each step each of
// nets /24 networks (10.x.y.0/24), ten clients in each, makes one call:
// 10 a second per network, five times its network's rate. The networks
// start over the first 10 s, so their quiet calls come spread as an
// attacker's do who does not time them (see
// TestTimedQuietBurstsAreBounded for one who does). It returns the calls
// granted.
func (r *floodRig) flood(nets int, d time.Duration) (granted int) {
	for range d / (100 * time.Millisecond) {
		r.now = r.now.Add(100 * time.Millisecond)
		r.steps++
		for n := range nets {
			if r.steps <= n%100 {
				continue // the networks start one after another over 10 s
			}
			if r.nonces.Take(context.Background(), fmt.Sprintf("10.%d.%d.%d", n/256, n%256, 1+r.steps%10)) {
				granted++
			}
		}
	}
	return granted
}

// spentAboveReserve reports whether the global bucket holds nothing above
// its reserve (spending one token if it does).
func (r *floodRig) spentAboveReserve() bool {
	return !r.g.bucket.TakeAbove(r.now, r.g.reserve)
}

// genuine makes a call from client with l and reports whether it was
// granted without waiting for the global bucket.
func (r *floodRig) genuine(l *Limiter, client string) (granted bool, waited time.Duration) {
	r.waited = 0
	ok := l.Take(context.Background(), client)
	return ok, r.waited
}

// Floods from 30 and from 100 networks, each at five times its network's
// rate, keep the global bucket spent; a genuine sign-in and a genuine new
// machine credential from networks that were quiet are granted at once.
// (Without the reserve the flood kept the global bucket spent to the
// last token and the reservations of 3 s ahead: a genuine call waited up
// to 3 s or was refused.)
func TestQuietNetworkGrantedAtOnceDuringFlood(t *testing.T) {
	for _, nets := range []int{30, 100} {
		t.Run(fmt.Sprint(nets, " networks"), func(t *testing.T) {
			r := newFloodRig()
			r.flood(nets, 30*time.Second) // past the quiet bursts each flooder starts with
			granted := r.flood(nets, 30*time.Second)
			// The flood is held to the global rate, and takes it all.
			require.LessOrEqual(t, granted, DefaultGlobalPerSecond*30+DefaultGlobalBurst)
			require.GreaterOrEqual(t, granted, DefaultGlobalPerSecond*30*9/10, "the flood spends the global bucket")
			require.True(t, r.spentAboveReserve(), "nothing is left above the reserve")
			t.Logf("%d networks flooding: %d calls in 30 s (global rate %d/s)", nets, granted, DefaultGlobalPerSecond)

			ok, waited := r.genuine(r.nonces, ClientKey("192.0.2.7"))
			require.True(t, ok, "a sign-in from a quiet network")
			require.Zero(t, waited, "a sign-in from a quiet network waits for no flood")
			r.nonces.Refund(ClientKey("192.0.2.7"))
			ok, waited = r.genuine(r.keys, ClientKey("2001:db8:5::1"))
			require.True(t, ok, "a new machine credential from a quiet network")
			require.Zero(t, waited)

			// And so through the flood: a sign-in from another quiet
			// network each second, each at once.
			for i := range 20 {
				r.flood(nets, time.Second)
				ok, waited := r.genuine(r.nonces, ClientKey(fmt.Sprintf("198.51.%d.1", i)))
				require.True(t, ok, "sign-in %d", i)
				require.Zero(t, waited, "sign-in %d", i)
				require.True(t, r.spentAboveReserve())
			}
			// A flooding network's own new client is refused: the
			// reserve is not its.
			ok, _ = r.genuine(r.keys, ClientKey("10.0.0.200"))
			require.False(t, ok, "a flooding network's new client")
		})
	}
}

// The protection's limit: quiet calls at the global rate (500 networks,
// each making one call each 10 s) spend the reserve too. 600 flooding
// networks do, and a genuine call then waits its turn, as every call did
// before the reserve.
func TestFloodFromQuietCallsAtTheGlobalRateSpendsTheReserve(t *testing.T) {
	r := newFloodRig()
	const nets = 600
	require.Greater(t, nets*DefaultQuietPerSecond, float64(DefaultGlobalPerSecond))
	r.flood(nets, 60*time.Second)
	ok, waited := r.genuine(r.nonces, ClientKey("192.0.2.7"))
	if ok {
		require.Positive(t, waited, "a genuine call waits behind 600 networks' quiet calls")
	}
}

// A network flooding at (or above) its own rate spends the global bucket
// down to the reserve and no further: once its quiet calls are spent it
// gets one each 10 s (DefaultQuietPerSecond), the reserve keeps the rest,
// and another network's call is granted from it at once.
func TestFloodingNetworkCannotSpendTheReserve(t *testing.T) {
	r := &floodRig{now: time.Unix(1_700_000_000, 0)}
	// A global bucket that does not refill: only what is spent counts.
	r.g = NewGlobalConfig(GlobalConfig{PerSecond: 1e-9, Burst: 40, Reserve: 20, MaxWait: time.Second})
	r.nonces = New(Config{PerSecond: 1, Burst: 10, Global: r.g, Clock: func() time.Time { return r.now }})
	r.nonces.sleep = func(_ context.Context, d time.Duration) bool {
		r.waited = max(r.waited, d)
		return true
	}
	// The network's two quiet calls, then all that is above the reserve.
	require.Equal(t, 2+18, r.flood(1, 2*time.Second))
	require.True(t, r.spentAboveReserve())
	// A minute at 10 calls a second (5× the network's rate): one call each
	// 10 s, made as a quiet one, is all it takes from the reserve.
	granted := r.flood(1, 60*time.Second)
	t.Logf("a flooding network, a minute at the reserve: %d calls of 600 (quiet: one each 10 s)", granted)
	require.LessOrEqual(t, granted, 6)
	require.GreaterOrEqual(t, granted, 5)
	// The rest of the reserve is there for a quiet network, at once.
	for i := range 20 - granted {
		ok, waited := r.genuine(r.nonces, ClientKey(fmt.Sprintf("192.0.%d.1", i)))
		require.True(t, ok, "quiet network %d", i)
		require.Zero(t, waited)
	}
	ok, _ := r.genuine(r.nonces, ClientKey("192.0.99.1"))
	require.False(t, ok, "the reserve is spent, and the bucket does not refill")

	// With no reserve (Reserve < 0) the same flood spends it all: the
	// test above could fail.
	r = &floodRig{now: time.Unix(1_700_000_000, 0)}
	r.g = NewGlobalConfig(GlobalConfig{PerSecond: 1e-9, Burst: 40, Reserve: -1})
	r.nonces = New(Config{PerSecond: 1, Burst: 10, Global: r.g, Clock: func() time.Time { return r.now }})
	require.Equal(t, 40, r.flood(1, 62*time.Second))
}

// Genuine calls are given back (Refund), so a busy network of genuine
// clients, four new sign-ins a second (twice its network's rate and 40
// times its quiet calls' 0.1/s), two at a time in flight, stays quiet:
// during a 100-network flood every one of its sign-ins is granted at
// once. A network as busy whose calls Clerk does not confirm is refused
// once its quiet calls are spent.
func TestRefundedNetworkStaysQuiet(t *testing.T) {
	r := newFloodRig()
	r.flood(100, 30*time.Second)
	for i := range 60 * 4 {
		if i%2 == 0 {
			r.flood(100, 500*time.Millisecond)
		}
		c := ClientKey(fmt.Sprintf("203.0.113.%d", i%250))
		ok, waited := r.genuine(r.nonces, c)
		require.True(t, ok, "genuine sign-in %d", i)
		require.Zero(t, waited, "genuine sign-in %d", i)
		if i%2 == 1 { // the pair in flight is confirmed
			r.nonces.Refund(c)
			r.nonces.Refund(ClientKey(fmt.Sprintf("203.0.113.%d", (i-1)%250)))
		}
	}
	refused := 0
	for i := range 60 * 4 {
		if i%2 == 0 {
			r.flood(100, 500*time.Millisecond)
		}
		if ok, _ := r.genuine(r.nonces, ClientKey(fmt.Sprintf("198.51.100.%d", i%250))); !ok {
			refused++
		}
	}
	t.Logf("a busy network not confirmed by Clerk, during the flood: %d of 240 refused", refused)
	require.Greater(t, refused, 240*3/4)
}

// An attacker who saves each network's quiet calls and makes them all at
// once spends the reserve for a moment: n networks' 2·n calls, less the
// reserve of 50, queue at 50/s, so a genuine call then waits at most
// about (2·n − 50)/50 s, and is refused only past the 3 s wait, when
// 2·n > 200 or so. (About: the flood's own quiet calls, 10 a second here,
// keep the bucket a few tokens below the reserve.) 20 networks' saved
// calls are all absorbed by the reserve.
func TestTimedQuietBurstsAreBounded(t *testing.T) {
	for _, tc := range []struct {
		nets    int
		maxWait time.Duration
		granted bool
	}{
		{20, 0, true},
		{60, 1600 * time.Millisecond, true},
		{90, 3 * time.Second, true},
		{120, 0, false},
	} {
		t.Run(fmt.Sprint(tc.nets, " networks"), func(t *testing.T) {
			r := newFloodRig()
			r.flood(100, 30*time.Second)
			// 20 s with no calls from the timed networks: their quiet
			// calls are whole again; the flood's keep the bucket at the
			// reserve.
			r.flood(100, 20*time.Second)
			require.True(t, r.spentAboveReserve())
			for n := range tc.nets {
				for range DefaultQuietBurst {
					r.nonces.Take(context.Background(), fmt.Sprintf("172.16.%d.%d", n, 1+r.steps%10))
					r.steps++
				}
			}
			ok, waited := r.genuine(r.nonces, ClientKey("192.0.2.7"))
			t.Logf("%d networks' saved quiet calls at once: a genuine call granted %v after waiting %v", tc.nets, ok, waited)
			require.Equal(t, tc.granted, ok)
			if ok {
				require.LessOrEqual(t, waited, tc.maxWait)
			}
		})
	}
}
