// Code generated from the root module's internal/expiring/expiring_test.go by internal/tools (go test -run TestCopies -update); DO NOT EDIT.

package expiring

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestExpiresAndStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := New[string, int](2, func() time.Time { return now })
	c.Add("a", 1, now.Add(time.Second))
	v, ok := c.Get("a")
	require.True(t, ok)
	require.Equal(t, 1, v)

	c.Add("b", 2, now.Add(time.Hour))
	now = now.Add(time.Second) // the deadline itself is expired
	_, ok = c.Get("a")
	require.False(t, ok)
	require.Equal(t, 1, c.Len(), "an expired entry is dropped when read")
	c.Remove("b")

	c.Add("x", 1, now.Add(time.Hour))
	c.Add("y", 2, now.Add(time.Hour))
	c.Add("z", 3, now.Add(time.Hour))
	require.Equal(t, 2, c.Len())
	_, ok = c.Get("x")
	require.False(t, ok, "the least recently used entry is evicted")
}

func TestAddNeverShortensADeadline(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	c := New[string, int](4, func() time.Time { return now })
	c.Add("a", 1, now.Add(time.Minute))
	c.Add("a", 2, now.Add(time.Second))
	now = now.Add(30 * time.Second)
	v, ok := c.Get("a")
	require.True(t, ok, "the earlier deadline must not replace the later one")
	require.Equal(t, 2, v)
}

// TestAllExpiredAnswersWithoutTheLRU: once every deadline has passed, Get
// answers from the latest deadline alone, and an Add after that is seen at
// once, however many goroutines read meanwhile.
func TestAllExpiredAnswersWithoutTheLRU(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(time.Unix(1000, 0).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	c := New[string, int](4, clock)
	_, ok := c.Get("a")
	require.False(t, ok, "nothing ever added")

	c.Add("a", 1, clock().Add(time.Minute))
	now.Add(int64(2 * time.Minute))
	_, ok = c.Get("a")
	require.False(t, ok, "every entry expired")

	// A revocation added while readers run must be seen by every Get that
	// starts after Add returns.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					c.Get("b")
				}
			}
		}()
	}
	for i := range 200 {
		key := fmt.Sprint("k", i)
		c.Add(key, i, clock().Add(time.Second))
		v, ok := c.Get(key)
		require.True(t, ok, key)
		require.Equal(t, i, v)
		now.Add(int64(2 * time.Second)) // expires it, and every earlier one
		_, ok = c.Get(key)
		require.False(t, ok, key)
	}
	close(stop)
	wg.Wait()
}
