package clerkgate_test

import (
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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

// TestTestFilesAreNamedAfterTheirSource keeps the tests findable as the
// package grows: every test file is named after the source file it tests
// (pipeline.go's tests in pipeline_test.go, or pipeline_<topic>_test.go
// when they are many), or is one of the few that test no one file: the
// rig and shared helpers (helpers_test.go), this one, the API's check
// (api_test.go), the fuzzers (fuzz_test.go), examples (example*_test.go),
// benchmarks (bench*_test.go), and export_test.go, Go's usual place for
// what the external tests may reach of the package's internals. A test file whose source file was
// renamed or removed fails here until it follows.
func TestTestFilesAreNamedAfterTheirSource(t *testing.T) {
	t.Parallel()
	entries, err := os.ReadDir(".")
	require.NoError(t, err)
	var sources, tests []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".go")
		if e.IsDir() || !ok {
			continue
		}
		if base, ok := strings.CutSuffix(name, "_test"); ok {
			tests = append(tests, base)
		} else {
			sources = append(sources, name)
		}
	}
	require.NotEmpty(t, sources)
	require.NotEmpty(t, tests)
	named := func(base string) bool {
		switch base {
		case "helpers", "main", "api", "fuzz", "export":
			return true
		}
		for _, prefix := range []string{"example", "bench"} {
			if base == prefix || strings.HasPrefix(base, prefix+"_") {
				return true
			}
		}
		for _, src := range sources {
			if base == src || strings.HasPrefix(base, src+"_") {
				return true
			}
		}
		return false
	}
	for _, base := range tests {
		if !named(base) {
			t.Errorf("%s_test.go: name it after the source file it tests (<source>_test.go or <source>_<topic>_test.go; sources: %s), or put shared helpers in helpers_test.go",
				base, strings.Join(sources, ", "))
		}
	}
}
