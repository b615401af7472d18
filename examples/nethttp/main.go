// Command nethttp is clerkgate's net/http example. Run it with no CLERK_*
// variables for dev mode, then follow the curl commands it prints.
package main

import (
	"log"
	"net/http"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/examples/internal/exampleapp"
	redisstore "github.com/clerkgate/clerkgate/stores/redis"
)

func main() {
	app, err := exampleapp.New("net/http", exampleapp.WithRedis(openRedis), exampleapp.WithRedisCluster(openRedisCluster))
	if err != nil {
		log.Fatal(err)
	}
	defer app.Close()
	if err := app.Serve(routes(app)); err != nil {
		log.Fatal(err)
	}
}

func routes(app *exampleapp.App) http.Handler {
	mux := http.NewServeMux()
	sessions := app.Gate.Accept(clerkgate.SessionToken)
	protect := sessions.Require // signed-in users only
	mux.Handle("GET /{$}", sessions.Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		exampleapp.WritePage(w, app.Home(claims))
	})))
	mux.Handle("GET /dashboard", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		exampleapp.WritePage(w, app.Dashboard(claims))
	})))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		write(w, exampleapp.Health())
	})
	mux.Handle("GET /me", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		write(w, exampleapp.Me(claims))
	})))
	mux.Handle("GET /me/sessions", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		write(w, app.MySessions(r.Context(), claims))
	})))
	mux.Handle("POST /me/logout", protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		write(w, app.Logout(r.Context(), claims))
	})))
	mux.Handle("GET /api/whoami", app.Gate.Accept(clerkgate.AnyToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := clerkgate.CallerFromContext(r.Context())
		write(w, exampleapp.Whoami(caller))
	})))
	mux.Handle("GET /admin", app.Gate.Accept(clerkgate.SessionToken).With(exampleapp.AdminCheck()).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		write(w, exampleapp.Admin(claims))
	})))
	mux.Handle("POST /me/sensitive", app.Gate.Accept(clerkgate.SessionToken).With(exampleapp.SensitiveCheck()).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		write(w, exampleapp.Sensitive(claims))
	})))
	if h := app.Webhooks(); h != nil {
		mux.Handle("POST "+exampleapp.WebhookPath, h)
	}
	if app.DevMode() {
		mux.HandleFunc("POST /dev/revoke", func(w http.ResponseWriter, r *http.Request) {
			write(w, app.DevRevoke(r.URL.Query().Get("session_id")))
		})
		mux.HandleFunc("GET /dev/token", func(w http.ResponseWriter, r *http.Request) {
			write(w, app.DevToken(r.URL.Query().Get("expired") == "1"))
		})
		mux.HandleFunc("GET /dev/credential", func(w http.ResponseWriter, r *http.Request) {
			write(w, app.DevCredential(r.URL.Query().Get("type"), r.URL.Query().Get("format")))
		})
		mux.HandleFunc("GET /dev/token/authz", func(w http.ResponseWriter, r *http.Request) {
			write(w, app.DevAuthzToken(r.URL.Query().Get("org_role"), r.URL.Query().Get("fva")))
		})
	}
	return mux
}

func write(w http.ResponseWriter, res exampleapp.Result) {
	body, err := res.JSON()
	if err != nil {
		http.Error(w, `{"error":"internal","message":"the answer could not be written"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(res.Status)
	w.Write(body)
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
