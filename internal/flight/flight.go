// Package flight waits for calls shared through a singleflight group
// (golang.org/x/sync/singleflight), which go on for the others when one
// caller stops waiting.
//
//	ch := group.DoChan(key, func() (any, error) { … })
//	v, err := flight.Await[*Result](ctx, ch, 5*time.Second, "refresh")
package flight

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/sync/singleflight"
)

// Await waits for a shared call: its answer, or ctx's end, or d passing
// (what names the call in that error).
func Await[T any](ctx context.Context, ch <-chan singleflight.Result, d time.Duration, what string) (T, error) {
	var zero T
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case out := <-ch:
		if out.Err != nil {
			return zero, out.Err
		}
		return out.Val.(T), nil
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-timer.C:
		return zero, fmt.Errorf("%s: no answer within %s", what, d)
	}
}
