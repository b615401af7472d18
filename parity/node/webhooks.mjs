// Runs Clerk's own webhook verification on a batch of signed messages, for
// the differential test in ../webhooks_test.go. One process handles the
// whole batch: a JSON file in, a JSON file out.
//
//	node webhooks.mjs in.json out.json
//
// in.json:  {"vectors": [{"id", "now_ms", "secret", "headers": [[name, value], …], "body"}]}
// out.json: {"standardwebhooks": "<version>", "clerk_backend": "<version>",
//            "results": [{"id", "ok", "message"}]}
//
// Each vector's headers go into a fetch Request, as an HTTP request would
// bring them (values trimmed, repeated headers joined with ", "). A vector
// with any svix- header is verified by @clerk/backend's verifyWebhook,
// which reads the svix- headers only and hands them to standardwebhooks; a
// vector without is verified by standardwebhooks' Webhook.verify directly,
// with the webhook- headers. Both are Clerk's choice of verifier.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { verifyWebhook } from '@clerk/backend/webhooks';
import { Webhook } from 'standardwebhooks';

const [inPath, outPath] = process.argv.slice(2);
if (!inPath || !outPath) {
  console.error('usage: node webhooks.mjs in.json out.json');
  process.exit(2);
}
const input = JSON.parse(readFileSync(inPath, 'utf8'));

// standardwebhooks reads the clock through Date.now.
const realNow = Date.now;
const results = [];
for (const v of input.vectors) {
  Date.now = () => v.now_ms;
  const result = { id: v.id, ok: false, message: '' };
  try {
    const req = new Request('http://localhost/webhooks/clerk', {
      method: 'POST',
      headers: v.headers,
      body: v.body,
    });
    if (v.headers.some(([name]) => name.toLowerCase().startsWith('svix-'))) {
      await verifyWebhook(req, { signingSecret: v.secret });
    } else {
      const headers = {};
      req.headers.forEach((value, name) => {
        headers[name] = value;
      });
      new Webhook(v.secret).verify(await req.text(), headers, { jsonParse: false });
    }
    result.ok = true;
  } catch (e) {
    result.message = e instanceof Error ? e.message : String(e);
  }
  results.push(result);
}
Date.now = realNow;

const require = createRequire(import.meta.url);
writeFileSync(
  outPath,
  JSON.stringify({
    standardwebhooks: require('standardwebhooks/package.json').version,
    clerk_backend: require('@clerk/backend/package.json').version,
    results,
  }),
);
