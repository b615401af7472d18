module github.com/clerkgate/clerkgate/internal/tools

go 1.25.0

require golang.org/x/mod v0.37.0
