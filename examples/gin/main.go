// Command gin is clerkgate's gin example: the net/http example's routes and
// dev mode, on gin with the clerkgin adapter. Run it with no CLERK_*
// variables for dev mode, then follow the curl commands it prints.
package main

import (
	"log"

	"github.com/gin-gonic/gin"

	"github.com/clerkgate/clerkgate"
	clerkgin "github.com/clerkgate/clerkgate/adapters/gin"
	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

func main() {
	// Release mode keeps gin's debug lines off stdout, where the start-up
	// banner must come first.
	gin.SetMode(gin.ReleaseMode)
	app, err := exampleapp.New("gin", exampleapp.WithRedis(openRedis), exampleapp.WithRedisCluster(openRedisCluster))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	if err := app.Serve(routes(app)); err != nil {
		log.Fatal(err)
	}
}

func routes(app *exampleapp.App) *gin.Engine {
	r := gin.New()
	r.HandleMethodNotAllowed = true // 405, as net/http's ServeMux answers
	r.Use(gin.Recovery())
	r.GET("/", clerkgin.OptionalSession(app.Gate), func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		exampleapp.WritePage(c.Writer, app.Home(claims))
	})
	r.GET("/dashboard", clerkgin.RequireSession(app.Gate), func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		exampleapp.WritePage(c.Writer, app.Dashboard(claims))
	})
	r.GET("/healthz", func(c *gin.Context) {
		write(c, exampleapp.Health())
	})
	me := r.Group("/me", clerkgin.RequireSession(app.Gate))
	me.GET("", func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		write(c, exampleapp.Me(claims))
	})
	me.GET("/sessions", func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		write(c, app.MySessions(c.Request.Context(), claims))
	})
	me.POST("/logout", func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		write(c, app.Logout(c.Request.Context(), claims))
	})
	r.GET("/api/whoami", clerkgin.RequirePolicy(app.Gate.Accept(clerkgate.AnyToken)), func(c *gin.Context) {
		caller, _ := clerkgin.Caller(c)
		write(c, exampleapp.Whoami(caller))
	})
	r.GET("/admin", clerkgin.Require(app.Gate, exampleapp.AdminCheck()), func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		write(c, exampleapp.Admin(claims))
	})
	r.POST("/me/sensitive", clerkgin.Require(app.Gate, exampleapp.SensitiveCheck()), func(c *gin.Context) {
		claims, _ := clerkgin.Claims(c)
		write(c, exampleapp.Sensitive(claims))
	})
	if h := app.Webhooks(); h != nil {
		r.POST(exampleapp.WebhookPath, gin.WrapH(h))
	}
	if app.DevMode() {
		r.POST("/dev/revoke", func(c *gin.Context) {
			write(c, app.DevRevoke(c.Query("session_id")))
		})
		r.GET("/dev/token", func(c *gin.Context) {
			write(c, app.DevToken(c.Query("expired") == "1"))
		})
		r.GET("/dev/credential", func(c *gin.Context) {
			write(c, app.DevCredential(c.Query("type"), c.Query("format")))
		})
		r.GET("/dev/token/authz", func(c *gin.Context) {
			write(c, app.DevAuthzToken(c.Query("org_role"), c.Query("fva")))
		})
	}
	return r
}

func write(c *gin.Context, res exampleapp.Result) {
	c.JSON(res.Status, res.Body)
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
