package fapiproxy

import (
	"errors"
	"net/url"
	"strings"
)

var (
	errPathMismatch = errors.New("the path is not under the proxy's")
	errPathInvalid  = errors.New("the path has an empty, dot or encoded-separator segment, or a control character")
)

// upstreamPath maps a request's escaped path to the Frontend API's: the
// part after the proxy's prefix, on the Frontend API's base path. It
// refuses a path outside the prefix ("/__clerkx", "/other"), and any path
// whose meaning a server or a client library could change on the way:
// dot segments ("/__clerk/../admin", "%2e%2e"), empty segments
// ("/__clerk//evil.com"), encoded separators ("%2f", "%5c") and control
// characters. The host is never taken from the request, so no path can
// change where the request goes; these checks keep it at the path meant.
func (s settings) upstreamPath(escaped string) (string, error) {
	rest, ok := strings.CutPrefix(escaped, s.prefix)
	switch {
	case !ok, rest != "" && rest[0] != '/':
		return "", errPathMismatch
	case rest == "":
		rest = "/"
	}
	if err := checkPath(rest); err != nil {
		return "", err
	}
	return s.upstream.Path + rest, nil
}

// checkPath accepts "" and escaped paths of plain segments ("/a/b", with
// at most one trailing slash), each of URL path characters only.
func checkPath(escaped string) error {
	if escaped == "" {
		return nil
	}
	if escaped[0] != '/' {
		return errPathInvalid
	}
	segments := strings.Split(escaped[1:], "/")
	for i, seg := range segments {
		if seg == "" {
			if i == len(segments)-1 {
				continue // a trailing slash
			}
			return errPathInvalid
		}
		for _, c := range []byte(seg) {
			if !pathChar(c) {
				return errPathInvalid
			}
		}
		dec, err := url.PathUnescape(seg)
		if err != nil || dec == "." || dec == ".." {
			return errPathInvalid
		}
		for _, c := range []byte(dec) {
			if c < 0x20 || c == 0x7f || c == '/' || c == '\\' {
				return errPathInvalid
			}
		}
	}
	return nil
}

// pathChar reports whether c may stand unescaped in a path segment (RFC
// 3986's pchar, and the brackets net/url leaves as they are): a request's
// escaped path has no other, so one that does was not a request's.
func pathChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@[]%", c) >= 0
}
