package clerkgate_test

import (
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/verifier"
)

// TestNilClaimsAnswerAsNoSession calls every method of clerkgate.Claims
// and verifier.Claims on a nil receiver (reflection finds them, so a method
// added later is held to it too): none panics, and each answers as for no
// session.
func TestNilClaimsAnswerAsNoSession(t *testing.T) {
	t.Parallel()
	for _, nilClaims := range []any{(*clerkgate.Claims)(nil), (*verifier.Claims)(nil)} {
		v := reflect.ValueOf(nilClaims)
		require.Positive(t, v.NumMethod())
		for i := range v.NumMethod() {
			name := fmt.Sprintf("%T.%s", nilClaims, v.Type().Method(i).Name)
			m := v.Method(i)
			var in []reflect.Value
			for j := range m.Type().NumIn() {
				switch arg := m.Type().In(j); arg.Kind() {
				case reflect.String:
					in = append(in, reflect.ValueOf("org:admin"))
				case reflect.Interface: // Decode's target
					target := map[string]any{"kept": true}
					in = append(in, reflect.ValueOf(&target))
				default:
					t.Fatalf("%s: no argument of kind %s", name, arg.Kind())
				}
			}
			var out []reflect.Value
			require.NotPanics(t, func() { out = m.Call(in) }, name)
			for _, o := range out {
				switch x := o.Interface().(type) {
				case bool:
					require.False(t, x, name)
				case time.Time:
					require.True(t, x.IsZero(), name)
				case error:
					require.NoError(t, x, name)
				default:
					require.True(t, o.IsZero(), "%s returned %v", name, x)
				}
			}
			if len(in) == 1 && in[0].Kind() == reflect.Pointer && in[0].Elem().Kind() == reflect.Map {
				require.Equal(t, map[string]any{"kept": true}, in[0].Elem().Interface(), "%s changed its target", name)
			}
		}
	}
}

// TestREADMEPatternBehindOptionalSession: the README's handler, behind
// OptionalSession, serves an anonymous request over HTTP (it used to
// panic on claims.HasRole and answer nothing).
func TestREADMEPatternBehindOptionalSession(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	srv := serve(t, b.gate.Accept(clerkgate.SessionToken).Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		caller, _ := clerkgate.CallerFromContext(r.Context())
		fmt.Fprintf(w, "user %q admin %v", caller.Subject(), claims.HasRole("org:admin"))
	})))
	rep := get(t, srv.URL, nil)
	require.Equal(t, http.StatusOK, rep.status)
	require.Equal(t, `user "" admin false`, rep.body)
}
