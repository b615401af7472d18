package clerktest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/clerkgate/clerkgate/clerktest"
)

// Start a fake Clerk instance, sign a user in, mint the session token their
// browser would send, and ask the Backend API about the session.
func Example() {
	fake := clerktest.New(
		clerktest.WithFrontendHost("clerk.example.com"),
		clerktest.WithClock(func() time.Time { return time.Unix(1700000000, 0) }),
	)
	defer fake.Close()

	sess := fake.CreateSession("user_123")
	token := fake.Token(sess.ID) // the __session cookie's value

	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	var claims struct {
		Sub string `json:"sub"`
		Iss string `json:"iss"`
		Exp int64  `json:"exp"`
	}
	_ = json.Unmarshal(payload, &claims)
	fmt.Println("sub:", claims.Sub)
	fmt.Println("iss:", claims.Iss)
	fmt.Println("exp:", time.Unix(claims.Exp, 0).UTC().Format(time.RFC3339))

	req, _ := http.NewRequest(http.MethodGet, fake.URL()+"/v1/sessions/"+sess.ID, nil)
	req.Header.Set("Authorization", "Bearer "+fake.SecretKey())
	res, err := fake.Client().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var session struct {
		Status string `json:"status"`
		UserID string `json:"user_id"`
	}
	_ = json.Unmarshal(body, &session)
	fmt.Println(res.StatusCode, session.Status, session.UserID)
	fmt.Println("publishable key:", fake.PublishableKey())

	// Output:
	// sub: user_123
	// iss: https://clerk.example.com
	// exp: 2023-11-14T22:14:20Z
	// 200 active user_123
	// publishable key: pk_test_Y2xlcmsuZXhhbXBsZS5jb20k
}

// Make the JWKS endpoint answer one 429, which a client's retry logic must
// handle, and then recover.
func ExampleServer_SetFault() {
	fake := clerktest.New()
	defer fake.Close()
	fake.SetFault(clerktest.RouteJWKS, clerktest.Fault{
		Status:     http.StatusTooManyRequests,
		RetryAfter: time.Second,
		Times:      1,
	})

	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, fake.URL()+"/v1/jwks", nil)
		req.Header.Set("Authorization", "Bearer "+fake.SecretKey())
		res, err := fake.Client().Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		fmt.Printf("%d retry-after=%q\n", res.StatusCode, res.Header.Get("Retry-After"))
	}
	fmt.Println("requests:", fake.Requests(clerktest.RouteJWKS))

	// Output:
	// 429 retry-after="1"
	// 200 retry-after=""
	// requests: 2
}
