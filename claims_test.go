package clerkgate_test

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate"
	"github.com/clerkgate/clerkgate/authz"
	"github.com/clerkgate/clerkgate/verifier"
)

// TestHandBuiltClaimsInAHandlerTest: the way a handler's test fakes a
// signed-in user. The role answers to both spellings, custom claims decode
// as absent, and a missing role still gets its 403.
func TestHandBuiltClaimsInAHandlerTest(t *testing.T) {
	t.Parallel()
	ctx := clerkgate.ContextWithClaims(context.Background(), &clerkgate.Claims{
		Subject: "user_1", SessionID: "sess_1",
		Organization: &clerkgate.Organization{ID: "org_1", Role: "admin"},
	})
	claims, ok := clerkgate.ClaimsFromContext(ctx)
	require.True(t, ok)
	require.Nil(t, clerkgate.Authorize(claims, authz.Role("admin")))
	require.Nil(t, clerkgate.Authorize(claims, authz.Role("org:admin")))
	denied := clerkgate.Authorize(claims, authz.Role("org:billing"))
	require.NotNil(t, denied)
	require.Equal(t, 403, denied.Status)

	var custom struct {
		Email string `json:"email"`
		Org   string `json:"org_id"`
	}
	require.NoError(t, claims.Decode(&custom))
	require.Equal(t, "org_1", custom.Org)
	require.Empty(t, custom.Email)
}

// TestAliasDocsNameEveryMember: go doc does not follow the root package's
// aliases into verifier, so their comments list the fields and methods
// themselves. A field or method added to verifier must be named there too.
func TestAliasDocsNameEveryMember(t *testing.T) {
	t.Parallel()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "context.go", nil, parser.ParseComments)
	require.NoError(t, err)
	docs := map[string]string{}
	for _, d := range f.Decls {
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.TYPE {
			for _, s := range g.Specs {
				docs[s.(*ast.TypeSpec).Name.Name] = g.Doc.Text()
			}
		}
	}
	for name, typ := range map[string]reflect.Type{
		"Claims":       reflect.TypeFor[verifier.Claims](),
		"Organization": reflect.TypeFor[verifier.Organization](),
		"Actor":        reflect.TypeFor[verifier.Actor](),
	} {
		doc := docs[name]
		require.NotEmpty(t, doc, "the root package declares %s", name)
		for i := range typ.NumField() {
			if fld := typ.Field(i); fld.IsExported() {
				require.Regexp(t, regexp.MustCompile(`\b`+fld.Name+`\b`), doc, "%s's doc names field %s", name, fld.Name)
			}
		}
		ptr := reflect.PointerTo(typ)
		for i := range ptr.NumMethod() {
			m := ptr.Method(i).Name
			require.Regexp(t, regexp.MustCompile(`\b`+m+`\b`), doc, "%s's doc names method %s", name, m)
		}
	}
	// The aliases are the verifier's types, so values pass both ways.
	var _ *verifier.Claims = (*clerkgate.Claims)(nil)
	var _ *verifier.Organization = (*clerkgate.Organization)(nil)
	var _ *verifier.Actor = (*clerkgate.Actor)(nil)
}
