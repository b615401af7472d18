package clerkgate_test

import (
	"log/slog"
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if any test leaves a goroutine behind: a Gate
// must stop its key refreshes on Close, and a refresh call must end within
// Refresh.Timeout even when nobody waits for it any more.
//
// It also keeps the Gates that tests make without a Logger, which log to
// slog.Default, from printing their expected start-up warnings (no
// AuthorizedParties, a key set fetched) for every test and benchmark:
// only errors reach stderr, where they stand out. A test that reads a
// Gate's log gives it a Logger of its own; the child process of
// TestNilLoggerLogsToTheDefault keeps the real default, which it checks.
func TestMain(m *testing.M) {
	if os.Getenv("CLERKGATE_TEST_CHILD") == "" {
		slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	}
	goleak.VerifyTestMain(m)
}

// skipSlowUnderShort keeps the slow fault and flood suites out of
// `go test -short`, the quick loop a developer runs while editing; the
// README's test command and .ci/run run them all.
func skipSlowUnderShort(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("slow fault or flood suite: run without -short (as .ci/run does)")
	}
}
