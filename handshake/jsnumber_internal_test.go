package handshake

import (
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestParseUATAsJavaScript holds parseUAT to Number.parseInt(v) || 0, each
// expected value as Node prints it.
func TestParseUATAsJavaScript(t *testing.T) {
	for v, want := range map[string]float64{
		"":                               0,
		"1700000000":                     1700000000,
		"-1":                             -1,
		"+5":                             5,
		" 12":                            12,
		"\t0x10":                         16,
		"0X1g":                           1,
		"-0x10":                          -16,
		"0x":                             0,
		"0x-1":                           0,
		"0b1":                            0,
		"1e5":                            1,
		"12abc":                          12,
		"1.9":                            1,
		"\u00a07":                        7,
		"\u20287":                        7,
		"\ufeff7":                        7,
		"\u180e5":                        0, // not white space since Unicode 6.3
		"\u00855":                        0, // NEL is not JavaScript white space
		"-0":                             0,
		"-000":                           0,
		"000000000000001":                1,
		"999999999999999":                999999999999999,
		"-999999999999999x":              -999999999999999,
		"9999999999999999":               1e16, // 16 digits: rounded, as JavaScript rounds
		"--1":                            0,
		"abc":                            0,
		"0xFFFFFFFFFFFFFFFFFFFF":         1208925819614629174706175,
		strings.Repeat("9", 20):          1e20,
		"  -" + strings.Repeat("1", 400): math.Inf(-1),
	} {
		require.Equal(t, want, parseUAT(v), "parseInt(%q)", v)
	}
}

// FuzzParseUAT: no panic, and never NaN (JavaScript's NaN || 0 is 0).
func FuzzParseUAT(f *testing.F) {
	for _, s := range []string{"1700000000", "-1", "0x10", " +7", "0x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := parseUAT(s)
		require.False(t, math.IsNaN(n))
		// A plain decimal reads as ParseFloat reads it (the short
		// ones take an integer path of their own).
		if digits := strings.TrimPrefix(s, "+"); digits != "" && strings.Trim(digits, "0123456789") == "" {
			want, _ := strconv.ParseFloat(digits, 64)
			require.Equal(t, want, n, "parseInt(%q)", s)
		}
	})
}
