// Command echo is clerkgate's echo example: the net/http example's routes
// and dev mode, on echo with the clerkecho adapter. Run it with no CLERK_*
// variables for dev mode, then follow the curl commands it prints.
package main

import (
	"log"

	"github.com/labstack/echo/v4"

	"github.com/clerkgate/clerkgate"
	clerkecho "github.com/clerkgate/clerkgate/adapters/echo"
	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

func main() {
	app, err := exampleapp.New("echo", exampleapp.WithRedis(openRedis), exampleapp.WithRedisCluster(openRedisCluster))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	if err := app.Serve(routes(app)); err != nil {
		log.Fatal(err)
	}
}

func routes(app *exampleapp.App) *echo.Echo {
	e := echo.New()
	e.GET("/", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		exampleapp.WritePage(c.Response(), app.Home(claims))
		return nil
	}, clerkecho.OptionalSession(app.Gate))
	e.GET("/dashboard", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		exampleapp.WritePage(c.Response(), app.Dashboard(claims))
		return nil
	}, clerkecho.RequireSession(app.Gate))
	e.GET("/healthz", func(c echo.Context) error {
		return write(c, exampleapp.Health())
	})
	me := e.Group("/me", clerkecho.RequireSession(app.Gate))
	me.GET("", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		return write(c, exampleapp.Me(claims))
	})
	me.GET("/sessions", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		return write(c, app.MySessions(c.Request().Context(), claims))
	})
	me.POST("/logout", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		return write(c, app.Logout(c.Request().Context(), claims))
	})
	e.GET("/api/whoami", func(c echo.Context) error {
		caller, _ := clerkecho.Caller(c)
		return write(c, exampleapp.Whoami(caller))
	}, clerkecho.RequirePolicy(app.Gate.Accept(clerkgate.AnyToken)))
	e.GET("/admin", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		return write(c, exampleapp.Admin(claims))
	}, clerkecho.Require(app.Gate, exampleapp.AdminCheck()))
	e.POST("/me/sensitive", func(c echo.Context) error {
		claims, _ := clerkecho.Claims(c)
		return write(c, exampleapp.Sensitive(claims))
	}, clerkecho.Require(app.Gate, exampleapp.SensitiveCheck()))
	if h := app.Webhooks(); h != nil {
		e.POST(exampleapp.WebhookPath, echo.WrapHandler(h))
	}
	if app.DevMode() {
		e.POST("/dev/revoke", func(c echo.Context) error {
			return write(c, app.DevRevoke(c.QueryParam("session_id")))
		})
		e.GET("/dev/token", func(c echo.Context) error {
			return write(c, app.DevToken(c.QueryParam("expired") == "1"))
		})
		e.GET("/dev/credential", func(c echo.Context) error {
			return write(c, app.DevCredential(c.QueryParam("type"), c.QueryParam("format")))
		})
		e.GET("/dev/token/authz", func(c echo.Context) error {
			return write(c, app.DevAuthzToken(c.QueryParam("org_role"), c.QueryParam("fva")))
		})
	}
	return e
}

func write(c echo.Context, res exampleapp.Result) error {
	return c.JSON(res.Status, res.Body)
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
