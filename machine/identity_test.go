package machine_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/machine"
)

// TestCloneIntoSharesNothing: a copy made into a caller's room, whether
// the scopes fit it or not, shares no memory a handler could change with
// the Identity a cache keeps for every request.
func TestCloneIntoSharesNothing(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 3, 8} {
		scopes := make([]string, n)
		for i := range scopes {
			scopes[i] = "read"
		}
		shared := &machine.Identity{Type: machine.APIKey, ID: "ak_1", Subject: "user_1", Scopes: scopes}
		var room [2]string
		var own machine.Identity
		shared.CloneInto(&own, room[:])
		require.Equal(t, *shared, own, "%d scopes", n)
		require.NotNil(t, own.Scopes, "%d scopes: an empty list stays a list", n)
		own.Scopes = append(own.Scopes, "write")
		own.Scopes = append(own.Scopes, "admin")
		for i := range own.Scopes {
			own.Scopes[i] = "tampered"
		}
		own.Subject = "mch_mallory"
		require.Equal(t, scopes, shared.Scopes, "%d scopes", n)
		for _, s := range shared.Scopes {
			require.Equal(t, "read", s, "%d scopes", n)
		}
		require.Equal(t, "user_1", shared.Subject)
		require.Equal(t, len(scopes), len(shared.Scopes))
	}
	var own machine.Identity
	(&machine.Identity{}).CloneInto(&own, nil)
	require.Nil(t, own.Scopes, "no scopes stay no scopes")
}
