// Runs Clerk's own session-token verification on a batch of tokens, for the
// differential test in ../parity_test.go. One process handles the whole
// batch: a JSON file in, a JSON file out.
//
//	node verify.mjs in.json out.json
//
// in.json:  {"now": <Unix s>, "skew_ms", "jwt_key" (PEM), "issuer",
//            "authorized_parties": [...], "secret_key", "publishable_key",
//            "tokens": [{"id", "token"}]}
// out.json: {"clerk_backend": "<version>", "results": [{"id",
//            "verify": {"ok", "reason", "message", "claims"},
//            "request": {"ok", "reason", "message"} | null}]}
//
// "verify" is verifyToken, Clerk's verification primitive. "request" is
// authenticateRequest with the token as a Bearer header: what a Clerk
// backend actually does with a session token, including the checks
// verifyToken leaves to it (JWT category, machine tokens, pending
// sessions). It is null for a token no HTTP header can carry (a byte
// outside 0x21–0x7e), whose verdict is then verifyToken's.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { createClerkClient, verifyToken } from '@clerk/backend';

const [inPath, outPath] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error('usage: node verify.mjs in.json out.json');
  process.exit(2);
}
const input = JSON.parse(readFileSync(inPath, 'utf8'));

// Clerk reads the clock through Date.now (assertExpirationClaim and its
// siblings do `new Date(Date.now())`); pin it to the Go side's instant.
const nowMs = input.now * 1000;
Date.now = () => nowMs;

const options = {
  jwtKey: input.jwt_key,
  issuer: input.issuer,
  authorizedParties: input.authorized_parties,
  clockSkewInMs: input.skew_ms,
};
const clerk = createClerkClient({
  secretKey: input.secret_key,
  publishableKey: input.publishable_key,
  jwtKey: input.jwt_key,
  telemetry: { disabled: true },
});

function headerSafe(token) {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function refusal(err) {
  return { ok: false, reason: String(err?.reason ?? err?.name ?? 'error'), message: String(err?.message ?? err) };
}

// The claims a verdict is about, to check that both sides read the same
// values from an accepted token (a case-folding or last-duplicate-wins
// parser can accept the right token and read the wrong subject).
const compared = ['sub', 'sid', 'azp', 'iss', 'exp', 'nbf', 'iat', 'sts'];

async function viaVerifyToken(token) {
  try {
    const payload = await verifyToken(token, options); // throws on every refusal
    const claims = {};
    for (const name of compared) {
      if (payload[name] !== undefined) claims[name] = payload[name];
    }
    return { ok: true, claims };
  } catch (err) {
    return refusal(err);
  }
}

async function viaRequest(token) {
  if (!headerSafe(token)) return null;
  try {
    const req = new Request('https://api.example.com/me', { headers: { Authorization: `Bearer ${token}` } });
    const state = await clerk.authenticateRequest(req, {
      issuer: input.issuer,
      authorizedParties: input.authorized_parties,
      clockSkewInMs: input.skew_ms,
    });
    if (!state.isSignedIn) {
      return { ok: false, reason: String(state.reason), message: String(state.message ?? '') };
    }
    // toAuth treats a pending session as signed out, as every Clerk SDK does
    // by default. It also parses the authorization claims (fea, pla, o) and
    // throws on some malformed ones: that is a crash after verification
    // accepted the token, reported as an acceptance with the error noted.
    let auth;
    try {
      auth = state.toAuth();
    } catch (err) {
      return { ok: true, reason: 'to-auth-threw', message: String(err?.message ?? err) };
    }
    if (!auth || !auth.userId) {
      return { ok: false, reason: `signed-out:${auth?.sessionStatus ?? 'unknown'}`, message: '' };
    }
    return { ok: true };
  } catch (err) {
    return refusal(err);
  }
}

const results = [];
for (const { id, token } of input.tokens) {
  results.push({ id, verify: await viaVerifyToken(token), request: await viaRequest(token) });
}
const version = createRequire(import.meta.url)('@clerk/backend/package.json').version;
writeFileSync(outPath, JSON.stringify({ clerk_backend: version, results }));
