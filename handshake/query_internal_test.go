package handshake

import (
	"net/url"
	"testing"
)

// FuzzQueryValues: queryValues reads every name as url.ParseQuery (the
// map Decide read before) does, on any raw query: the value, and whether
// the name is there.
func FuzzQueryValues(f *testing.F) {
	for _, s := range [][2]string{
		{"", CookieDevBrowser},
		{"__clerk_db_jwt=dvb_1&tab=1", CookieDevBrowser},
		{"__clerk_db_jwt&x=1", CookieDevBrowser},
		{"__clerk_db_jwt=a;b&__clerk_db_jwt=c", CookieDevBrowser},
		{"__clerk_db_jwt=%zz&__clerk_db_jwt=ok", CookieDevBrowser},
		{"__clerk%5Fdb_jwt=esc&__clerk_db_jwt=plain", CookieDevBrowser},
		{"%zz=1&__clerk_synced=true", QuerySynced},
		{"__clerk_synced=a+b%20c&&__clerk_synced=2", QuerySynced},
		{"a+b=1", "a b"},
		{"=1&a=", ""},
		{"__clerk_redirect_url=https%3A%2F%2Fsat.example%2F%3Fx%3D1", QueryRedirectURL},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, raw, name string) {
		want, _ := url.ParseQuery(raw)
		q := queryValues(raw)
		if got := q.Get(name); got != want.Get(name) {
			t.Fatalf("%q, %q: Get %q, ParseQuery %q", raw, name, got, want.Get(name))
		}
		if got := q.Has(name); got != want.Has(name) {
			t.Fatalf("%q, %q: Has %v, ParseQuery %v", raw, name, got, want.Has(name))
		}
	})
}
