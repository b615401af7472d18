// Command releasesim rehearses a release: it serves every released module
// of the working tree at the version the go.mod files name, from a module
// proxy in a temporary folder, and then, in a fresh module outside the
// repository with an empty module cache, does what a user does on the day
// of the release: `go get` each module at that version, build a program
// that imports every package they hold, compile every test they ship, and
// run the tests of a package that reads the root's testdata.
//
// It fails when a released go.mod requires a version no tag provides, when
// a module needs a file outside its own zip (another module's folder,
// go.work, a sibling's internal package), or when a test needs what the
// zip lacks.
//
//	cd internal/tools && go run ./cmd/releasesim -repo ../..
//
// With -list it only prints the folders of the released modules, which
// RELEASING.md tags.
//
// It needs git (the files of a module are those git tracks or would
// track) and a module proxy for third-party modules: the machine's module
// cache first, then GOPROXY.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"github.com/clerkgate/clerkgate/internal/tools/modules"
)

func main() {
	repo := flag.String("repo", ".", "the repository's top folder")
	keep := flag.Bool("keep", false, "keep the proxy and the user's module for a look afterwards")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	list := flag.Bool("list", false, "only print the folders of the released modules, the root first")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("releasesim: ")
	if *list {
		if err := printReleased(*repo); err != nil {
			log.Fatal(err)
		}
		return
	}

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *repo, *keep); err != nil {
		log.Fatal(err)
	}
}

func printReleased(repo string) error {
	mods, err := modules.Find(repo)
	if err != nil {
		return err
	}
	for _, m := range mods {
		if m.Released() {
			fmt.Println(m.Dir)
		}
	}
	return nil
}

func run(ctx context.Context, repo string, keep bool) error {
	start := time.Now()
	repo, err := filepath.Abs(repo)
	if err != nil {
		return err
	}
	mods, err := modules.Find(repo)
	if err != nil {
		return err
	}
	version, err := modules.ReleaseVersion(mods)
	if err != nil {
		return err
	}
	var released []modules.Module
	for _, m := range mods {
		if m.Released() {
			released = append(released, m)
		}
	}

	work, err := os.MkdirTemp("", "releasesim-")
	if err != nil {
		return err
	}
	if keep {
		log.Printf("keeping %s", work)
	}
	proxy := filepath.Join(work, "proxy")
	for _, m := range released {
		if err := publish(proxy, repo, m, version); err != nil {
			return fmt.Errorf("%s: %w", m.Path, err)
		}
	}
	log.Printf("serving %d modules at %s (%v)", len(released), version, time.Since(start).Round(time.Millisecond))

	u, err := newUser(ctx, work, proxy)
	if err != nil {
		return err
	}
	defer func() {
		if !keep {
			// The module cache is read-only, as a user's is; go clean
			// knows how to remove it.
			_ = u.goCmd(context.Background(), "clean", "-modcache")
			os.RemoveAll(work)
		}
	}()
	if err := u.try(ctx, released, version); err != nil {
		return err
	}
	log.Printf("ok: a user can go get %s at %s (%v)", strings.Join(paths(released), ", "), version, time.Since(start).Round(time.Second))
	return nil
}

func paths(mods []modules.Module) []string {
	var ps []string
	for _, m := range mods {
		ps = append(ps, m.Path)
	}
	return ps
}

// publish writes module m at version into the proxy folder, laid out as
// the GOPROXY protocol's file:// form expects.
func publish(proxy, repo string, m modules.Module, version string) error {
	escaped, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	dir := filepath.Join(proxy, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	names, err := modules.Files(repo, m)
	if err != nil {
		return err
	}
	modDir := filepath.Join(repo, filepath.FromSlash(m.Dir))
	files := make([]zip.File, 0, len(names))
	for _, n := range names {
		files = append(files, file{dir: modDir, path: n})
	}
	var z bytes.Buffer
	if err := zip.Create(&z, module.Version{Path: m.Path, Version: version}, files); err != nil {
		return err
	}
	goMod, err := os.ReadFile(filepath.Join(modDir, "go.mod"))
	if err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		version + ".zip":  z.Bytes(),
		version + ".mod":  goMod,
		version + ".info": info,
		"list":            []byte(version + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// file is a file of the working tree, as golang.org/x/mod/zip reads one.
type file struct{ dir, path string }

func (f file) Path() string { return f.path }
func (f file) Lstat() (os.FileInfo, error) {
	return os.Lstat(filepath.Join(f.dir, filepath.FromSlash(f.path)))
}
func (f file) Open() (io.ReadCloser, error) {
	return os.Open(filepath.Join(f.dir, filepath.FromSlash(f.path)))
}

// user is a fresh module outside the repository, with its own module cache,
// that sees the simulated release first and the world's modules after it.
type user struct {
	dir string
	env []string
}

func newUser(ctx context.Context, work, proxy string) (*user, error) {
	u := &user{dir: filepath.Join(work, "user")}
	if err := os.MkdirAll(u.dir, 0o755); err != nil {
		return nil, err
	}
	// Third-party modules come from the machine's module cache when it has
	// them (offline, fast), else from the configured proxy.
	out, err := exec.CommandContext(ctx, "go", "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	env := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(env) != 2 {
		return nil, fmt.Errorf("go env: unexpected output %q", out)
	}
	goproxy := "file://" + filepath.ToSlash(proxy) + ",file://" + filepath.ToSlash(filepath.Join(env[0], "cache", "download"))
	if env[1] != "" && env[1] != "off" {
		goproxy += "," + env[1]
	}
	u.env = append(os.Environ(),
		"GOWORK=off",
		// -trimpath keeps the build cache's entries independent of where
		// the module cache is, so that a second run compiles nothing anew.
		"GOFLAGS=-mod=mod -trimpath",
		"GOPROXY="+goproxy,
		// The simulated release is not the one the checksum database will
		// know; every other module is checked as usual.
		"GONOSUMDB="+modules.Root,
		"GOPRIVATE=", "GONOPROXY=",
		"GOMODCACHE="+filepath.Join(work, "modcache"),
	)
	if err := u.goCmd(ctx, "mod", "init", "example.com/user"); err != nil {
		return nil, err
	}
	return u, nil
}

func (u *user) goCmd(ctx context.Context, args ...string) error {
	_, err := u.goOut(ctx, args...)
	return err
}

func (u *user) goOut(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = u.dir
	cmd.Env = u.env
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go %s: %w\n%s%s", strings.Join(args, " "), err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.String(), nil
}

// try does what a user does with the release.
func (u *user) try(ctx context.Context, released []modules.Module, version string) error {
	start := time.Now()
	// One module at a time, the root first, as users add them: each go get
	// must find every requirement of what it adds.
	for _, m := range released {
		if err := u.goCmd(ctx, "get", m.Path+"@"+version); err != nil {
			return err
		}
	}
	log.Printf("go get of each module (%v)", time.Since(start).Round(time.Second))
	out, err := u.goOut(ctx, "list", "-m", "-f", "{{.Path}} {{.Version}}", "all")
	if err != nil {
		return err
	}
	for _, m := range released {
		if !strings.Contains(out, m.Path+" "+version+"\n") {
			return fmt.Errorf("the user's build list lacks %s %s:\n%s", m.Path, version, out)
		}
	}

	// Every package of every released module, from the module cache.
	var pkgs []string
	for _, m := range released {
		out, err := u.goOut(ctx, "list", "-f", "{{if ne .Name \"main\"}}{{.ImportPath}}{{end}}", m.Path+"/...")
		if err != nil {
			return err
		}
		for _, p := range strings.Fields(out) {
			// m.Path/... also matches the packages of modules nested in m.
			if owner(p, released) == m.Path && !slices.Contains(pkgs, p) {
				pkgs = append(pkgs, p)
			}
		}
	}
	var prog strings.Builder
	prog.WriteString("// Command user imports every package of the release.\npackage main\n\nimport (\n")
	imported := 0
	for _, p := range pkgs {
		if !slices.Contains(strings.Split(p, "/"), "internal") {
			fmt.Fprintf(&prog, "\t_ %q\n", p)
			imported++
		}
	}
	prog.WriteString(")\n\nfunc main() {}\n")
	if err := os.WriteFile(filepath.Join(u.dir, "main.go"), []byte(prog.String()), 0o644); err != nil {
		return err
	}
	if err := u.goCmd(ctx, "build", "-o", os.DevNull, "."); err != nil {
		return err
	}
	log.Printf("built a program importing %d packages (%v)", imported, time.Since(start).Round(time.Second))

	// Every test they ship compiles (and passes vet) against the release:
	// test helpers and test dependencies come from released modules too.
	if err := u.goCmd(ctx, append([]string{"test", "-count=1", "-run", "^$"}, pkgs...)...); err != nil {
		return err
	}
	log.Printf("compiled the tests of %d packages (%v)", len(pkgs), time.Since(start).Round(time.Second))
	// And a test that reads the root's testdata (relative to its package
	// folder, as go test runs it) finds it in the zip.
	return u.goCmd(ctx, "test", "-count=1", modules.Root+"/jwks")
}

// owner is the released module that holds package p: the longest module
// path that is p or a prefix of it.
func owner(p string, mods []modules.Module) string {
	best := ""
	for _, m := range mods {
		if (p == m.Path || strings.HasPrefix(p, m.Path+"/")) && len(m.Path) > len(best) {
			best = m.Path
		}
	}
	return best
}
