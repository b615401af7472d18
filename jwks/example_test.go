package jwks_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/clerkgate/clerkgate/jwks"
)

func ExampleNewBackendAPI() {
	// A stand-in for Clerk's Backend API serving one key.
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	doc, _ := json.Marshal(map[string]any{"keys": []any{map[string]string{
		"kty": "RSA", "kid": "ins_example", "alg": "RS256", "use": "sig",
		"n": base64.RawURLEncoding.EncodeToString(priv.N.Bytes()),
		"e": "AQAB", // 65537
	}}})
	clerk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/jwks" || r.Header.Get("Authorization") != "Bearer sk_test_example" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write(doc)
	}))
	defer clerk.Close()

	// In production apiURL is "" (https://api.clerk.com) and the secret
	// key comes from CLERK_SECRET_KEY.
	keys, err := jwks.NewBackendAPI(context.Background(), clerk.URL, "sk_test_example", jwks.RemoteConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer keys.Close()

	key, err := keys.Key(context.Background(), "ins_example")
	fmt.Println(key.ID, key.Algorithm, err)

	_, err = keys.Key(context.Background(), "ins_forged")
	fmt.Println(errors.Is(err, jwks.ErrKeyNotFound))
	// Output:
	// ins_example RS256 <nil>
	// true
}

func ExampleNewStatic() {
	// CLERK_JWT_KEY as copied from the dashboard; the one-line form that
	// environment variables often produce works too.
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))

	keys, err := jwks.NewStatic(pemText)
	if err != nil {
		fmt.Println(err)
		return
	}
	key, _ := keys.Key(context.Background(), "ins_any_kid")
	fmt.Println(key.Algorithm)
	// Output: RS256
}
