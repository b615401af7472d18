module github.com/clerkgate/clerkgate/examples/nethttp

go 1.26.0

require (
	github.com/clerkgate/clerkgate v0.1.0
	github.com/clerkgate/clerkgate/examples/internal/exampleapp v0.1.0
	github.com/clerkgate/clerkgate/stores/redis v0.1.0
)

require (
	filippo.io/bigmod v0.1.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/sync v0.20.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/clerkgate/clerkgate => ../..
	github.com/clerkgate/clerkgate/examples/internal/exampleapp => ../internal/exampleapp
	github.com/clerkgate/clerkgate/stores/redis => ../../stores/redis
)
