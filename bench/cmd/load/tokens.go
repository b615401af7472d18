package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clerkgate/clerkgate/clerktest"
)

// minter mints session tokens for a pool of signed-in users of the
// in-process fake Clerk instance. The tokens are Clerk's version 2 format,
// whose random jti makes every token distinct. Minting is an RSA-2048
// signature, about a millisecond of CPU, so it always happens outside the
// timed phases.
type minter struct {
	fake     *clerktest.Server
	sessions []string
}

func newMinter(fake *clerktest.Server, users int) *minter {
	m := &minter{fake: fake}
	for i := range users {
		m.sessions = append(m.sessions, fake.CreateSession(fmt.Sprintf("user_load_%04d", i)).ID)
	}
	return m
}

func (m *minter) mint(i int64, lifetime time.Duration) string {
	return m.fake.Token(m.sessions[i%int64(len(m.sessions))], clerktest.V2(), clerktest.ExpiresIn(lifetime))
}

// mintAll mints n tokens on workers goroutines.
func (m *minter) mintAll(n int64, workers int, lifetime time.Duration, progress progressFunc) []string {
	out := make([]string, n)
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				out[i] = m.mint(i, lifetime)
				done.Add(1)
			}
		}()
	}
	waitWithProgress(&wg, &done, progress)
	return out
}

// stream mints n tokens in the background, on workers goroutines, and
// hands them out through the returned channel, which is closed after the
// last one. Tokens are used seconds after they are minted, so they carry
// Clerk's real 60-second lifetime. stop ends minting early.
func (m *minter) stream(n int64, workers int) (tokens <-chan string, stop func()) {
	ch := make(chan string, 1024)
	quit := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < n; i = next.Add(1) - 1 {
				select {
				case ch <- m.mint(i, clerktest.DefaultTokenLifetime):
				case <-quit:
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(ch) }()
	var once sync.Once
	return ch, func() { once.Do(func() { close(quit) }) }
}

// waitWithProgress waits for wg, reporting done every second.
func waitWithProgress(wg *sync.WaitGroup, done *atomic.Int64, progress progressFunc) {
	start := time.Now()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-finished:
			return
		case <-tick.C:
			if progress != nil {
				progress(done.Load(), time.Since(start))
			}
		}
	}
}
