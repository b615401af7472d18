package fairshare

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestClientsHaveSharesOfTheirOwn(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	l := New(Config{PerSecond: 1, Burst: 3, Clock: func() time.Time { return t0 }})
	ctx := context.Background()
	for range 3 {
		require.True(t, l.Take(ctx, "198.51.100.1"))
	}
	for range 100 {
		require.False(t, l.Take(ctx, "198.51.100.1"), "a flooding client is held to its burst")
	}
	for range 3 {
		require.True(t, l.Take(ctx, "198.51.100.2"), "another client keeps its share")
	}
	// What Clerk confirmed is given back to the client it came from.
	l.Refund("198.51.100.1")
	require.True(t, l.Take(ctx, "198.51.100.1"))
	require.False(t, l.Take(ctx, "198.51.100.1"))
}

func TestGlobalCapHoldsAcrossClients(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	g := NewGlobal(1, 10, 0) // no waiting: the frozen clock never refills
	l := New(Config{PerSecond: 1, Burst: 5, Global: g, Clock: func() time.Time { return t0 }})
	passed := 0
	// Each client of a network of its own, a quiet one, which may spend
	// the whole global bucket, reserve and all.
	for i := range 100 {
		if l.Take(context.Background(), fmt.Sprintf("203.0.%d.1", i)) {
			passed++
		}
	}
	require.Equal(t, 10, passed, "100 clients, a global burst of 10")
	// A refusal by the global bucket costs the client nothing.
	g.bucket.Return()
	require.True(t, l.Take(context.Background(), "203.0.99.1"))
}

func TestGlobalWaitIsBoundedAndCancellable(t *testing.T) {
	g := NewGlobal(1000, 1, time.Second)
	l := New(Config{PerSecond: 1, Burst: 100, Global: g})
	ctx := context.Background()
	require.True(t, l.Take(ctx, "a"))
	require.True(t, l.Take(ctx, "a"), "the next token is 1 ms away: the call waits for it")
	// A client whose context ends while it waits gets nothing and keeps
	// its share.
	slow := NewGlobal(0.001, 1, time.Hour)
	l = New(Config{PerSecond: 1, Burst: 1, Global: slow})
	require.True(t, l.Take(ctx, "b"))
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.False(t, l.Take(cctx, "c"))
	// c's own bucket was given back, so only the global bucket stops it.
	b, ok := l.clients.Get("c")
	require.True(t, ok)
	require.True(t, b.Take(time.Now()))
}

func TestClientsAreBounded(t *testing.T) {
	l := New(Config{PerSecond: 1, Burst: 1, Clients: 100, Global: NewGlobal(1, 1, 0)})
	for i := range 10_000 {
		l.Take(context.Background(), fmt.Sprint(i))
	}
	require.Equal(t, 100, l.clients.Len())
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                     "192.0.2.7",
		"::ffff:192.0.2.7":              "192.0.2.7",
		"2001:db8:1:2:3:4:5:6":          "2001:db8:1:2::/64",
		"2001:db8:1:2:ffff:ffff:ffff:1": "2001:db8:1:2::/64",
		"fe80::1%eth0":                  "fe80::/64",
		"":                              "",
		"not an address":                "",
	} {
		require.Equal(t, want, ClientKey(in), in)
	}
}

func TestPrefixKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":          "192.0.2.0/24",
		"192.0.2.250":        "192.0.2.0/24",
		"192.0.3.7":          "192.0.3.0/24",
		"127.0.0.1":          "127.0.0.1",
		"127.0.0.2":          "127.0.0.2",
		"2001:db8:1:2::/64":  "2001:db8:1::/48",
		"2001:db8:1:ff::/64": "2001:db8:1::/48",
		"2001:db8:2:2::/64":  "2001:db8:2::/48",
		"":                   "",
		"a caller's own key": "a caller's own key",
	} {
		require.Equal(t, want, PrefixKey(in), in)
	}
	require.Equal(t, PrefixKey(ClientKey("2001:db8:1:2:3:4:5:6")), PrefixKey(ClientKey("2001:db8:1:9:3:4:5:6")))
}

// frozen is a Limiter whose clock stands still, so only what the buckets
// hold is spent: clients of 1/s burst 3, networks of 1/s burst 10, a
// global bucket of 1,000 that never waits.
func frozen(prefixes int) (*Limiter, *Global) {
	t0 := time.Unix(1_700_000_000, 0)
	g := NewGlobalConfig(GlobalConfig{PerSecond: 1, Burst: 1000, PrefixPerSecond: 1, PrefixBurst: 10, Prefixes: prefixes})
	return New(Config{PerSecond: 1, Burst: 3, Global: g, Clock: func() time.Time { return t0 }}), g
}

func TestManyClientsOfOneNetworkShareItsBucket(t *testing.T) {
	l, g := frozen(0)
	ctx := context.Background()
	passed := 0
	for i := range 100 {
		for range 3 {
			if l.Take(ctx, ClientKey(fmt.Sprintf("198.51.100.%d", i))) {
				passed++
			}
		}
	}
	require.Equal(t, 10, passed, "100 clients of one /24, each with a burst of 3: the network's burst of 10")
	// A network's refusal costs the global bucket nothing: it holds all
	// but the 10 calls passed.
	for range 990 {
		require.True(t, g.bucket.Take(time.Unix(1_700_000_000, 0)))
	}
	require.False(t, g.bucket.Take(time.Unix(1_700_000_000, 0)))

	// IPv6: 100 /64s of one /48 are one network too.
	l, _ = frozen(0)
	passed = 0
	for i := range 100 {
		if l.Take(ctx, ClientKey(fmt.Sprintf("2001:db8:7:%x::1", i))) {
			passed++
		}
	}
	require.Equal(t, 10, passed, "100 /64s of one /48")
}

func TestNetworksHaveSharesOfTheirOwn(t *testing.T) {
	l, _ := frozen(0)
	ctx := context.Background()
	for i := range 100 {
		l.Take(ctx, ClientKey(fmt.Sprintf("198.51.100.%d", i)))
	}
	require.False(t, l.Take(ctx, ClientKey("198.51.100.200")), "the flooded network is spent")
	for _, ip := range []string{"198.51.101.1", "203.0.113.9", "2001:db8:8::1"} {
		for range 3 {
			require.True(t, l.Take(ctx, ClientKey(ip)), "%s is of another network: its share is whole", ip)
		}
	}
	// Loopback addresses are this host: each its own network.
	for i := range 10 {
		for range 3 {
			require.True(t, l.Take(ctx, ClientKey(fmt.Sprintf("127.0.0.%d", 1+i))))
		}
	}
}

func TestRefundRestoresEveryShare(t *testing.T) {
	l, g := frozen(0)
	ctx := context.Background()
	// Ten clients of one network spend its burst; the global bucket
	// counts ten calls.
	for i := range 10 {
		require.True(t, l.Take(ctx, ClientKey(fmt.Sprintf("192.0.2.%d", i))))
	}
	require.False(t, l.Take(ctx, ClientKey("192.0.2.100")))
	// Clerk confirmed what client 0 brought: its own share and its
	// network's are given back, so the next of that network passes.
	l.Refund(ClientKey("192.0.2.0"))
	require.True(t, l.Take(ctx, ClientKey("192.0.2.100")))
	require.False(t, l.Take(ctx, ClientKey("192.0.2.101")), "one refund, one call")
	cb, ok := l.clients.Get(ClientKey("192.0.2.0"))
	require.True(t, ok)
	now := time.Unix(1_700_000_000, 0)
	for range 3 {
		require.True(t, cb.Take(now), "client 0's own bucket is whole again")
	}
	// The global bucket keeps the calls made: 11 of 1,000.
	for range 989 {
		require.True(t, g.bucket.Take(now))
	}
	require.False(t, g.bucket.Take(now))
}

func TestNetworksAreBounded(t *testing.T) {
	l, g := frozen(100)
	for i := range 10_000 {
		l.Take(context.Background(), ClientKey(fmt.Sprintf("10.%d.%d.1", i/256, i%256)))
	}
	require.Equal(t, 100, g.prefixes.Len())
}
