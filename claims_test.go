package clerkgate_test

import (
	"context"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/clerktest"
	"github.com/clerkgate/clerkgate/verifier"
)

// TestHandBuiltClaimsInAHandlerTest: the way a handler's test fakes a
// signed-in user. The role answers to both spellings, custom claims decode
// as absent, and a missing role still gets its 403.
func TestHandBuiltClaimsInAHandlerTest(t *testing.T) {
	t.Parallel()
	ctx := clerkgate.ContextWithCaller(context.Background(), &clerkgate.Caller{
		Type: clerkgate.SessionToken,
		Session: &clerkgate.Claims{
			Subject: "user_1", SessionID: "sess_1",
			Organization: &clerkgate.Organization{ID: "org_1", Role: "admin"},
		},
	})
	caller, ok := clerkgate.CallerFromContext(ctx)
	require.True(t, ok)
	claims, ok := clerkgate.ClaimsFromContext(ctx)
	require.True(t, ok)
	require.Same(t, caller.Session, claims)
	require.NoError(t, clerkgate.Authorize(caller, authz.Role("admin")))
	require.NoError(t, clerkgate.Authorize(caller, authz.Role("org:admin")))
	denied := refusalOf(t, clerkgate.Authorize(caller, authz.Role("org:billing")))
	require.Equal(t, 403, denied.Status)

	var custom struct {
		Email string `json:"email"`
		Org   string `json:"org_id"`
	}
	require.NoError(t, claims.Decode(&custom))
	require.Equal(t, "org_1", custom.Org)
	require.Empty(t, custom.Email)
}

// TestGoDocShowsClaims reads the root package as go doc does (go/doc):
// Claims carries every method of verifier.Claims, each with its own
// comment, and its comment names every field. Organization and Actor stay
// aliases, so hand-built Claims can hold them; their comments name every
// field.
func TestGoDocShowsClaims(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	var files []*ast.File
	names, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		require.NoError(t, err)
		files = append(files, f)
	}
	pkg, err := doc.NewFromFiles(fset, files, "github.com/clerkgate/clerkgate")
	require.NoError(t, err)
	types := map[string]*doc.Type{}
	for _, typ := range pkg.Types {
		types[typ.Name] = typ
	}

	claims := types["Claims"]
	require.NotNil(t, claims)
	methods := map[string]string{}
	for _, m := range claims.Methods {
		methods[m.Name] = m.Doc
	}
	vptr := reflect.PointerTo(reflect.TypeFor[verifier.Claims]())
	for i := range vptr.NumMethod() {
		m := vptr.Method(i).Name
		require.NotEmpty(t, methods[m], "go doc clerkgate.Claims.%s finds a documented method", m)
	}
	require.Len(t, methods, vptr.NumMethod(), "clerkgate.Claims has no method verifier.Claims lacks")

	for name, typ := range map[string]reflect.Type{
		"Claims":       reflect.TypeFor[verifier.Claims](),
		"Organization": reflect.TypeFor[verifier.Organization](),
		"Actor":        reflect.TypeFor[verifier.Actor](),
	} {
		require.Contains(t, types, name)
		doc := types[name].Doc
		for i := range typ.NumField() {
			if fld := typ.Field(i); fld.IsExported() {
				require.Regexp(t, regexp.MustCompile(`\b`+fld.Name+`\b`), doc, "%s's doc names field %s", name, fld.Name)
			}
		}
	}
	// Organization and Actor are the verifier's types; Claims converts.
	var _ *verifier.Organization = (*clerkgate.Organization)(nil)
	var _ *verifier.Actor = (*clerkgate.Actor)(nil)
	var _ = (*verifier.Claims)((*clerkgate.Claims)(nil))
}

// TestClaimsMethodsMatchVerifier: each method of clerkgate.Claims answers
// as verifier.Claims's does, for tokens of both formats and hand-built
// claims, on arguments that tell the methods apart.
func TestClaimsMethodsMatchVerifier(t *testing.T) {
	t.Parallel()
	samples := map[string]*verifier.Claims{
		"hand-built": {
			Subject: "user_1", SessionID: "sess_1", Expiry: 1700000060, IssuedAt: 1700000000, NotBefore: 1699999990,
			SessionStatus: "pending", Plans: "u:free,o:pro", Features: "o:dashboard,u:chat,ou:teams",
			Organization: &verifier.Organization{ID: "org_1", Role: "admin", Permissions: []string{"org:dashboard:manage"}},
		},
		"empty": {},
	}
	b := newBackend(t, nil)
	fake, g := b.fake, b.gate
	sess := fake.CreateSession("user_1", clerktest.WithOrg("org_1", "acme", "org:admin", "org:dashboard:manage"))
	for name, format := range map[string]clerktest.TokenOption{"v1 token": nil, "v2 token": clerktest.V2()} {
		token := fake.Token(sess.ID, format, clerktest.WithFeatures("o:dashboard", "u:chat"), clerktest.WithPlans("u:free"),
			clerktest.WithClaims(map[string]any{"email": "a@b.c"}))
		c, err := g.Accept(clerkgate.SessionToken).AuthenticateToken(t.Context(), token)
		require.NoError(t, err)
		samples[name] = (*verifier.Claims)(c.Session)
	}
	args := []string{"admin", "org:admin", "org:org:admin", "billing", "dashboard:manage", "org:dashboard:manage",
		"o:dashboard", "u:dashboard", "dashboard", "chat", "u:chat", "teams", "free", "u:free", "o:free", "pro", "o:pro", ""}
	type custom struct {
		Email string `json:"email"`
		Org   string `json:"org_id"`
		Sub   string `json:"sub"`
	}
	for name, vc := range samples {
		rc := reflect.ValueOf((*clerkgate.Claims)(vc))
		vv := reflect.ValueOf(vc)
		for i := range vv.NumMethod() {
			method := vv.Type().Method(i)
			got, want := rc.MethodByName(method.Name), vv.Method(i)
			require.True(t, got.IsValid(), "clerkgate.Claims.%s", method.Name)
			switch method.Name {
			case "Clone":
				a := got.Call(nil)[0].Interface().(*clerkgate.Claims)
				b := want.Call(nil)[0].Interface().(*verifier.Claims)
				require.Equal(t, b, (*verifier.Claims)(a), "%s: Clone", name)
				require.NotSame(t, vc, (*verifier.Claims)(a), "%s: Clone", name)
			case "Decode":
				var a, b custom
				ea, eb := got.Call([]reflect.Value{reflect.ValueOf(&a)}), want.Call([]reflect.Value{reflect.ValueOf(&b)})
				require.Equal(t, eb[0].Interface(), ea[0].Interface(), "%s: Decode's error", name)
				require.Equal(t, b, a, "%s: Decode", name)
			default:
				var in [][]reflect.Value
				if method.Type.NumIn() == 1 {
					in = append(in, nil)
				} else {
					for _, arg := range args {
						in = append(in, []reflect.Value{reflect.ValueOf(arg)})
					}
				}
				for _, call := range in {
					require.Equal(t, values(want.Call(call)), values(got.Call(call)), "%s: %s%v", name, method.Name, values(call))
				}
			}
		}
	}
}

func values(vs []reflect.Value) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v.Interface()
	}
	return out
}

// TestHandlersCannotChangeAnotherRequestsClaims: the verifier's cache
// holds one set of claims per token, and every request with that token is
// served from it. A handler that edits its claims (here, every field an
// authorization check reads) must change nothing for the next request
// with the same token: not its identity, not its role, not a check's
// verdict.
func TestHandlersCannotChangeAnotherRequestsClaims(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	fake, g := b.fake, b.gate

	tamper := func(c *clerkgate.Claims) {
		c.Subject = "user_mallory"
		c.Organization.Role = "org:admin"
		c.Organization.Permissions[0] = "org:billing:manage"
		c.Organization.Permissions = append(c.Organization.Permissions, "org:sys:all")
		c.FactorVerificationAge[0] = 0
		c.Features = "o:everything"
	}
	mux := http.NewServeMux()
	mux.Handle("/tamper", g.Accept(clerkgate.SessionToken).Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := clerkgate.ClaimsFromContext(r.Context())
		tamper(c)
	})))
	mux.Handle("/admin", g.Accept(clerkgate.SessionToken).With(authz.Role("org:admin")).Require(whoami))
	mux.Handle("/billing", g.Accept(clerkgate.SessionToken).With(authz.Permission("org:billing:manage")).Require(whoami))
	mux.Handle("/fresh", g.Accept(clerkgate.SessionToken).With(authz.Reverification(authz.Strict)).Require(whoami))
	mux.Handle("/authenticate", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, aerr := g.Accept(clerkgate.SessionToken).Authenticate(w, r); aerr == nil {
			tamper(c.Session)
		}
	}))
	url := serve(t, mux).URL

	sess := fake.CreateSession("user_alice", clerktest.WithOrg("org_1", "acme", "org:member", "org:dashboard:read"))
	token := fake.Token(sess.ID, clerktest.V2(), clerktest.WithFactorVerificationAge(30, -1))
	for _, path := range []string{"/tamper", "/authenticate"} {
		for range 2 {
			require.Equal(t, http.StatusOK, get(t, url+path, bearer(token)).status)
		}
		for _, check := range []string{"/admin", "/billing", "/fresh"} {
			req, err := http.NewRequest(http.MethodGet, url+check, nil)
			require.NoError(t, err)
			bearer(token)(req)
			res, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			res.Body.Close()
			require.Equal(t, http.StatusForbidden, res.StatusCode, "%s after %s", check, path)
		}
	}
	caller, aerr := g.Accept(clerkgate.SessionToken).AuthenticateToken(t.Context(), token)
	require.Nil(t, aerr)
	c := caller.Session
	require.Equal(t, "user_alice", c.Subject)
	require.Equal(t, "org:member", c.Organization.Role)
	require.Equal(t, []string{"org:dashboard:read"}, c.Organization.Permissions)
	require.Equal(t, []int{30, -1}, c.FactorVerificationAge)
}

// TestNilClaimsAnswerAsNoSession calls every method of clerkgate.Claims
// and verifier.Claims on a nil receiver (reflection finds them, so a method
// added later is held to it too): none panics, and each answers as for no
// session.
func TestNilClaimsAnswerAsNoSession(t *testing.T) {
	t.Parallel()
	for _, nilClaims := range []any{(*clerkgate.Claims)(nil), (*verifier.Claims)(nil)} {
		v := reflect.ValueOf(nilClaims)
		require.Positive(t, v.NumMethod())
		for i := range v.NumMethod() {
			name := fmt.Sprintf("%T.%s", nilClaims, v.Type().Method(i).Name)
			m := v.Method(i)
			var in []reflect.Value
			for j := range m.Type().NumIn() {
				switch arg := m.Type().In(j); arg.Kind() {
				case reflect.String:
					in = append(in, reflect.ValueOf("org:admin"))
				case reflect.Interface: // Decode's target
					target := map[string]any{"kept": true}
					in = append(in, reflect.ValueOf(&target))
				default:
					t.Fatalf("%s: no argument of kind %s", name, arg.Kind())
				}
			}
			var out []reflect.Value
			require.NotPanics(t, func() { out = m.Call(in) }, name)
			for _, o := range out {
				switch x := o.Interface().(type) {
				case bool:
					require.False(t, x, name)
				case time.Time:
					require.True(t, x.IsZero(), name)
				case error:
					require.NoError(t, x, name)
				default:
					require.True(t, o.IsZero(), "%s returned %v", name, x)
				}
			}
			if len(in) == 1 && in[0].Kind() == reflect.Pointer && in[0].Elem().Kind() == reflect.Map {
				require.Equal(t, map[string]any{"kept": true}, in[0].Elem().Interface(), "%s changed its target", name)
			}
		}
	}
}

// TestREADMEPatternBehindOptionalSession: the README's handler, behind
// OptionalSession, serves an anonymous request over HTTP (it used to
// panic on claims.HasRole and answer nothing).
func TestREADMEPatternBehindOptionalSession(t *testing.T) {
	t.Parallel()
	b := newBackend(t, nil)
	srv := serve(t, b.gate.Accept(clerkgate.SessionToken).Optional(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := clerkgate.ClaimsFromContext(r.Context())
		caller, _ := clerkgate.CallerFromContext(r.Context())
		fmt.Fprintf(w, "user %q admin %v", caller.Subject(), claims.HasRole("org:admin"))
	})))
	rep := get(t, srv.URL, nil)
	require.Equal(t, http.StatusOK, rep.status)
	require.Equal(t, `user "" admin false`, rep.body)
}
