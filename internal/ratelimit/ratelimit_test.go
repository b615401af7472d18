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

func TestReserve(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := New(10, 2)
	for i := range 2 {
		if wait, ok := b.Reserve(t0, time.Second); !ok || wait != 0 {
			t.Fatalf("reserve %d of a burst of 2: wait %v ok %v", i+1, wait, ok)
		}
	}
	// At 10/s the next tokens are 100 ms apart.
	for i := 1; i <= 10; i++ {
		wait, ok := b.Reserve(t0, time.Second)
		if !ok || wait != time.Duration(i)*100*time.Millisecond {
			t.Fatalf("reserve %d past the burst: wait %v ok %v", i, wait, ok)
		}
	}
	if _, ok := b.Reserve(t0, time.Second); ok {
		t.Fatal("a reservation past maxWait passed")
	}
	// Returning a reservation shortens the next wait.
	b.Return()
	if wait, ok := b.Reserve(t0, time.Second); !ok || wait != time.Second {
		t.Fatalf("after a return: wait %v ok %v", wait, ok)
	}
	// Owed tokens are refilled first: one second later the debt is paid.
	if wait, ok := b.Reserve(t0.Add(time.Second), time.Second); !ok || wait != 100*time.Millisecond {
		t.Fatalf("a second later: wait %v ok %v", wait, ok)
	}
	// Return never fills past the burst.
	c := New(1, 1)
	c.Return()
	c.Return()
	if !c.Take(t0) || c.Take(t0) {
		t.Fatal("Return filled the bucket past its burst")
	}
}

func TestTakeAbove(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := New(10, 5)
	for i := range 3 {
		if !b.TakeAbove(t0, 2) {
			t.Fatalf("take %d of the 3 above a floor of 2 refused", i+1)
		}
	}
	if b.TakeAbove(t0, 2) {
		t.Fatal("a take above the floor spent into it")
	}
	// What the floor keeps is there for the others.
	if !b.Take(t0) || !b.Take(t0) || b.Take(t0) {
		t.Fatal("the floor of 2 was not left for Take")
	}
	// Refilled tokens go to the floor first: 0.25 s at 10/s is 2.5
	// tokens, the floor and half a token above it.
	if b.TakeAbove(t0.Add(250*time.Millisecond), 2) {
		t.Fatal("a take above the floor passed before the floor was refilled")
	}
	if !b.TakeAbove(t0.Add(300*time.Millisecond), 2) {
		t.Fatal("3 tokens refilled, yet the take above a floor of 2 was refused")
	}
	// Tokens reserved ahead are debts below any floor: none is taken
	// above it until they are paid.
	c := New(1, 1)
	if _, ok := c.Reserve(t0, 0); !ok {
		t.Fatal("the burst of 1 refused")
	}
	if _, ok := c.Reserve(t0, 2*time.Second); !ok {
		t.Fatal("a reservation 1 s ahead refused")
	}
	if c.TakeAbove(t0.Add(time.Second), 0) {
		t.Fatal("a take above the floor spent a token reserved ahead")
	}
	if !c.TakeAbove(t0.Add(2*time.Second), 0) {
		t.Fatal("the debt paid and a token refilled, yet the take was refused")
	}
}
