module github.com/clerkgate/clerkgate/examples/echo

go 1.26.0

require (
	github.com/clerkgate/clerkgate v0.1.0
	github.com/clerkgate/clerkgate/adapters/echo v0.1.0
	github.com/clerkgate/clerkgate/examples/internal/exampleapp v0.1.0
	github.com/clerkgate/clerkgate/stores/redis v0.1.0
	github.com/labstack/echo/v4 v4.16.0
)

require (
	filippo.io/bigmod v0.1.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/labstack/gommon v0.5.0 // indirect
	github.com/mattn/go-colorable v0.1.15 // indirect
	github.com/mattn/go-isatty v0.0.22 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasttemplate v1.2.2 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.53.0 // indirect
	golang.org/x/net v0.56.0 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.40.0 // indirect
	golang.org/x/time v0.15.0 // indirect
)

replace (
	github.com/clerkgate/clerkgate => ../..
	github.com/clerkgate/clerkgate/adapters/echo => ../../adapters/echo
	github.com/clerkgate/clerkgate/examples/internal/exampleapp => ../internal/exampleapp
	github.com/clerkgate/clerkgate/stores/redis => ../../stores/redis
)
