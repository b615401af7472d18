package modules_test

import (
	"flag"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/clerkgate/clerkgate/internal/tools/modules"
)

// These tests hold the repository to its layout. This module is never
// released, so they may read the whole tree around it.
const repo = "../../.."

var update = flag.Bool("update", false, "rewrite the copies TestCopies checks")

func find(t *testing.T) []modules.Module {
	t.Helper()
	mods, err := modules.Find(repo)
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

func TestModulePathsFollowFolders(t *testing.T) {
	for _, m := range find(t) {
		if want := modules.PathFor(m.Dir); m.Path != want {
			t.Errorf("%s/go.mod: module %s, want %s", m.Dir, m.Path, want)
		}
	}
}

func TestReleasedModules(t *testing.T) {
	var released []string
	for _, m := range find(t) {
		if m.Released() {
			released = append(released, m.Dir)
		}
	}
	for _, want := range []string{".", "adapters/gin", "adapters/echo", "adapters/echov5", "stores/redis"} {
		if !slices.Contains(released, want) {
			t.Errorf("%s is not released; released: %v", want, released)
		}
	}
	for _, dir := range []string{"examples/gin", "examples/contract", "examples/internal/exampleapp", "soak", "bench", "parity", "e2e/browser", "internal/tools"} {
		if (modules.Module{Dir: dir}).Released() {
			t.Errorf("%s would be released", dir)
		}
	}
	// A module added elsewhere is released without an edit here.
	if !(modules.Module{Dir: "otel"}).Released() || !(modules.Module{Dir: "adapters/grpc"}).Released() {
		t.Error("a new library module would not be released")
	}
}

// RELEASING.md names every released module, so that whoever tags by hand
// from its list tags them all.
func TestReleaseNotesNameEveryReleasedModule(t *testing.T) {
	notes, err := os.ReadFile(filepath.Join(repo, "RELEASING.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range find(t) {
		if m.Released() && m.Dir != "." && !strings.Contains(string(notes), "`"+m.Dir+"`") {
			t.Errorf("RELEASING.md does not name the released module `%s`", m.Dir)
		}
	}
}

// Every module requires its siblings at the version about to be released
// and replaces each with its folder, so that it builds with GOWORK=off.
func TestSiblingsAtTheReleaseVersionAndReplaced(t *testing.T) {
	mods := find(t)
	version, err := modules.ReleaseVersion(mods)
	if err != nil {
		t.Fatal(err)
	}
	dirs := map[string]string{}
	for _, m := range mods {
		dirs[m.Path] = m.Dir
	}
	for _, m := range mods {
		replaced := map[string]string{}
		for _, r := range m.File.Replace {
			if r.Old.Version != "" {
				t.Errorf("%s/go.mod: replace of %s@%s: replace siblings at every version", m.Dir, r.Old.Path, r.Old.Version)
			}
			replaced[r.Old.Path] = r.New.Path
		}
		for _, r := range m.File.Require {
			dir, sibling := dirs[r.Mod.Path]
			if !sibling {
				continue
			}
			if r.Mod.Version != version {
				t.Errorf("%s/go.mod requires %s %s, want %s", m.Dir, r.Mod.Path, r.Mod.Version, version)
			}
			want, err := filepath.Rel(filepath.FromSlash(m.Dir), filepath.FromSlash(dir))
			if err != nil {
				t.Fatal(err)
			}
			if got := replaced[r.Mod.Path]; got != filepath.ToSlash(want) {
				t.Errorf("%s/go.mod: %s is replaced by %q, want %q", m.Dir, r.Mod.Path, got, filepath.ToSlash(want))
			}
		}
		for old := range replaced {
			if _, sibling := dirs[old]; sibling && !slices.ContainsFunc(m.File.Require, func(r *modfile.Require) bool { return r.Mod.Path == old }) {
				t.Errorf("%s/go.mod replaces %s, which it does not require", m.Dir, old)
			}
		}
	}
}

// A module that imported another module's internal package would break
// as soon as the two were used at different versions.
func TestNoModuleImportsAnotherModulesInternalPackages(t *testing.T) {
	mods := find(t)
	owner := func(importPath string) *modules.Module {
		var best *modules.Module
		for i, m := range mods {
			if (importPath == m.Path || strings.HasPrefix(importPath, m.Path+"/")) && (best == nil || len(m.Path) > len(best.Path)) {
				best = &mods[i]
			}
		}
		return best
	}
	checked := 0
	for _, m := range mods {
		root := filepath.Join(repo, filepath.FromSlash(m.Dir))
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				if p != root {
					if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
						return filepath.SkipDir // another module's folder
					}
					if name := d.Name(); name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
						return filepath.SkipDir
					}
				}
				return nil
			}
			if !strings.HasSuffix(p, ".go") {
				return nil
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			checked++
			for _, imp := range f.Imports {
				ip, err := strconv.Unquote(imp.Path.Value)
				if err != nil {
					return err
				}
				o := owner(ip)
				if o == nil || o.Path == m.Path {
					continue
				}
				if rest := strings.TrimPrefix(ip, o.Path); slices.Contains(strings.Split(rest, "/"), "internal") {
					t.Errorf("%s imports %s, an internal package of module %s", p, ip, o.Path)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d Go files", checked)
	}
}

// go.work names every module, so that `go run ./examples/nethttp` and
// `go test ./examples/contract` work from the top of the repository.
func TestGoWorkUsesEveryModule(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repo, "go.work"))
	if err != nil {
		t.Fatal(err)
	}
	w, err := modfile.ParseWork("go.work", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	var used, dirs []string
	for _, u := range w.Use {
		used = append(used, path.Clean(u.Path))
	}
	for _, m := range find(t) {
		dirs = append(dirs, m.Dir)
	}
	slices.Sort(used)
	slices.Sort(dirs)
	if !slices.Equal(used, dirs) {
		t.Errorf("go.work uses %v\nthe modules are %v\n(go work use -r . fixes it)", used, dirs)
	}
}

// copies are the root module's internal packages that another module
// needs: it keeps a copy under its own internal folder, generated from
// the root's and never edited by hand.
var copies = map[string]string{
	"internal/expiring": "stores/redis/internal/expiring",
	"internal/redact":   "stores/redis/internal/redact",
	"internal/revoked":  "stores/redis/internal/revoked",
}

func TestCopies(t *testing.T) {
	for from, to := range copies {
		names, err := filepath.Glob(filepath.Join(repo, from, "*.go"))
		if err != nil || len(names) == 0 {
			t.Fatalf("%s: no Go files (%v)", from, err)
		}
		want := map[string][]byte{}
		for _, n := range names {
			src, err := os.ReadFile(n)
			if err != nil {
				t.Fatal(err)
			}
			base := filepath.Base(n)
			header := "// Code generated from the root module's " + from + "/" + base +
				" by internal/tools (go test -run TestCopies -update); DO NOT EDIT.\n\n"
			want[base] = append([]byte(header), src...)
		}
		got, err := filepath.Glob(filepath.Join(repo, to, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			for _, g := range got {
				if err := os.Remove(g); err != nil {
					t.Fatal(err)
				}
			}
			for base, data := range want {
				if err := os.WriteFile(filepath.Join(repo, to, base), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		if len(got) != len(want) {
			t.Errorf("%s holds %d Go files, %s %d (go test -run TestCopies -update)", to, len(got), from, len(want))
		}
		for _, g := range got {
			data, err := os.ReadFile(g)
			if err != nil {
				t.Fatal(err)
			}
			if w, ok := want[filepath.Base(g)]; !ok || string(w) != string(data) {
				t.Errorf("%s is not a copy of %s/%s (go test -run TestCopies -update)", g, from, filepath.Base(g))
			}
		}
	}
}
