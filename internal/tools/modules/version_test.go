package modules_test

import (
	"strings"
	"testing"

	"golang.org/x/mod/modfile"

	"github.com/clerkgate/clerkgate/internal/tools/modules"
)

func mod(t *testing.T, dir, text string) modules.Module {
	t.Helper()
	f, err := modfile.Parse(dir+"/go.mod", []byte(text), nil)
	if err != nil {
		t.Fatal(err)
	}
	return modules.Module{Dir: dir, Path: f.Module.Mod.Path, File: f}
}

func TestReleaseVersion(t *testing.T) {
	root := mod(t, ".", "module github.com/clerkgate/clerkgate\n")
	at := func(v string) modules.Module {
		return mod(t, "adapters/gin", "module github.com/clerkgate/clerkgate/adapters/gin\nrequire github.com/clerkgate/clerkgate "+v+"\n")
	}
	v, err := modules.ReleaseVersion([]modules.Module{root, at("v0.2.0")})
	if err != nil || v != "v0.2.0" {
		t.Fatalf("got %q, %v; want v0.2.0", v, err)
	}
	if v, err := modules.ReleaseVersion([]modules.Module{root, at("v1.0.0-rc.1")}); err != nil || v != "v1.0.0-rc.1" {
		t.Fatalf("a release candidate: got %q, %v", v, err)
	}
	for name, c := range map[string]struct {
		mods []modules.Module
		want string
	}{
		// What the adapters required before: a version no tag provides.
		"placeholder": {[]modules.Module{root, at("v0.0.0-00010101000000-000000000000")}, "not a version to tag"},
		"pseudo":      {[]modules.Module{root, at("v0.1.1-0.20260101000000-abcdefabcdef")}, "not a version to tag"},
		"disagree": {[]modules.Module{root, at("v0.1.0"),
			mod(t, "stores/redis", "module github.com/clerkgate/clerkgate/stores/redis\nrequire github.com/clerkgate/clerkgate v0.2.0\n")}, "different versions"},
		"none": {[]modules.Module{root}, "nothing says"},
	} {
		if _, err := modules.ReleaseVersion(c.mods); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", name, err, c.want)
		}
	}
}
