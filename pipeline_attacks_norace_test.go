//go:build !race

package clerkgate_test

// hostileCPUSlack: without the race detector, TestReviewHostilePageLoads'
// CPU bounds hold as written (see hostile_race_test.go).
const hostileCPUSlack = 1
