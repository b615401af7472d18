package jwks_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: every
// Remote must stop its refresh loop and fetches on Close or cancellation.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
