// The benchmark's "verify in the app" alternative in Node.js: an app that
// runs WebAuthn registration itself with @simplewebauthn/server, as its
// documentation shows, on node:http (no framework).
//
//   node server.mjs --listen 127.0.0.1:PORT --rp-id example.com \
//     --origin https://example.com --root root.pem
//
// POST /attestation/options  {"username": ...}  -> the creation options
//   (direct attestation); the expected challenge is kept for that user.
// POST /attestation/result?username=...  the PublicKeyCredential JSON ->
//   200 {"status":"ok"} once verified (the attestation chain must reach
//   --root, the only root the app trusts for packed attestation), 400
//   otherwise. A challenge is used once. GET /pass answers 200 (the
//   harness's readiness probe).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import {
  generateRegistrationOptions,
  verifyRegistrationResponse,
  SettingsService,
} from '@simplewebauthn/server';

function arg(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0 || i + 1 >= process.argv.length) {
    console.error(`simplewebauthn app: --${name} is required`);
    process.exit(2);
  }
  return process.argv[i + 1];
}

const [host, port] = arg('listen').split(':');
const rpID = arg('rp-id');
const origin = arg('origin');
SettingsService.setRootCertificates({
  identifier: 'packed',
  certificates: [readFileSync(arg('root'), 'utf8')],
});

// Pending registrations: user name -> expected challenge. Bounded, as an
// app's session store would be.
const pending = new Map();
const MAX_PENDING = 100000;
const MAX_BODY = 64 * 1024;

function answer(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new Error('body too large'));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

async function handle(req, res) {
  const url = new URL(req.url, 'http://app');
  if (req.method === 'GET' && url.pathname === '/pass') {
    return answer(res, 200, { ok: true });
  }
  if (req.method !== 'POST') return answer(res, 404, { status: 'failed' });
  const body = await readBody(req);
  if (url.pathname === '/attestation/options') {
    const { username, displayName } = JSON.parse(body.toString('utf8'));
    if (typeof username !== 'string' || username === '') {
      return answer(res, 400, { status: 'failed', errorMessage: 'username' });
    }
    if (pending.size >= MAX_PENDING) {
      return answer(res, 503, { status: 'failed', errorMessage: 'too many pending' });
    }
    const options = await generateRegistrationOptions({
      rpName: 'fidogate bench',
      rpID,
      userName: username,
      userDisplayName: displayName ?? username,
      attestationType: 'direct',
      supportedAlgorithmIDs: [-7],
    });
    pending.set(username, options.challenge);
    return answer(res, 200, options);
  }
  if (url.pathname === '/attestation/result') {
    const username = url.searchParams.get('username');
    const expectedChallenge = pending.get(username);
    if (expectedChallenge === undefined) {
      return answer(res, 400, { status: 'failed', errorMessage: 'no pending registration' });
    }
    pending.delete(username);
    try {
      const verification = await verifyRegistrationResponse({
        response: JSON.parse(body.toString('utf8')),
        expectedChallenge,
        expectedOrigin: origin,
        expectedRPID: rpID,
        requireUserVerification: true,
      });
      if (!verification.verified) {
        return answer(res, 400, { status: 'failed', errorMessage: 'not verified' });
      }
      return answer(res, 200, { status: 'ok', errorMessage: '' });
    } catch (e) {
      return answer(res, 400, { status: 'failed', errorMessage: String(e.message ?? e) });
    }
  }
  return answer(res, 404, { status: 'failed' });
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => answer(res, 400, { status: 'failed', errorMessage: String(e.message ?? e) }));
});
server.keepAliveTimeout = 60000;
server.listen(Number(port), host);
// A clean exit on SIGTERM or SIGINT, so that `node --cpu-prof` writes its
// profile when the app is stopped.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
