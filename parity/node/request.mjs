// Runs Clerk's own authenticateRequest on a batch of HTTP requests, for the
// request-level differential test in ../request_test.go. One process
// handles the whole batch: a JSON file in, a JSON file out.
//
//	node request.mjs in.json out.json
//
// in.json:  {"now": <Unix s>, "jwt_key" (PEM), "api_url",
//            "instances": {"<name>": {"publishable_key", "secret_key", "issuer",
//                          "is_satellite", "domain", "proxy_url",
//                          "sign_in_url", "authorized_parties" (optional),
//                          "satellite_auto_sync", "organization_patterns",
//                          "personal_account_patterns"}},
//            "requests": [{"id", "instance", "method", "url",
//                          "headers": [[name, value], ...]}]}
// out.json: {"clerk_backend": "<version>", "results": [{"id", "status",
//            "reason", "signed_in", "sid", "sub", "location",
//            "set_cookies": [...], "auth_status", "auth_reason",
//            "threw"}]}
//
// The Backend API (refresh, handshake payloads) is the Go test's fake at
// api_url; keys come from jwt_key, so no JWKS is fetched.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { createClerkClient } from '@clerk/backend';

const [inPath, outPath] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error('usage: node request.mjs in.json out.json');
  process.exit(2);
}
const input = JSON.parse(readFileSync(inPath, 'utf8'));

// Clerk reads the clock through Date.now; pin it to the Go side's instant.
const nowMs = input.now * 1000;
Date.now = () => nowMs;

// Clerk logs handshake and refresh failures on the console; the verdicts
// are what this script reports.
console.log = () => {};
console.error = () => {};
console.warn = () => {};

const clients = {};
for (const [name, inst] of Object.entries(input.instances)) {
  clients[name] = {
    inst,
    clerk: createClerkClient({
      secretKey: inst.secret_key,
      publishableKey: inst.publishable_key,
      jwtKey: input.jwt_key,
      apiUrl: input.api_url,
      telemetry: { disabled: true },
    }),
  };
}

async function judge({ id, instance, method, url, headers }) {
  const { inst, clerk } = clients[instance];
  const out = { id, status: '', reason: '', signed_in: false, sid: '', sub: '', location: '', set_cookies: [] };
  let state;
  try {
    const req = new Request(url, { method, headers });
    state = await clerk.authenticateRequest(req, {
      isSatellite: inst.is_satellite || undefined,
      domain: inst.domain || undefined,
      proxyUrl: inst.proxy_url || undefined,
      signInUrl: inst.sign_in_url || undefined,
      issuer: inst.issuer,
      authorizedParties: inst.authorized_parties || undefined,
      satelliteAutoSync: inst.satellite_auto_sync || undefined,
      organizationSyncOptions:
        inst.organization_patterns || inst.personal_account_patterns
          ? {
              organizationPatterns: inst.organization_patterns ?? undefined,
              personalAccountPatterns: inst.personal_account_patterns ?? undefined,
            }
          : undefined,
    });
  } catch (err) {
    out.threw = String(err?.message ?? err);
    return out;
  }
  out.status = String(state.status);
  out.reason = state.reason == null ? '' : String(state.reason);
  const h = state.headers;
  out.location = h.get('location') ?? '';
  out.set_cookies = h.getSetCookie();
  out.auth_status = h.get('x-clerk-auth-status') ?? '';
  out.auth_reason = h.get('x-clerk-auth-reason') ?? '';
  if (state.status === 'signed-in') {
    // toAuth treats a pending session as signed out, as every Clerk SDK
    // does by default.
    try {
      const auth = state.toAuth();
      if (auth && auth.userId) {
        out.signed_in = true;
        out.sid = auth.sessionId ?? '';
        out.sub = auth.userId ?? '';
      }
    } catch (err) {
      out.threw = 'toAuth: ' + String(err?.message ?? err);
    }
  }
  return out;
}

const results = [];
for (const r of input.requests) {
  results.push(await judge(r));
}
const version = createRequire(import.meta.url)('@clerk/backend/package.json').version;
writeFileSync(outPath, JSON.stringify({ clerk_backend: version, results }));
