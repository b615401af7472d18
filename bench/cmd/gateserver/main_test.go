package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/clerktest"
)

func TestRoutes(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	gate, err := clerkgate.New(clerkgate.Config{SecretKey: fake.SecretKey(), PublishableKey: fake.PublishableKey(), APIURL: fake.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer gate.Close()
	h := routes(gate)
	get := func(path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	sess := fake.CreateSession("user_7")
	if rec := get("/me", fake.Token(sess.ID)); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"user_7"`) {
		t.Fatalf("valid token: %d %s", rec.Code, rec.Body)
	}
	if rec := get("/claims", fake.Token(sess.ID)); rec.Code != http.StatusOK ||
		!strings.Contains(rec.Body.String(), `"user_id":"user_7"`) || !strings.Contains(rec.Body.String(), `"claims":{`) {
		t.Fatalf("claims, valid token: %d %s", rec.Code, rec.Body)
	}
	for _, path := range []string{"/me", "/claims"} {
		if rec := get(path, fake.Token(sess.ID, clerktest.Expired())); rec.Code != http.StatusUnauthorized {
			t.Fatalf("%s, expired token: %d", path, rec.Code)
		}
	}
	// Each machine route takes its own type of credential and nothing else.
	_, key := fake.CreateAPIKey("user_8", "load key")
	m2m := fake.M2MJWT(fake.CreateMachine().ID)
	session := fake.Token(sess.ID)
	for _, tc := range []struct {
		path, token string
		status      int
	}{
		{"/apikey", key, http.StatusOK},
		{"/m2m", m2m, http.StatusOK},
		{"/apikey", m2m, http.StatusUnauthorized},
		{"/apikey", session, http.StatusUnauthorized},
		{"/m2m", key, http.StatusUnauthorized},
		{"/m2m", session, http.StatusUnauthorized},
		{"/me", key, http.StatusUnauthorized},
		{"/me", m2m, http.StatusUnauthorized},
		{"/apikey", "ak_" + strings.Repeat("0", 32), http.StatusUnauthorized},
		{"/m2m", fake.M2MJWT(fake.CreateMachine().ID, clerktest.CredentialLifetime(-time.Minute)), http.StatusUnauthorized},
	} {
		if rec := get(tc.path, tc.token); rec.Code != tc.status {
			t.Errorf("%s with %.12s…: %d %s, want %d", tc.path, tc.token, rec.Code, rec.Body, tc.status)
		}
	}
	if rec := get("/apikey", key); !strings.Contains(rec.Body.String(), `"subject":"user_8"`) {
		t.Fatalf("apikey: %s", rec.Body)
	}
	if rec := get("/healthz", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthz: %d", rec.Code)
	}
}
