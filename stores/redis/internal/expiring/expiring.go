// Code generated from the root module's internal/expiring/expiring.go by internal/tools (go test -run TestCopies -update); DO NOT EDIT.

// Package expiring is a bounded LRU whose entries also expire.
//
// golang-lru's own expirable LRU starts a sweeper goroutine that never
// exits; this one starts none. Expired entries are dropped when they are
// read, and the LRU bound caps memory either way.
package expiring

import (
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache maps keys to values until a per-entry deadline. It is safe for
// concurrent use.
type Cache[K comparable, V any] struct {
	lru *lru.Cache[K, entry[V]]
	now func() time.Time
	// latest is the latest deadline ever added, in Unix nanoseconds, or 0
	// before the first Add. Once it has passed, every entry has expired,
	// and Get answers without the LRU's lock: a revocation list is read on
	// every request and is empty nearly all the time.
	latest atomic.Int64
}

type entry[V any] struct {
	value V
	until time.Time
}

// New returns a cache holding at most size entries. now is the clock; nil
// means time.Now.
func New[K comparable, V any](size int, now func() time.Time) *Cache[K, V] {
	if now == nil {
		now = time.Now
	}
	c, err := lru.New[K, entry[V]](size)
	if err != nil {
		// lru.New fails only for a non-positive size, which callers validate.
		panic("expiring: " + err.Error())
	}
	return &Cache[K, V]{lru: c, now: now}
}

// Add stores value under key until the deadline. A deadline already held
// for key is never shortened: a revocation heard twice, late and early,
// lasts until the later of the two.
func (c *Cache[K, V]) Add(key K, value V, until time.Time) {
	if old, ok := c.lru.Peek(key); ok && old.until.After(until) {
		until = old.until
	}
	// Raise latest before the entry becomes visible, so that a Get that
	// sees the entry cannot have skipped the LRU on an older latest.
	for u := until.UnixNano(); ; {
		l := c.latest.Load()
		if l >= u || c.latest.CompareAndSwap(l, u) {
			break
		}
	}
	c.lru.Add(key, entry[V]{value, until})
}

// Get returns the value for key if it is present and its deadline has not
// passed.
func (c *Cache[K, V]) Get(key K) (V, bool) {
	var zero V
	if l := c.latest.Load(); l == 0 || c.now().UnixNano() >= l {
		return zero, false
	}
	e, ok := c.lru.Get(key)
	if !ok {
		return zero, false
	}
	if !c.now().Before(e.until) {
		c.lru.Remove(key)
		return zero, false
	}
	return e.value, true
}

// Remove drops key.
func (c *Cache[K, V]) Remove(key K) { c.lru.Remove(key) }

// Len is the number of entries held, expired ones included until read.
func (c *Cache[K, V]) Len() int { return c.lru.Len() }
