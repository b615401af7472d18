// Command setversion sets the version at which every module of the
// repository requires its siblings: the version about to be released.
// RELEASING.md says when to run it.
//
//	go run ./internal/tools/cmd/setversion -repo . v0.2.0
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/clerkgate/clerkgate/internal/tools/modules"
)

func main() {
	repo := flag.String("repo", ".", "the repository's top folder")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: setversion [-repo DIR] vMAJOR.MINOR.PATCH")
		flag.PrintDefaults()
	}
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("setversion: ")
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*repo, flag.Arg(0)); err != nil {
		log.Fatal(err)
	}
}

func run(repo, version string) error {
	if semver.Canonical(version) != version || module.IsPseudoVersion(version) {
		return fmt.Errorf("%q is not a version to tag (vMAJOR.MINOR.PATCH[-PRERELEASE])", version)
	}
	mods, err := modules.Find(repo)
	if err != nil {
		return err
	}
	siblings := make(map[string]bool, len(mods))
	for _, m := range mods {
		siblings[m.Path] = true
	}
	for _, m := range mods {
		changed := false
		for _, r := range m.File.Require {
			if siblings[r.Mod.Path] && r.Mod.Version != version {
				if err := m.File.AddRequire(r.Mod.Path, version); err != nil {
					return err
				}
				changed = true
			}
		}
		if !changed {
			continue
		}
		m.File.Cleanup()
		data, err := m.File.Format()
		if err != nil {
			return err
		}
		name := filepath.Join(repo, filepath.FromSlash(m.Dir), "go.mod")
		if err := os.WriteFile(name, data, 0o644); err != nil {
			return err
		}
		log.Printf("%s: siblings at %s", name, version)
	}
	return nil
}
