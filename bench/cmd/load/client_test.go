package main

import (
	"bufio"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadResponse(t *testing.T) {
	for _, tc := range []struct {
		name   string
		wire   string
		status int
		keep   bool
	}{
		{"content length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 200, true},
		{"chunked with trailer", "HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nTrailer: 1\r\n\r\n", 401, true},
		{"no content", "HTTP/1.1 204 No Content\r\n\r\n", 204, true},
		{"connection close", "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 200, false},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, false},
		{"body to EOF", "HTTP/1.1 200 OK\r\n\r\nuntil the end", 200, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A second response follows, to check the first was read exactly.
			br := bufio.NewReader(strings.NewReader(tc.wire + "HTTP/1.1 204 No Content\r\n\r\n"))
			status, keep, err := readResponse(br)
			if err != nil || status != tc.status || keep != tc.keep {
				t.Fatalf("readResponse = %d, %v, %v; want %d, %v", status, keep, err, tc.status, tc.keep)
			}
			if !keep {
				return
			}
			if status, _, err := readResponse(br); err != nil || status != 204 {
				t.Fatalf("next response = %d, %v", status, err)
			}
		})
	}
	if _, _, err := readResponse(bufio.NewReader(strings.NewReader("garbage\r\n\r\n"))); err == nil {
		t.Fatal("garbage accepted")
	}
}

func TestDrive(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Header.Get("Authorization") == "Bearer bad":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/chunked":
			w.Write([]byte("part one"))
			w.(http.Flusher).Flush()
			w.Write([]byte("part two"))
		case r.URL.Path == "/close":
			w.Header().Set("Connection", "close")
			fmt.Fprint(w, "bye")
		default:
			fmt.Fprint(w, r.Header.Get("Authorization"))
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")

	for _, path := range []string{"/", "/chunked", "/close"} {
		out := drive(addr, 4, phase{path: path, requests: 200, token: func(i int64) string { return fmt.Sprint("t", i) }}, nil)
		if out.ok != 200 || out.failed != 0 {
			t.Fatalf("%s: %d ok, %d failed (%s)", path, out.ok, out.failed, out.firstFailure)
		}
	}
	out := drive(addr, 2, phase{path: "/", requests: 10, token: func(i int64) string {
		if i%2 == 0 {
			return "bad"
		}
		return "good"
	}}, nil)
	if out.ok != 5 || out.failed != 5 || out.firstFailure != "status 401" {
		t.Fatalf("mixed: %+v", out)
	}
	out = drive(addr, 2, phase{path: "/", duration: 50 * time.Millisecond, token: func(int64) string { return "" }}, nil)
	if out.ok == 0 || out.failed != 0 {
		t.Fatalf("timed: %+v", out)
	}
}

// Every token of the 10× stream is used exactly 10 times, and never twice
// within one window.
func TestMixToken(t *testing.T) {
	const requests = 3 * 10 * mixWindow
	uses := map[int64][]int64{}
	for g := int64(0); g < requests; g++ {
		tok := mixToken(g)
		uses[tok] = append(uses[tok], g)
	}
	if len(uses) != requests/10 {
		t.Fatalf("%d tokens, want %d", len(uses), requests/10)
	}
	for tok, at := range uses {
		if len(at) != 10 {
			t.Fatalf("token %d used %d times", tok, len(at))
		}
		for i := 1; i < len(at); i++ {
			if at[i]-at[i-1] != mixWindow {
				t.Fatalf("token %d used at %v", tok, at)
			}
		}
	}
}
