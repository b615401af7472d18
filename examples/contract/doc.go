// Package contract holds the HTTP contract that every example server
// (examples/nethttp, examples/gin, examples/echo, examples/fiber) must
// honour. Its test builds each example, starts it as a process in dev mode
// and runs one suite of subtests against all of them over real HTTP:
// valid, missing, forged and expired tokens, refresh with Set-Cookie, the
// sessions listing and logout. It also checks that every refusal is the
// same bytes on the wire whichever framework served it.
//
// The package is a module of its own, never released, and imports none of
// gin, echo or Fiber: it knows the servers only by their behaviour. It
// needs the go command, and builds each example in its folder as the
// example's own module.
package contract
