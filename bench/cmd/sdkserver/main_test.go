package main

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/clerkgate/clerkgate/clerktest"
)

// The baseline server must really authenticate: a valid token from the
// fake gets the example's /me answer, and a token the fake's keys did not
// sign gets nothing.
func TestMe(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	h, err := newHandler(fake.SecretKey(), fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	sess := fake.CreateSession("user_42")

	get := func(path, token string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := get("/me", fake.Token(sess.ID, clerktest.V2()))
	if rec.Code != http.StatusOK {
		t.Fatalf("valid token: status %d: %s", rec.Code, rec.Body)
	}
	var body struct {
		UserID    string         `json:"user_id"`
		SessionID string         `json:"session_id"`
		Claims    map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.UserID != "user_42" || body.SessionID != sess.ID || body.Claims["sub"] != "user_42" {
		t.Fatalf("body = %+v", body)
	}

	if rec := get("/healthz", ""); rec.Code != http.StatusOK {
		t.Fatalf("healthz: status %d", rec.Code)
	}
	if rec := get("/me", ""); rec.Code == http.StatusOK {
		t.Fatal("no token: status 200")
	}
	if rec := get("/me", fake.Token(sess.ID, clerktest.Expired())); rec.Code == http.StatusOK {
		t.Fatal("expired token: status 200")
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if rec := get("/me", fake.Token(sess.ID, clerktest.SignedWith(other, fake.KeyID()))); rec.Code == http.StatusOK {
		t.Fatal("token signed by another key under the fake's kid: status 200")
	}
}

func TestNeedsSecretKey(t *testing.T) {
	if _, err := newHandler("", "http://127.0.0.1:1"); err == nil {
		t.Fatal("no error without a secret key")
	}
}

// TestPage: /page verifies the token in the __session cookie as /me does
// the header's, answers the same body, and takes no bearer token in its
// place.
func TestPage(t *testing.T) {
	fake := clerktest.New()
	defer fake.Close()
	h, err := newHandler(fake.SecretKey(), fake.URL())
	if err != nil {
		t.Fatal(err)
	}
	sess := fake.CreateSession("user_7")
	page := func(cookie, bearer string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, "/page", nil)
		req.Header.Set("Sec-Fetch-Dest", "document")
		req.Header.Set("Accept", "text/html")
		if cookie != "" {
			req.AddCookie(&http.Cookie{Name: "__client_uat", Value: "1700000000"})
			req.AddCookie(&http.Cookie{Name: "__session", Value: cookie})
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	token := fake.Token(sess.ID, clerktest.V2())
	rec := page(token, "")
	if rec.Code != http.StatusOK {
		t.Fatalf("valid cookie: status %d: %s", rec.Code, rec.Body)
	}
	var body struct {
		UserID string         `json:"user_id"`
		Claims map[string]any `json:"claims"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.UserID != "user_7" || body.Claims["sid"] != sess.ID {
		t.Fatalf("body = %+v", body)
	}
	if rec := page("", token); rec.Code == http.StatusOK {
		t.Fatal("a bearer token on /page: status 200")
	}
	if rec := page(fake.Token(sess.ID, clerktest.Expired()), ""); rec.Code == http.StatusOK {
		t.Fatal("expired cookie: status 200")
	}
}
