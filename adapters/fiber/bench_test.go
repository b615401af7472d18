package clerkfiber_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofiber/fiber/v3"
	"github.com/stretchr/testify/require"
	"github.com/valyala/fasthttp"

	"github.com/clerkgate/clerkgate"
	clerkfiber "github.com/clerkgate/clerkgate/adapters/fiber"
	"github.com/clerkgate/clerkgate/clerktest/adaptertest"
)

// BenchmarkRequireSession is a request with a valid (cached) session
// token through Fiber's handler, in memory: with the adapter, and with no
// middleware at all for the cost of Fiber itself. The Gate's net/http
// middleware served directly is BenchmarkNetHTTPRequireSession.
func BenchmarkRequireSession(b *testing.B) {
	f := adaptertest.New(b)
	token := "Bearer " + f.Token()
	for _, bc := range []struct {
		name   string
		chain  []any
		answer string
	}{
		{"no middleware", nil, ""},
		{"RequireSession", []any{clerkfiber.RequireSession(f.Gate)}, adaptertest.User},
	} {
		b.Run(bc.name, func(b *testing.B) {
			app := fiber.New()
			if bc.chain != nil {
				app.Use(bc.chain...)
			}
			app.Get("/me", func(c fiber.Ctx) error {
				claims, _ := clerkfiber.Claims(c)
				if claims == nil {
					return c.SendString("")
				}
				return c.SendString(claims.Subject)
			})
			handler := app.Handler()
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod(http.MethodGet)
				ctx.Request.SetRequestURI("/me")
				ctx.Request.Header.SetHost("app.example")
				ctx.Request.Header.Set("Authorization", token)
				handler(&ctx)
			}
			require.Equal(b, http.StatusOK, ctx.Response.StatusCode())
			require.Equal(b, bc.answer, string(ctx.Response.Body()))
		})
	}
}

func BenchmarkNetHTTPRequireSession(b *testing.B) {
	f := adaptertest.New(b)
	h := f.Gate.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		_, _ = w.Write([]byte(claims.Subject))
	}))
	token := "Bearer " + f.Token()
	var w *httptest.ResponseRecorder
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodGet, "http://app.example/me", nil)
		r.Header.Set("Authorization", token)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
	}
	require.Equal(b, http.StatusOK, w.Code)
	require.Equal(b, adaptertest.User, w.Body.String())
}
