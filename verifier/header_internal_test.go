package verifier

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// headerSeeds are headers the fast path must take, and ones it must leave
// to encoding/json.
var headerSeeds = []string{
	`{"alg":"RS256","kid":"ins_2abc","typ":"JWT"}`,
	`{"alg":"RS256","cat":"cl_B7d4PD111AAA","kid":"ins_2abc","typ":"JWT"}`,
	` { "typ" : "JWT" , "kid":"k", "alg":"RS512" } `,
	`{"alg":"RS256"}`,
	`{}`,
	`{"alg":"none","typ":"at+jwt"}`,
	`{"alg":"RS256","crit":["exp"]}`,
	`{"ALG":"HS256","alg":"RS256"}`,
	`{"alg":"RS256","Alg":"HS256"}`,
	`{"alg":"RS256","alg":"HS256"}`,
	`{"alg":"RS\u0032\u0035\u0036"}`,
	`{"kid":"k\u00e9"}`,
	"{\"kid\":\"k\xc3\xa9\"}",
	"{\"kid\":\"\xff\"}",
	`{"alg":"RS256","x5c":["a"],"n":1}`,
	`{"alg":"RS256",}`,
	`{"alg":"RS256"} x`,
	`{"alg":"RS256"`,
	`{"alg" "RS256"}`,
	`{"alg":null}`,
	`[]`,
	``,
	"{\"kid\":\"a\tb\"}",
	"{\"kid\":\"a\x7fb\"}",
}

// TestSimpleHeaderTakesClerkHeaders checks that the headers Clerk sends
// take the fast path, so that the optimisation is not silently lost.
func TestSimpleHeaderTakesClerkHeaders(t *testing.T) {
	t.Parallel()
	for _, in := range headerSeeds[:4] {
		h := header{Typ: "JWT"}
		require.True(t, decodeSimpleHeader([]byte(in), &h), in)
	}
}

// FuzzSimpleHeader checks the fast path against encoding/json: whenever
// it accepts a header, encoding/json accepts it too and decodes the same.
func FuzzSimpleHeader(f *testing.F) {
	for _, s := range headerSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		fast := header{Typ: "JWT"}
		if !decodeSimpleHeader(in, &fast) {
			return
		}
		slow := header{Typ: "JWT"}
		require.NoError(t, json.Unmarshal(in, &slow), "%q", in)
		require.Equal(t, slow, fast, "%q", in)
	})
}
