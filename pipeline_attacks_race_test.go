//go:build race

package clerkgate_test

// hostileCPUSlack multiplies the CPU bounds of TestReviewHostilePageLoads
// under the race detector, which instruments every memory access: there
// a CPU ratio counts the bytes each page load touches more than its work,
// and a hostile page load reads kilobytes of cookies that a signed-in one
// (its token's peek remembered since the first page load) does not. The
// bytes and allocations, which the detector does not change, keep their
// bounds. Measured 2026-12-07: the deeply nested cookies 8.4× with it,
// 3.3× without.
const hostileCPUSlack = 3
