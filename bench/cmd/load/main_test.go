package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the
// generator's workers, its HTTP/2 clients and the refresh browsers must
// all be done when a phase returns.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
