package expiring

import (
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

	now = now.Add(time.Second) // the deadline itself is expired
	_, ok = c.Get("a")
	require.False(t, ok)
	require.Zero(t, c.Len(), "an expired entry is dropped when read")

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
