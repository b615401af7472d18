module github.com/clerkgate/clerkgate/examples/fiber

go 1.26.0

require (
	github.com/clerkgate/clerkgate v0.1.0
	github.com/clerkgate/clerkgate/adapters/fiber v0.1.0
	github.com/clerkgate/clerkgate/examples/internal/exampleapp v0.1.0
	github.com/clerkgate/clerkgate/stores/redis v0.1.0
	github.com/gofiber/fiber/v3 v3.1.0
)

require (
	filippo.io/bigmod v0.1.0 // indirect
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/gofiber/schema v1.7.0 // indirect
	github.com/gofiber/utils/v2 v2.0.2 // indirect
	github.com/google/uuid v1.6.0 // indirect
	github.com/hashicorp/golang-lru/v2 v2.0.7 // indirect
	github.com/klauspost/compress v1.20.4 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	github.com/molecule-man/go-brrr v1.3.1 // indirect
	github.com/philhofer/fwd v1.2.0 // indirect
	github.com/redis/go-redis/v9 v9.23.0 // indirect
	github.com/tinylib/msgp v1.6.3 // indirect
	github.com/valyala/bytebufferpool v1.0.0 // indirect
	github.com/valyala/fasthttp v1.74.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/sync v0.24.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

replace (
	github.com/clerkgate/clerkgate => ../..
	github.com/clerkgate/clerkgate/adapters/fiber => ../../adapters/fiber
	github.com/clerkgate/clerkgate/examples/internal/exampleapp => ../internal/exampleapp
	github.com/clerkgate/clerkgate/stores/redis => ../../stores/redis
)
