// Package modules knows the layout of clerkgate's repository: which folders
// are Go modules, which of them are released, the version they are
// released at, and the files a module's zip holds.
//
// Every module requires its siblings at the version about to be released
// (so that a released go.mod names versions that exist once the tags are
// pushed) and replaces each with its folder (so that work in the
// repository, with or without go.work, builds against the tree itself).
package modules

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
)

// Root is the root module's path; every other module's path is below it.
const Root = "github.com/clerkgate/clerkgate"

// unreleasedTop are the top-level folders whose modules serve the
// repository's own development and are never tagged: their tests need the
// whole tree (other modules' folders, Node.js, a browser), and their
// go.mod replace lines would stop `go install pkg@version` anyway.
var unreleasedTop = []string{"bench", "e2e", "examples", "parity", "soak"}

// Module is one go.mod of the repository.
type Module struct {
	Dir  string // slash-separated, relative to the repository; "." for the root
	Path string
	File *modfile.File
}

// Released reports whether the module is tagged and published. A module is
// released unless it lives under one of the development folders or under
// an internal folder; a new module elsewhere is released without further
// ado, so that the release simulation covers it.
func (m Module) Released() bool {
	elems := strings.Split(m.Dir, "/")
	return !slices.Contains(unreleasedTop, elems[0]) && !slices.Contains(elems, "internal")
}

// Find returns the repository's modules, the root first, then by folder.
// It skips folders the go command ignores (testdata, names starting with
// "." or "_") and node_modules.
func Find(repo string) ([]Module, error) {
	var mods []Module
	err := filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if p != repo && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Name() != "go.mod" {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repo, filepath.Dir(p))
		if err != nil {
			return err
		}
		if f.Module == nil {
			return fmt.Errorf("%s: no module line", p)
		}
		mods = append(mods, Module{Dir: filepath.ToSlash(rel), Path: f.Module.Mod.Path, File: f})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(mods, func(a, b Module) int {
		if (a.Dir == ".") != (b.Dir == ".") {
			if a.Dir == "." {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Dir, b.Dir)
	})
	if len(mods) == 0 || mods[0].Dir != "." || mods[0].Path != Root {
		return nil, fmt.Errorf("%s: no go.mod for %s at the top", repo, Root)
	}
	return mods, nil
}

// PathFor is the module path a folder's module must have.
func PathFor(dir string) string {
	if dir == "." {
		return Root
	}
	return Root + "/" + dir
}

// ReleaseVersion is the one version at which the modules require their
// siblings: the version about to be released.
func ReleaseVersion(mods []Module) (string, error) {
	paths := make(map[string]bool, len(mods))
	for _, m := range mods {
		paths[m.Path] = true
	}
	seen := map[string][]string{} // version -> "module requires sibling"
	for _, m := range mods {
		for _, r := range m.File.Require {
			if paths[r.Mod.Path] {
				seen[r.Mod.Version] = append(seen[r.Mod.Version], m.Path+" requires "+r.Mod.Path)
			}
		}
	}
	switch len(seen) {
	case 0:
		return "", errors.New("no module requires another: nothing says which version is next")
	case 1:
		for v := range seen {
			if semver.Canonical(v) != v || module.IsPseudoVersion(v) {
				return "", fmt.Errorf("siblings are required at %s, which is not a version to tag (vMAJOR.MINOR.PATCH[-PRERELEASE])", v)
			}
			return v, nil
		}
	}
	var b strings.Builder
	for v, who := range seen {
		fmt.Fprintf(&b, "\n  %s: %s", v, strings.Join(who, ", "))
	}
	return "", fmt.Errorf("modules require their siblings at different versions (run internal/tools/cmd/setversion):%s", b.String())
}

// Files lists the files of the working tree that a release of the module
// would hold: those git tracks or would track (not ignored), as they are
// now, below the module's folder. Files of nested modules are among them;
// golang.org/x/mod/zip leaves those out, as the go command does.
func Files(repo string, m Module) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", m.Dir)
	cmd.Dir = repo
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git ls-files in %s: %w: %s", repo, err, stderr.Bytes())
	}
	var files []string
	for _, f := range strings.Split(string(out), "\x00") {
		if f == "" {
			continue
		}
		// Tracked but deleted in the working tree: not part of it.
		if _, err := os.Lstat(filepath.Join(repo, filepath.FromSlash(f))); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if m.Dir != "." {
			f = strings.TrimPrefix(f, m.Dir+"/")
		}
		files = append(files, path.Clean(f))
	}
	return files, nil
}
