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
	for i := range 100 {
		if l.Take(context.Background(), fmt.Sprintf("203.0.113.%d", i)) {
			passed++
		}
	}
	require.Equal(t, 10, passed, "100 clients, a global burst of 10")
	// A refusal by the global bucket costs the client nothing.
	g.bucket.Return()
	require.True(t, l.Take(context.Background(), "203.0.113.99"))
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
