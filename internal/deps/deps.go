//go:build tools

// Package deps pins the module's dependencies while the packages that use
// them are being written. Delete it once every dependency has a real import.
package deps

import (
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/lestrrat-go/jwx/v2/jwk"
	_ "github.com/lestrrat-go/jwx/v2/jws"
	_ "go.uber.org/goleak"
	_ "golang.org/x/sync/singleflight"
)
