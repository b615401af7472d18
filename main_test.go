package clerkgate_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a Gate
// must stop its key refreshes on Close, and a refresh call must end within
// RefreshTimeout even when nobody waits for it any more.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
