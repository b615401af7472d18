package parity_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/clerkgate/clerkgate/webhooks"
)

// standardWebhooksVersion is the standardwebhooks that @clerk/backend
// 3.25.0 depends on (^1.0.0), as node/package-lock.json pins it.
const standardWebhooksVersion = "1.1.1"

// strictnessErrors is the error clerkgate must refuse with for each cause
// of docs/webhooks.md's list, so that an unrelated refusal cannot hide
// behind the label.
var strictnessErrors = map[string]error{
	"timestamp-not-digits":  webhooks.ErrInvalidTimestamp,
	"id-charset":            webhooks.ErrInvalidID,
	"signature-list-form":   webhooks.ErrInvalidSignatureHeader,
	"signature-list-length": webhooks.ErrInvalidSignatureHeader,
	"duplicate-header":      webhooks.ErrAmbiguousHeaders,
	"forms-disagree":        webhooks.ErrAmbiguousHeaders,
}

// webhookVector is one signed (or tampered) message, and the cause it
// exercises.
type webhookVector struct {
	ID      string      `json:"id"`
	Cause   string      `json:"-"`
	NowMs   int64       `json:"now_ms"`
	Secret  string      `json:"secret"`
	Headers [][2]string `json:"headers"`
	Body    string      `json:"body"`
}

// TestWebhookParityWithClerk is the differential test of the webhooks
// package against Clerk's choice of verifier: @clerk/backend's
// verifyWebhook and the standardwebhooks package under it, run under Node
// on the same generated vectors, each sent over HTTP to both sides. It
// fails on any message clerkgate accepts and Clerk refuses, and on any
// Clerk accepts and clerkgate refuses for a cause that docs/webhooks.md
// does not list as deliberate strictness; and on a listed cause that no
// vector exercises.
func TestWebhookParityWithClerk(t *testing.T) {
	node, dir := clerkUnderNode(t)
	strict := deliberateWebhookStrictness(t)
	vectors := webhookVectors(rand.New(rand.NewPCG(seed, 23)))

	var out struct {
		StandardWebhooks string `json:"standardwebhooks"`
		ClerkBackend     string `json:"clerk_backend"`
		Results          []struct {
			ID      string `json:"id"`
			OK      bool   `json:"ok"`
			Message string `json:"message"`
		} `json:"results"`
	}
	runNode(t, node, dir, "webhooks.mjs", map[string]any{"vectors": vectors}, &out)
	require.Equal(t, standardWebhooksVersion, out.StandardWebhooks)
	require.Equal(t, clerkBackendVersion, out.ClerkBackend)
	require.Len(t, out.Results, len(vectors))

	gate := gateWebhookVerdicts(t, vectors)
	agreed, used := 0, map[string]int{}
	byCause := map[string][2]int{}
	for i, v := range vectors {
		clerk, ours := out.Results[i], gate[i]
		require.Equal(t, v.ID, clerk.ID)
		c := byCause[v.Cause]
		c[0]++
		switch {
		case clerk.OK == (ours == nil):
			agreed++
			c[1]++
		case ours == nil:
			t.Errorf("%s (%s): clerkgate accepts what Clerk refuses (%s)\n%s", v.ID, v.Cause, clerk.Message, v.describe())
		case strict[v.Cause] == "":
			t.Errorf("%s (%s): clerkgate refuses (%v) what Clerk accepts, and docs/webhooks.md lists no such strictness\n%s",
				v.ID, v.Cause, ours, v.describe())
		case !errors.Is(ours, strictnessErrors[v.Cause]):
			t.Errorf("%s (%s): clerkgate refuses with %v, not %v as the strictness says\n%s",
				v.ID, v.Cause, ours, strictnessErrors[v.Cause], v.describe())
		default:
			used[v.Cause]++
		}
		byCause[v.Cause] = c
	}
	for cause := range strict {
		require.Contains(t, strictnessErrors, cause, "docs/webhooks.md lists a strictness this test has no error for")
		if used[cause] == 0 {
			t.Errorf("docs/webhooks.md lists %q as deliberate strictness, but no vector shows it: drop it, or add vectors", cause)
		}
	}
	t.Logf("%d vectors, %d same verdict, %d deliberate strictness (standardwebhooks %s, @clerk/backend %s)",
		len(vectors), agreed, len(vectors)-agreed, out.StandardWebhooks, out.ClerkBackend)
	causes := make([]string, 0, len(byCause))
	for c := range byCause {
		causes = append(causes, c)
	}
	slices.Sort(causes)
	for _, c := range causes {
		t.Logf("  %-28s %3d vectors, %3d same verdict", c, byCause[c][0], byCause[c][1])
	}
}

func (v webhookVector) describe() string {
	b, _ := json.Marshal(v)
	return string(b)
}

// deliberateWebhookStrictness reads the list from docs/webhooks.md: the
// section "Deliberate strictness", one "- `cause`: why" line each.
func deliberateWebhookStrictness(t *testing.T) map[string]string {
	f, err := os.Open(filepath.Join("..", "docs", "webhooks.md"))
	require.NoError(t, err)
	defer f.Close()
	entry := regexp.MustCompile("^- `([a-z0-9-]+)`: (.+)$")
	out := map[string]string{}
	in := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			in = strings.Contains(line, "Deliberate strictness")
			continue
		}
		if m := entry.FindStringSubmatch(line); in && m != nil {
			out[m[1]] = m[2]
		}
	}
	require.NotEmpty(t, out, "docs/webhooks.md has no \"Deliberate strictness\" list")
	return out
}

// gateWebhookVerdicts sends every vector over HTTP to a server that
// verifies it with the webhooks package, on the vector's clock, and
// returns its errors (nil: accepted).
func gateWebhookVerdicts(t *testing.T, vectors []webhookVector) []error {
	verdicts := make([]error, len(vectors))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, _ := strconv.Atoi(r.URL.Query().Get("i"))
		v := vectors[i]
		ver, err := webhooks.NewVerifier(v.Secret, webhooks.Options{Clock: func() time.Time { return time.UnixMilli(v.NowMs) }})
		if err == nil {
			var body []byte
			if body, err = webhooks.ReadBody(r.Body); err == nil {
				_, err = ver.Verify(r.Header, body)
			}
		}
		verdicts[i] = err
	}))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()
	for i, v := range vectors {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"?i="+strconv.Itoa(i), strings.NewReader(v.Body))
		require.NoError(t, err)
		for _, h := range v.Headers {
			req.Header.Add(h[0], h[1])
		}
		resp, err := client.Do(req)
		require.NoError(t, err, v.ID)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return verdicts
}

// runNode runs one of node/'s scripts on in, in one process, into out.
func runNode(t *testing.T, node, dir, script string, in, out any) {
	t.Helper()
	tmp := t.TempDir()
	inPath, outPath := filepath.Join(tmp, "in.json"), filepath.Join(tmp, "out.json")
	b, err := json.Marshal(in)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(inPath, b, 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, script), inPath, outPath)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	res, err := os.ReadFile(outPath)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(res, out))
}

// webhookVectors generates the vectors: genuine messages in every form,
// and each way of getting one wrong.
func webhookVectors(rnd *rand.Rand) []webhookVector {
	newSecret := func() string {
		b := make([]byte, 24)
		for i := range b {
			b[i] = byte(rnd.UintN(256))
		}
		return "whsec_" + base64.StdEncoding.EncodeToString(b)
	}
	sign := func(secret, id, ts, body string) string {
		key, err := webhooks.ParseSecret(secret)
		if err != nil {
			panic(err)
		}
		s := webhooks.Sign(key, id, ts, []byte(body))
		return "v1," + base64.StdEncoding.EncodeToString(s[:])
	}
	var out []webhookVector
	add := func(cause string, v webhookVector) {
		v.ID = fmt.Sprintf("%s-%d", cause, len(out))
		v.Cause = cause
		out = append(out, v)
	}
	// base returns a genuine message signed now, in the svix- form (or the
	// webhook- one), and what went into it.
	type parts struct {
		secret, id, ts, body string
		now                  int64
	}
	fresh := func() parts {
		now := 1_760_000_000_000 + rnd.Int64N(1_000_000_000)
		id := "msg_" + strconv.FormatUint(rnd.Uint64(), 36)
		body := fmt.Sprintf(`{"data":{"id":"sess_%d","object":"session","status":"revoked","user_id":"user_%d"},"object":"event","type":"session.revoked","timestamp":%d,"instance_id":"ins_1"}`,
			rnd.Uint32(), rnd.Uint32(), now)
		return parts{secret: newSecret(), id: id, ts: strconv.FormatInt(now/1000, 10), body: body, now: now}
	}
	headers := func(prefix string, id, ts, sig string) [][2]string {
		return [][2]string{{prefix + "id", id}, {prefix + "timestamp", ts}, {prefix + "signature", sig}}
	}
	vec := func(p parts, h [][2]string) webhookVector {
		return webhookVector{NowMs: p.now, Secret: p.secret, Headers: h, Body: p.body}
	}

	for range 8 {
		for _, prefix := range []string{"svix-", "webhook-"} {
			p := fresh()
			sig := sign(p.secret, p.id, p.ts, p.body)
			add("valid", vec(p, headers(prefix, p.id, p.ts, sig)))
			// Rotation: the genuine signature among others, in any position.
			other := sign(newSecret(), p.id, p.ts, p.body)
			add("valid-rotated", vec(p, headers(prefix, p.id, p.ts, other+" "+sig)))
			add("valid-rotated", vec(p, headers(prefix, p.id, p.ts, sig+" "+other)))
			add("valid-other-versions", vec(p, headers(prefix, p.id, p.ts, "v1a,"+strings.TrimPrefix(other, "v1,")+" "+sig)))
			// Header names in any case; both forms, agreeing.
			add("valid", vec(p, headers(strings.ToUpper(prefix), p.id, p.ts, sig)))
			add("valid-both-forms", vec(p, append(headers("svix-", p.id, p.ts, sig), headers("webhook-", p.id, p.ts, sig)...)))
			// Whitespace around a value, which HTTP drops.
			add("valid", vec(p, headers(prefix, p.id, " "+p.ts+" ", " "+sig)))

			// Tampering.
			add("tampered-body", webhookVector{NowMs: p.now, Secret: p.secret, Headers: headers(prefix, p.id, p.ts, sig),
				Body: strings.Replace(p.body, "revoked", "revokee", 1)})
			add("tampered-body", webhookVector{NowMs: p.now, Secret: p.secret, Headers: headers(prefix, p.id, p.ts, sig), Body: p.body + " "})
			add("tampered-id", vec(p, headers(prefix, p.id+"x", p.ts, sig)))
			ts, _ := strconv.ParseInt(p.ts, 10, 64)
			add("tampered-timestamp", vec(p, headers(prefix, p.id, strconv.FormatInt(ts+1, 10), sig)))
			flipped := []byte(sig)
			flipped[3+rnd.IntN(40)] ^= 0x01
			add("tampered-signature", vec(p, headers(prefix, p.id, p.ts, string(flipped))))
			add("wrong-secret", vec(p, headers(prefix, p.id, p.ts, other)))
			add("wrong-secret", vec(p, headers(prefix, p.id, p.ts, other+" "+sign(newSecret(), p.id, p.ts, p.body))))

			// Tolerance: five minutes either way, to the second, judged on
			// the whole second of the clock.
			for _, d := range []int64{-301, -300, 300, 301} {
				q := p
				q.ts = strconv.FormatInt(ts+d, 10)
				cause := "tolerance-inside"
				if d == -301 || d == 301 {
					cause = "tolerance-outside"
				}
				add(cause, vec(q, headers(prefix, q.id, q.ts, sign(q.secret, q.id, q.ts, q.body))))
			}

			// Missing and empty headers.
			h := headers(prefix, p.id, p.ts, sig)
			for i := range h {
				add("missing-header", vec(p, slices.Delete(slices.Clone(h), i, i+1)))
				empty := slices.Clone(h)
				empty[i][1] = ""
				add("missing-header", vec(p, empty))
			}

			// Timestamps that JavaScript's parseInt reads, and signs, as a
			// number: standardwebhooks signs the number, not the header.
			for _, form := range []string{"0" + p.ts, "+" + p.ts, p.ts + "abc", p.ts + ".5", p.ts + " 7"} {
				add("timestamp-not-digits", vec(p, headers(prefix, p.id, form, sig)))
			}
			for _, form := range []string{"abc", "", "-" + p.ts, p.ts + "000"} {
				if form != "" {
					add("timestamp-invalid", vec(p, headers(prefix, p.id, form, sign(p.secret, p.id, form, p.body))))
				}
			}

			// Ids with a dot, which blurs where the id ends in the signed
			// content, and with characters outside printable ASCII.
			for _, id := range []string{p.id + ".1", "msg.x", p.id + "é"} {
				add("id-charset", vec(p, headers(prefix, id, p.ts, sign(p.secret, id, p.ts, p.body))))
			}

			// Signature lists that standardwebhooks splits leniently.
			for _, list := range []string{sig + "  " + other, sig + " ", other + " , " + sig, sig + ",extra",
				"v1 " + sig, sig + " v1,", "," + other + " " + sig} {
				add("signature-list-form", vec(p, headers(prefix, p.id, p.ts, list)))
			}
			many := strings.Repeat(other+" ", 16) + sig
			add("signature-list-length", vec(p, headers(prefix, p.id, p.ts, many)))
			for _, list := range []string{strings.TrimPrefix(sig, "v1,"), "v2," + strings.TrimPrefix(sig, "v1,"),
				"v1," + strings.TrimRight(strings.TrimPrefix(sig, "v1,"), "="), "v1," + strings.ReplaceAll(strings.ReplaceAll(strings.TrimPrefix(sig, "v1,"), "+", "-"), "/", "_")} {
				add("signature-malformed", vec(p, headers(prefix, p.id, p.ts, list)))
			}

			// The same header twice: an HTTP stack joins the values with
			// ", ", and standardwebhooks then reads what it can.
			add("duplicate-header", vec(p, append(headers(prefix, p.id, p.ts, sig), [2]string{prefix + "signature", other})))
			add("duplicate-header", vec(p, append(headers(prefix, p.id, p.ts, other), [2]string{prefix + "signature", sig})))
			add("duplicate-header", vec(p, append(headers(prefix, p.id, p.ts, sig), [2]string{prefix + "id", p.id})))
		}
		// Both forms, disagreeing: Clerk reads only the svix- form.
		p := fresh()
		sig := sign(p.secret, p.id, p.ts, p.body)
		add("forms-disagree", vec(p, append(headers("svix-", p.id, p.ts, sig), headers("webhook-", "msg_other", p.ts, sig)...)))
		add("forms-disagree", vec(p, append(headers("svix-", p.id, p.ts, sig), [2]string{"webhook-signature", "v1,AAAA"})))
	}
	return out
}
