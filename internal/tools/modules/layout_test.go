package modules_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestReadmeLayoutNamesEveryPackage holds the README's layout map to the
// tree, so that it cannot go stale: every folder holding Go code is named by
// a row (itself or a folder above it), and every folder a row names exists.
func TestReadmeLayoutNamesEveryPackage(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repo, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no \"## Layout\" section")
	}
	if next := strings.Index(layout, "\n## "); next >= 0 {
		layout = layout[:next]
	}
	folder := regexp.MustCompile("`([a-z0-9_./-]+)/`")
	var rows []string
	for _, line := range strings.Split(layout, "\n") {
		first, _, ok := strings.Cut(strings.TrimPrefix(line, "| "), " |")
		if !ok || !strings.HasPrefix(line, "| ") {
			continue
		}
		if strings.HasPrefix(first, "`/`") {
			rows = append(rows, ".")
			continue
		}
		for _, m := range folder.FindAllStringSubmatch(first, -1) {
			rows = append(rows, strings.TrimSuffix(m[1], "/"))
		}
	}
	if len(rows) == 0 {
		t.Fatal("README.md's layout table names no folder")
	}
	for _, row := range rows {
		if st, err := os.Stat(filepath.Join(repo, row)); err != nil || !st.IsDir() {
			t.Errorf("README.md's layout names %s/, which is not a folder", row)
		}
	}
	named := func(dir string) bool {
		for _, row := range rows {
			if dir == row || (row != "." && strings.HasPrefix(dir, row+"/")) {
				return true
			}
		}
		return false
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(repo, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && p != repo && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(name, ".go") {
			return nil
		}
		dir, err := filepath.Rel(repo, filepath.Dir(p))
		if err != nil {
			return err
		}
		dir = filepath.ToSlash(dir)
		if !seen[dir] && !named(dir) {
			t.Errorf("README.md's layout names no row for %s/", dir)
		}
		seen[dir] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
