package redisstore

import (
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// localCache is a bounded LRU whose entries expire, read on the hot path
// (revocations) without any network. It starts no goroutine: expired
// entries go when read, and the bound caps memory either way.
type localCache[V any] struct {
	lru *lru.Cache[string, entry[V]]
	now func() time.Time
}

type entry[V any] struct {
	value V
	until time.Time
}

func newLocalCache[V any](size int, now func() time.Time) *localCache[V] {
	c, err := lru.New[string, entry[V]](size)
	if err != nil {
		panic("redisstore: " + err.Error()) // sizes are validated by New
	}
	return &localCache[V]{lru: c, now: now}
}

// add keeps value until the deadline; a later deadline never shrinks.
func (c *localCache[V]) add(key string, value V, until time.Time) {
	if old, ok := c.lru.Peek(key); ok && old.until.After(until) {
		until = old.until
	}
	c.lru.Add(key, entry[V]{value, until})
}

func (c *localCache[V]) get(key string) (V, bool) {
	e, ok := c.lru.Get(key)
	if !ok {
		var zero V
		return zero, false
	}
	if !c.now().Before(e.until) {
		c.lru.Remove(key)
		var zero V
		return zero, false
	}
	return e.value, true
}
