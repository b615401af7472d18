package modules_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The echo v5 adapter is the echo v4 adapter with echo's v5 API: the same
// names, *echo.Context for echo.Context, Wrap for SetInternal, and the new
// error handler's signature. It is generated from adapters/echo by the
// rewrites below (go test -run TestEchoV5IsGenerated -update), so that the two
// cannot drift: a change to one adapter is made in adapters/echo only.
var echoV5Files = []string{"clerkecho.go", "clerkecho_test.go", "example_test.go"}

// echoV5Rewrites are applied in order, each as a literal replacement that
// must match at least once in some file (a rewrite that matches nothing is
// stale and fails the test).
var echoV5Rewrites = [][2]string{
	{`"github.com/labstack/echo/v4`, `"github.com/labstack/echo/v5`},
	{`"github.com/clerkgate/clerkgate/adapters/echo"`, `"github.com/clerkgate/clerkgate/adapters/echov5"`},
	{"// Package clerkecho puts clerkgate in front of echo (v4) handlers.\n",
		"// Package clerkecho puts clerkgate in front of echo v5 handlers. It is the\n" +
			"// echo v4 adapter (github.com/clerkgate/clerkgate/adapters/echo) for echo's\n" +
			"// v5 API, with the same names, so that moving from one to the other is a\n" +
			"// change of import paths and of echo.Context to *echo.Context.\n"},
	{"// returns an *echo.HTTPError whose Internal is the *clerkgate.AuthError:\n// logging middleware sees the refusal, errors.As finds the AuthError, and",
		"// returns an *echo.HTTPError that wraps the *clerkgate.AuthError: logging\n// middleware sees the refusal, errors.As finds the AuthError, and"},
	{"// must do the same and return when c.Response().Committed, as echo's\n// documentation advises.",
		"// must do the same: return when echo.UnwrapResponse(c.Response()) reports\n// the response Committed."},
	{"*echo.HTTPError with err as its Internal error, for logging.", "*echo.HTTPError that wraps err, for logging."},
	{".SetInternal(err)", ".Wrap(err)"},
	{"\te.HTTPErrorHandler = func(err error, c *echo.Context) {",
		"\tfallback := echo.DefaultHTTPErrorHandler(false)\n\te.HTTPErrorHandler = func(c *echo.Context, err error) {"},
	{"e.DefaultHTTPErrorHandler(err, c)", "fallback(c, err)"},
	{", internal=clerkgate: ", ", err=clerkgate: "},
	{"\tc.Response().Before(func() {\n", "\tres, err := echo.UnwrapResponse(c.Response())\n\tif err != nil {\n\t\treturn\n\t}\n\tres.Before(func() {\n"},
}

// echoContext matches echo.Context as a type: not already a pointer, and not
// inside the package doc's own "echo.Context to *echo.Context".
var echoContext = regexp.MustCompile(`([^*\w.])echo\.Context\b`)

func TestEchoV5IsGenerated(t *testing.T) {
	used := make([]bool, len(echoV5Rewrites))
	for _, name := range echoV5Files {
		src, err := os.ReadFile(filepath.Join(repo, "adapters/echo", name))
		if err != nil {
			t.Fatal(err)
		}
		text := echoContext.ReplaceAllString(string(src), "$1*echo.Context")
		for i, rw := range echoV5Rewrites {
			if strings.Contains(text, rw[0]) {
				used[i] = true
				text = strings.ReplaceAll(text, rw[0], rw[1])
			}
		}
		want := []byte("// Code generated from adapters/echo/" + name +
			" by internal/tools (go test -run TestEchoV5IsGenerated -update); DO NOT EDIT.\n\n" + text)
		path := filepath.Join(repo, "adapters/echov5", name)
		if *update {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("adapters/echov5/%s differs from the one generated from adapters/echo/%s: edit adapters/echo and run go test -run TestEchoV5IsGenerated -update in internal/tools/modules", name, name)
		}
	}
	for i, u := range used {
		if !u {
			t.Errorf("rewrite %q matches nothing in adapters/echo: remove it", echoV5Rewrites[i][0])
		}
	}
}
