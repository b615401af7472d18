package ratelimit

import (
	"testing"
	"time"
)

func TestBucket(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := New(2, 3)
	for i := range 3 {
		if !b.Take(t0) {
			t.Fatalf("take %d of a burst of 3 refused", i+1)
		}
	}
	if b.Take(t0) {
		t.Fatal("a fourth take at the same instant passed")
	}
	if b.Take(t0.Add(400 * time.Millisecond)) {
		t.Fatal("0.8 tokens refilled, yet a take passed")
	}
	if !b.Take(t0.Add(500 * time.Millisecond)) {
		t.Fatal("one token refilled after 0.5 s at 2/s, yet the take was refused")
	}
	// A clock stepping back refills nothing.
	if b.Take(t0) {
		t.Fatal("a clock stepping back refilled the bucket")
	}
	// A long pause refills only up to the burst.
	later := t0.Add(time.Hour)
	for i := range 3 {
		if !b.Take(later) {
			t.Fatalf("take %d after an hour refused", i+1)
		}
	}
	if b.Take(later) {
		t.Fatal("the bucket refilled past its burst")
	}
	var zero Bucket
	if zero.Take(t0) {
		t.Fatal("the zero Bucket let a call through")
	}
}
