package exampleapp

import (
	"bytes"
	"html/template"
	"net/http"

	"github.com/clerkgate/clerkgate"
)

// Page is an HTML page, written by each framework with WritePage.
type Page struct {
	Status int
	HTML   []byte
}

// The pages share one layout. html/template escapes every value by its
// context, so a user id is text on the page even if it were markup.
const pagesTemplate = `{{define "layout"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}} · clerkgate example</title>
</head>
<body>
<nav><a href="/">Home</a> · <a href="/dashboard">Dashboard</a>{{if .SignOutURL}} · <a id="sign-out" href="{{.SignOutURL}}">Sign out</a>{{end}}</nav>
<main>
{{template "main" .}}
</main>
</body>
</html>
{{end}}`

const homeMain = `{{define "main"}}<h1>clerkgate example</h1>
{{if .UserID}}<p id="status">Signed in as <span id="user-id">{{.UserID}}</span></p>
<p><a href="/dashboard">Open the dashboard</a></p>
{{else}}<p id="status">Signed out</p>
<p><a id="sign-in" href="/dashboard">Sign in</a> (the dashboard sends you to the sign-in page)</p>
{{end}}{{end}}`

const dashboardMain = `{{define "main"}}<h1>Dashboard</h1>
<dl>
<dt>User</dt><dd id="user-id">{{.UserID}}</dd>
<dt>Session</dt><dd id="session-id">{{.SessionID}}</dd>
</dl>{{end}}`

// pages holds the parsed templates. They are parsed once, in New, and
// only executed afterwards, which html/template allows concurrently.
type pages struct {
	home, dashboard *template.Template
}

func newPages() (*pages, error) {
	parse := func(name, main string) (*template.Template, error) {
		t, err := template.New(name).Parse(pagesTemplate)
		if err != nil {
			return nil, err
		}
		return t.Parse(main)
	}
	home, err := parse("home", homeMain)
	if err != nil {
		return nil, err
	}
	dashboard, err := parse("dashboard", dashboardMain)
	if err != nil {
		return nil, err
	}
	return &pages{home: home, dashboard: dashboard}, nil
}

// pageData is what the templates show.
type pageData struct {
	Title      string
	UserID     string
	SessionID  string
	SignOutURL string
}

// Home answers GET / behind OptionalSession: "Signed in as <user id>", or
// "Signed out" with a way to sign in. c is nil for an anonymous request.
func (a *App) Home(c *clerkgate.Claims) Page {
	d := pageData{Title: "Home"}
	if c != nil {
		d.UserID, d.SignOutURL = c.Subject, a.signOutURL
	}
	return a.render(a.pages.home, d)
}

// Dashboard answers GET /dashboard behind RequireSession with the user's
// and the session's ids.
func (a *App) Dashboard(c *clerkgate.Claims) Page {
	return a.render(a.pages.dashboard, pageData{
		Title: "Dashboard", UserID: c.Subject, SessionID: c.SessionID, SignOutURL: a.signOutURL,
	})
}

// render executes t into a buffer first, so that a failing template
// answers a plain 500 rather than half a page.
func (a *App) render(t *template.Template, d pageData) Page {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		a.log.Error("example: rendering a page failed", "page", t.Name(), "err", err)
		return Page{http.StatusInternalServerError, []byte("internal error\n")}
	}
	return Page{http.StatusOK, buf.Bytes()}
}

// WritePage writes p as HTML. The pages show who is signed in, so no
// cache may keep one: another user of a shared cache, or the same
// browser after signing out, would see it.
func WritePage(w http.ResponseWriter, p Page) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(p.HTML)
}
