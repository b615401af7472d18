package clerktest

import "crypto/rand"

const (
	alphaNum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	lowerNum = "0123456789abcdefghijklmnopqrstuvwxyz"
	hexChars = "0123456789abcdef"
)

// randomString draws n characters uniformly from alphabet (at most 256
// characters) using crypto/rand; rejection sampling avoids modulo bias.
func randomString(n int, alphabet string) string {
	limit := 256 - 256%len(alphabet)
	out := make([]byte, 0, n)
	buf := make([]byte, n+n/2+8)
	for len(out) < n {
		_, _ = rand.Read(buf) // never fails since Go 1.24
		for _, b := range buf {
			if int(b) < limit {
				out = append(out, alphabet[int(b)%len(alphabet)])
				if len(out) == n {
					break
				}
			}
		}
	}
	return string(out)
}

// newID makes an identifier shaped like Clerk's: a type prefix and 27
// base62 characters ("sess_2GbDB4enNdCa5vS1zpC3Xzg9tK9").
func newID(prefix string) string { return prefix + randomString(27, alphaNum) }
