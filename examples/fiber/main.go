// Command fiber is clerkgate's Fiber example: the net/http example's routes
// and dev mode, on Fiber v3 (fasthttp) with the clerkfiber adapter. Run it
// with no CLERK_* variables for dev mode, then follow the curl commands it
// prints.
package main

import (
	"log"
	"net"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/gofiber/fiber/v3/middleware/recover"

	"github.com/clerkgate/clerkgate"
	clerkfiber "github.com/clerkgate/clerkgate/adapters/fiber"
	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

func main() {
	app, err := exampleapp.New("fiber", exampleapp.WithRedis(openRedis), exampleapp.WithRedisCluster(openRedisCluster))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	f := routes(app)
	serve := func(ln net.Listener) error {
		// No banner of Fiber's: the example's must come first on stdout.
		return f.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true})
	}
	if err := app.ServeWith(serve, f.ShutdownWithContext); err != nil {
		log.Fatal(err)
	}
}

func routes(app *exampleapp.App) *fiber.App {
	f := fiber.New(fiber.Config{
		// Paths as net/http's ServeMux matches them: exact, case and
		// trailing slash included.
		CaseSensitive: true,
		StrictRouting: true,
		ReadTimeout:   10 * time.Second,
		// Room for a signed-in browser's Clerk cookies: two copies of
		// the session token, which may reach 4 KiB, and more.
		ReadBufferSize: 16 << 10,
	})
	f.Use(recover.New())
	session := clerkfiber.RequireSession(app.Gate)
	f.Get("/", clerkfiber.OptionalSession(app.Gate), func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return page(c, app.Home(claims))
	})
	f.Get("/dashboard", session, func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return page(c, app.Dashboard(claims))
	})
	f.Get("/healthz", func(c fiber.Ctx) error {
		return write(c, exampleapp.Health())
	})
	f.Get("/me", session, func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return write(c, exampleapp.Me(claims))
	})
	f.Get("/me/sessions", session, func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return write(c, app.MySessions(c.Context(), claims))
	})
	f.Post("/me/logout", session, func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return write(c, app.Logout(c.Context(), claims))
	})
	f.Get("/api/whoami", clerkfiber.RequirePolicy(app.Gate.Accept(clerkgate.AnyToken)), func(c fiber.Ctx) error {
		caller, _ := clerkfiber.Caller(c)
		return write(c, exampleapp.Whoami(caller))
	})
	f.Get("/admin", clerkfiber.Require(app.Gate, exampleapp.AdminCheck()), func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return write(c, exampleapp.Admin(claims))
	})
	f.Post("/me/sensitive", clerkfiber.Require(app.Gate, exampleapp.SensitiveCheck()), func(c fiber.Ctx) error {
		claims, _ := clerkfiber.Claims(c)
		return write(c, exampleapp.Sensitive(claims))
	})
	if h := app.Webhooks(); h != nil {
		// Verification needs the raw body and no claims: the net/http
		// handler as it is.
		f.Post(exampleapp.WebhookPath, adaptor.HTTPHandler(h))
	}
	if app.DevMode() {
		f.Post("/dev/revoke", func(c fiber.Ctx) error {
			return write(c, app.DevRevoke(c.Query("session_id")))
		})
		f.Get("/dev/token", func(c fiber.Ctx) error {
			return write(c, app.DevToken(c.Query("expired") == "1"))
		})
		f.Get("/dev/credential", func(c fiber.Ctx) error {
			return write(c, app.DevCredential(c.Query("type"), c.Query("format")))
		})
		f.Get("/dev/token/authz", func(c fiber.Ctx) error {
			return write(c, app.DevAuthzToken(c.Query("org_role"), c.Query("fva")))
		})
	}
	return f
}

func write(c fiber.Ctx, res exampleapp.Result) error {
	return c.Status(res.Status).JSON(res.Body)
}

// page writes p as exampleapp.WritePage does: HTML that no cache keeps.
func page(c fiber.Ctx, p exampleapp.Page) error {
	c.Set(fiber.HeaderContentType, "text/html; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(p.Status).Send(p.HTML)
}

// openRedis lets replicas of this example share refreshes and revocations
// when REDIS_URL is set.
func openRedis(url string) (clerkgate.Store, error) {
	return redisstore.Open(url, redisstore.Options{})
}

// openRedisCluster lets them share them through a Redis Cluster when
// REDIS_CLUSTER_ADDRS is set.
func openRedisCluster(seeds string) (clerkgate.Store, error) {
	return redisstore.OpenCluster(seeds, redisstore.Options{})
}
