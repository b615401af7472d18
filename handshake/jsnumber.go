package handshake

import (
	"strconv"
	"strings"
)

// parseUAT reads __client_uat as Clerk does, with JavaScript's
// Number.parseInt(v) || 0 (no radix): leading white space, a sign, and
// "0x" or "0X" for hexadecimal, then the longest run of digits; no digit
// (or a zero) is 0. So "-1" is -1, a client that is signed in as far as
// the decision goes (any number but 0 is), "+5" is 5, "0x10" is 16 and
// "12abc" is 12. Past float64's range a decimal is +Inf or -Inf, as in
// JavaScript; every result is compared as a JavaScript number.
func parseUAT(v string) float64 {
	v = strings.TrimLeftFunc(v, jsSpace)
	sign := 1.0
	if v != "" && (v[0] == '-' || v[0] == '+') {
		if v[0] == '-' {
			sign = -1
		}
		v = v[1:]
	}
	hex := len(v) >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')
	if hex {
		v = v[2:]
	}
	i := 0
	for i < len(v) && (isDigit(v[i]) || hex && isHexLetter(v[i])) {
		i++
	}
	if i == 0 {
		return 0 // NaN || 0
	}
	digits := v[:i]
	if !hex && i <= 15 {
		// A Unix time: an integer below 2^53, which a float64 holds
		// exactly, as ParseFloat would give it.
		var n uint64
		for _, d := range []byte(digits) {
			n = n*10 + uint64(d-'0')
		}
		if n == 0 {
			return 0 // -0 || 0
		}
		return sign * float64(n)
	}
	if hex {
		digits = "0x" + digits + "p0" // a hexadecimal float literal: rounded as JavaScript rounds
	}
	// Only digits reach ParseFloat, so its one error is a range error,
	// whose value (±Inf) is JavaScript's too.
	n, _ := strconv.ParseFloat(digits, 64)
	if n == 0 {
		return 0 // -0 || 0
	}
	return sign * n
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isHexLetter(c byte) bool { return 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// jsSpace reports JavaScript's StrWhiteSpaceChar (WhiteSpace and
// LineTerminator), which parseInt and Number skip: unlike Go's
// unicode.IsSpace it includes U+FEFF and excludes U+0085.
func jsSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', '\u00a0', '\u1680', '\u2028', '\u2029', '\u202f', '\u205f', '\u3000', '\ufeff':
		return true
	}
	return '\u2000' <= r && r <= '\u200a'
}
