package clerkgate_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/internal/fairshare"
	"github.com/clerkgate/clerkgate/machine"
)

// Fairness: the buckets that bound Backend API calls for things never seen
// pass (handshake nonces, machine credentials) are per client. Each client
// here is a real one: its connections come from an address of its own on
// the loopback network (127.0.0.0/8 on Linux), which is what the Gate sees
// as the peer.

// A client flooding junk nonces spends its own share: genuine sign-ins from
// another address, during the flood, all complete.
func TestJunkNonceFloodLeavesOtherClientsSigningIn(t *testing.T) {
	needLoopback(t, "127.0.0.2")
	s := newSite(t, nil)
	db := &http.Cookie{Name: "__clerk_db_jwt", Value: "dvb_x"}
	flooder := from("127.0.0.1")
	flooder.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	stop := make(chan struct{})
	var sent atomic.Int32
	var wg sync.WaitGroup
	// The flood runs before and during the sign-ins.
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/?__clerk_handshake_nonce=junk%d_%d", s.url, w, i), nil)
				req.AddCookie(db)
				req.Header.Set("Sec-Fetch-Dest", "document")
				if res, err := flooder.Do(req); err == nil {
					res.Body.Close()
				}
				sent.Add(1)
			}
		}()
	}
	for sent.Load() < 100 {
		time.Sleep(time.Millisecond)
	}

	signedIn := 0
	for i := range 5 {
		b := s.browser(t)
		tr := b.c.Transport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext
		tr.DisableKeepAlives = true
		b.c.Transport = tr
		p := b.signIn(s, fmt.Sprintf("user_%d", i), s.url+"/dashboard")
		if p.body == fmt.Sprintf("Dashboard of user_%d", i) {
			signedIn++
		}
	}
	close(stop)
	wg.Wait()
	calls := s.fake.Requests(clerktest.RouteHandshakePayload)
	t.Logf("%d junk nonces from one address, 5 sign-ins from another: %d signed in; %d nonce calls in all", sent.Load(), signedIn, calls)
	require.Equal(t, 5, signedIn)
}

// Random API keys from one address leave a genuine, freshly minted M2M
// token from another accepted.
func TestRandomKeysLeaveOtherClientsNewTokens(t *testing.T) {
	needLoopback(t, "127.0.0.2")
	rig := newMachineRig(t, nil)
	attacker := from("127.0.0.1")
	for range 40 {
		getFrom(t, attacker, rig.url+"/keys", "ak_"+randomHex(16))
	}
	calls := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	require.LessOrEqual(t, calls, machine.DefaultNewBurst, "one client's junk is held to its own burst")

	caller := rig.fake.CreateMachine(rig.fake.CreateMachine().ID)
	_, mt := rig.fake.CreateM2MToken(caller.ID)
	require.Equal(t, http.StatusOK, getFrom(t, from("127.0.0.2"), rig.url+"/m2m", mt))
	// The attacker's own share stays spent.
	require.Equal(t, http.StatusServiceUnavailable, getFrom(t, attacker, rig.url+"/keys", "ak_"+randomHex(16)))
}

// At start-up 200 clients bring 200 genuine API keys the process has never
// seen: every one is accepted (the global bucket makes the last wait a
// moment, never refuses them). Random keys from ten more clients cost at
// most each client's burst.
func TestGenuineBurstAcceptedRandomKeysBounded(t *testing.T) {
	skipSlowUnderShort(t)
	needLoopback(t, "127.0.1.200", "127.0.9.10")
	rig := newMachineRig(t, nil)
	const genuine = 200
	keys := make([]string, genuine)
	for i := range keys {
		_, keys[i] = rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", fmt.Sprint("key ", i))
	}
	statuses := make([]int, genuine)
	var wg sync.WaitGroup
	for i := range genuine {
		wg.Add(1)
		go func() {
			defer wg.Done()
			statuses[i] = getFrom(t, from(fmt.Sprintf("127.0.%d.%d", 1+i/250, 1+i%250)), rig.url+"/keys", keys[i])
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		require.Equal(t, http.StatusOK, st, "genuine key %d", i)
	}
	require.Equal(t, genuine, rig.fake.Requests(clerktest.RouteVerifyAPIKey))

	// The clock stands still: only what the buckets hold is spent. Ten
	// seconds on, the global bucket is full again; ten clients flood.
	rig.advance(10 * time.Second)
	const attackers, each = 10, 40
	for a := range attackers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := from(fmt.Sprintf("127.0.9.%d", 1+a))
			for range each {
				getFrom(t, c, rig.url+"/keys", "ak_"+randomHex(16))
			}
		}()
	}
	wg.Wait()
	random := rig.fake.Requests(clerktest.RouteVerifyAPIKey) - genuine
	t.Logf("%d genuine keys from %d clients: all accepted; %d random keys from %d clients: %d calls (bound %d)",
		genuine, genuine, attackers*each, attackers, random, attackers*machine.DefaultNewBurst)
	require.LessOrEqual(t, random, attackers*machine.DefaultNewBurst)
	// Known keys are served from the cache, whatever the flood did.
	require.Equal(t, http.StatusOK, getFrom(t, from("127.0.9.1"), rig.url+"/keys", keys[0]))
}

// Bare tokens (gRPC, WebSockets) are told apart by ContextWithClientAddr:
// one client's random keys leave another's new key accepted; without the
// address they would all be one client's.
func TestBareTokensPerClient(t *testing.T) {
	rig := newMachineRig(t, nil)
	route := rig.gate.Accept(clerkgate.APIKey)
	for range 40 {
		_, err := route.AuthenticateToken(peerCtx(t, "192.0.2.1"), "ak_"+randomHex(16))
		require.Error(t, err)
	}
	requireNewKeyAccepted(t, rig, route, peerCtx(t, "192.0.2.2"), "")

	// Without an address, the bare tokens of every client share one share.
	for range 40 {
		_, _ = route.AuthenticateToken(t.Context(), "ak_"+randomHex(16))
	}
	requireNewKeyRefused(t, rig, route, t.Context(), "")
}

// Many addresses of one network are one network's share: 100 clients of
// one /24 flooding random keys cause no more Backend API calls than the
// network's burst, and a client of another network is unaffected. (Over
// loopback every address is this host and its own network, so the
// network tier is shown with bare tokens and ContextWithClientAddr.)
func TestBareTokensPerNetwork(t *testing.T) {
	rig := newMachineRig(t, nil)
	route := rig.gate.Accept(clerkgate.APIKey)
	for i := range 100 {
		for range 5 {
			_, err := route.AuthenticateToken(peerCtx(t, fmt.Sprintf("198.51.100.%d", 1+i)), "ak_"+randomHex(16))
			require.Error(t, err)
		}
	}
	calls := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	t.Logf("100 clients of one /24, 500 random keys: %d calls (network burst %d)", calls, fairshare.DefaultPrefixBurst)
	require.LessOrEqual(t, calls, fairshare.DefaultPrefixBurst)

	requireNewKeyAccepted(t, rig, route, peerCtx(t, "198.51.101.1"), "a client of another /24 keeps its share")
	requireNewKeyRefused(t, rig, route, peerCtx(t, "198.51.100.250"), "a new client of the flooded /24 shares its spent share")
}

// Half the global bucket is kept for quiet networks: 20 /24s flooding
// random keys, five times their network's burst each, spend the global
// bucket down to that reserve (and their own quiet calls, two each),
// and a new genuine key from a /24 that was quiet is then accepted at
// once; one from a flooding /24 is refused. (Bare tokens with
// ContextWithClientAddr: over loopback every address is its own network.
// The clock stands still, so nothing refills.)
func TestBareTokensQuietNetworkDuringFlood(t *testing.T) {
	rig := newMachineRig(t, nil)
	route := rig.gate.Accept(clerkgate.APIKey)
	const nets = 20
	for n := range nets {
		for i := range 100 {
			_, err := route.AuthenticateToken(peerCtx(t, fmt.Sprintf("10.0.%d.%d", n, 1+i%10)), "ak_"+randomHex(16))
			require.Error(t, err)
		}
	}
	calls := rig.fake.Requests(clerktest.RouteVerifyAPIKey)
	reserve := fairshare.DefaultGlobalBurst / 2
	t.Logf("%d /24s, 2,000 random keys: %d calls (bound: above the reserve %d, quiet %d)", nets, calls,
		fairshare.DefaultGlobalBurst-reserve, nets*fairshare.DefaultQuietBurst)
	require.LessOrEqual(t, calls, fairshare.DefaultGlobalBurst-reserve+nets*fairshare.DefaultQuietBurst)
	require.GreaterOrEqual(t, calls, fairshare.DefaultGlobalBurst-reserve, "the flood spends all above the reserve")

	requireNewKeyAccepted(t, rig, route, peerCtx(t, "198.51.100.7"), "a new key from a quiet /24 is made from the reserve")
	requireNewKeyRefused(t, rig, route, peerCtx(t, "10.0.3.200"), "a new client of a flooding /24 may not spend the reserve")
}

// peerCtx is a bare token's context from the client at addr
// (ContextWithClientAddr), as a WebSocket or queue handler would give it.
func peerCtx(t *testing.T, addr string) context.Context {
	return clerkgate.ContextWithClientAddr(t.Context(), netip.MustParseAddr(addr))
}

// requireNewKeyAccepted: a genuine API key made now, sent from ctx's
// client, is verified with the Backend API and accepted.
func requireNewKeyAccepted(t *testing.T, rig *machineRig, route *clerkgate.Policy, ctx context.Context, why string) {
	t.Helper()
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "fresh")
	c, err := route.AuthenticateToken(ctx, key)
	require.NoError(t, err, why)
	require.Equal(t, "user_2abcdefghijklmnopqrstuvwxyz", c.Subject())
}

// requireNewKeyRefused: a genuine API key made now, sent from ctx's
// client, is refused as unavailable: its client (or network) has spent
// what it may ask of the Backend API.
func requireNewKeyRefused(t *testing.T, rig *machineRig, route *clerkgate.Policy, ctx context.Context, why string) {
	t.Helper()
	_, key := rig.fake.CreateAPIKey("user_2abcdefghijklmnopqrstuvwxyz", "other")
	_, err := route.AuthenticateToken(ctx, key)
	var aerr *clerkgate.AuthError
	require.ErrorAs(t, err, &aerr, why)
	require.Equal(t, clerkgate.ReasonMachineUnavailable, aerr.Reason, why)
}
