module github.com/clerkgate/clerkgate

go 1.25.0
