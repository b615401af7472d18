package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, name, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSetVersionRewritesSiblingsOnly(t *testing.T) {
	repo := t.TempDir()
	write(t, filepath.Join(repo, "go.mod"), "module github.com/clerkgate/clerkgate\n\ngo 1.25.0\n\nrequire golang.org/x/sync v0.20.0\n")
	gin := filepath.Join(repo, "adapters", "gin", "go.mod")
	write(t, gin, `module github.com/clerkgate/clerkgate/adapters/gin

go 1.25.0

require (
	github.com/clerkgate/clerkgate v0.1.0
	github.com/gin-gonic/gin v1.12.0
)

replace github.com/clerkgate/clerkgate => ../..
`)
	if err := run(repo, "v0.2.0"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(gin)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"github.com/clerkgate/clerkgate v0.2.0", "github.com/gin-gonic/gin v1.12.0", "replace github.com/clerkgate/clerkgate => ../.."} {
		if !strings.Contains(string(got), want) {
			t.Errorf("adapters/gin/go.mod lacks %q:\n%s", want, got)
		}
	}
	root, err := os.ReadFile(filepath.Join(repo, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(root), "golang.org/x/sync v0.20.0") {
		t.Errorf("a third-party requirement changed:\n%s", root)
	}

	for _, bad := range []string{"0.2.0", "v0.2", "v0.0.0-20260101000000-abcdefabcdef"} {
		if err := run(repo, bad); err == nil || !strings.Contains(err.Error(), "not a version to tag") {
			t.Errorf("setversion %s: got %v, want a refusal", bad, err)
		}
	}
}
