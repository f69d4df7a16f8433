// The browser suite: a real Chromium (Debian's, driven by playwright-core)
// registers on the demo page, through `fidogate run` in front of the demo
// app, with Chrome DevTools virtual authenticators, in every WebAuthn
// dialect; then a captured registration is replayed and must be refused.
// Each scenario checks what the app stored from the gateway's header.
//
//   node tests/browser/suite.js     (scripts/browser.sh builds and runs it)
//
// FIDOGATE_BIN and DEMO_APP_BIN name the binaries (target/debug/...),
// CHROMIUM the browser (/usr/bin/chromium). Everything listens on
// 127.0.0.1; the browser is refused every other host. A failure saves a
// screenshot under target/browser/ and prints its path.

import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { webcrypto } from "node:crypto";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FIDOGATE = process.env.FIDOGATE_BIN || path.join(ROOT, "target/debug/fidogate");
const DEMO_APP = process.env.DEMO_APP_BIN || path.join(ROOT, "target/debug/demo-app");
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const SHOTS = path.join(ROOT, "target/browser");
const DEADLINE_MS = 240_000;

// Chromium without its calls home (this machine has no network beyond
// loopback, and the suite must not depend on one).
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-default-apps",
  "--disable-features=MediaRouter,OptimizationHints,Translate",
  "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost",
];

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(url, what, child) {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}) before answering`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${what} did not answer ${url} within 60 s`);
}

// Every process started, stopped however the suite ends.
const children = [];
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

function start(bin, args, env, name, logs) {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  const keep = (chunk) => {
    logs.push(`[${name}] ${chunk.toString().trimEnd()}`);
    if (logs.length > 400) logs.shift();
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  children.push(child);
  return child;
}

function b64uToBytes(s) {
  return Buffer.from(s.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** The claims of a verified-credential token, its ES256 signature checked with the JWKS. */
async function verifyToken(token, jwks) {
  const parts = token.split(".");
  if (parts.length !== 3) throw new Error(`the token is not a compact JWS: ${token}`);
  const header = JSON.parse(b64uToBytes(parts[0]).toString());
  const jwk = jwks.keys.find((k) => k.kid === header.kid);
  if (!jwk) throw new Error(`no JWKS key ${header.kid}`);
  if (header.alg !== "ES256") throw new Error(`token alg ${header.alg}`);
  const key = await webcrypto.subtle.importKey("jwk", jwk, { name: "ECDSA", namedCurve: "P-256" }, false, [
    "verify",
  ]);
  const ok = await webcrypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    key,
    b64uToBytes(parts[2]),
    new TextEncoder().encode(`${parts[0]}.${parts[1]}`),
  );
  if (!ok) throw new Error("the token's signature does not verify with the gateway's JWKS");
  return JSON.parse(b64uToBytes(parts[1]).toString());
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// A platform authenticator (Windows Hello, Touch ID) as CTAP2 sees it.
const PLATFORM = {
  protocol: "ctap2",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
};

// Each scenario: the virtual authenticator, what the page asks for, and
// what the app must have stored.
const SCENARIOS = [
  {
    name: "webauthn-platform-none",
    dialect: "webauthn",
    attestation: "none",
    authenticator: PLATFORM,
    fmt: "none",
    captureReplay: true,
  },
  {
    name: "webauthn-security-key-packed",
    dialect: "webauthn",
    attestation: "direct",
    authenticator: { protocol: "ctap2", transport: "usb", hasResidentKey: false, hasUserVerification: false },
    fmt: "packed",
    attested: true,
  },
  {
    name: "webauthn-u2f",
    dialect: "webauthn",
    attestation: "direct",
    authenticator: { protocol: "u2f", transport: "usb" },
    fmt: "fido-u2f",
    attested: true,
    zeroAaguid: true,
  },
  {
    name: "nevis-platform",
    dialect: "nevis",
    attestation: "none",
    authenticator: PLATFORM,
    fmt: "none",
    token: true,
  },
  {
    name: "dfns-fido2",
    dialect: "dfns",
    attestation: "direct",
    authenticator: { protocol: "ctap2", transport: "usb", hasResidentKey: true, hasUserVerification: false },
    fmt: "packed",
    attested: true,
    kind: "Fido2",
  },
];

const RESULT_PATHS = {
  webauthn: "/attestation/result",
  nevis: "/_app/attestation/result",
  dfns: "/auth/registration",
};

async function scenario(s, { page, cdp, gateway, jwks, captured }) {
  const username = `browser-${s.name}`;
  const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { ...s.authenticator, automaticPresenceSimulation: true },
  });
  try {
    let posted = null;
    const onRequest = (req) => {
      if (req.method() === "POST" && new URL(req.url()).pathname === RESULT_PATHS[s.dialect]) {
        posted = req.postData();
      }
    };
    page.on("request", onRequest);
    await page.goto(`${gateway}/`);
    await page.fill("#username", username);
    await page.selectOption("#dialect", s.dialect);
    await page.selectOption("#attestation", s.attestation);
    await page.click("#register");
    await page.waitForFunction(
      () => !["-", "…"].includes(document.getElementById("status").textContent),
      null,
      { timeout: 30_000 },
    );
    page.off("request", onRequest);
    const status = await page.textContent("#status");
    const result = JSON.parse(await page.textContent("#result"));
    check(
      status === "success-registration",
      `the page shows ${status}: ${JSON.stringify(result)}`,
    );
    check(result.success === true && result.code.message === "Successfully registered WebAuthn credential.",
      `result object ${JSON.stringify(result)}`);

    // The credential the virtual authenticator holds now.
    const { credentials } = await cdp.send("WebAuthn.getCredentials", { authenticatorId });
    check(credentials.length === 1, `the authenticator holds ${credentials.length} credentials`);
    const credId = Buffer.from(credentials[0].credentialId, "base64").toString("base64url");

    // What the app stored from the header (read through the gateway).
    const records = await (await fetch(`${gateway}/registrations`)).json();
    const mine = records.filter((r) => r.username === username);
    check(mine.length === 1, `the app stored ${mine.length} records for ${username}`);
    const record = mine[0];
    check(record.dialect === s.dialect, `stored dialect ${record.dialect}`);
    check(record.credentials.length === 1, `stored ${record.credentials.length} credentials`);
    const c = record.credentials[0];
    check(c.id === credId, `stored credential id ${c.id}, the authenticator's is ${credId}`);
    check(c.fmt === s.fmt, `stored fmt ${c.fmt}, expected ${s.fmt}`);
    check(c.cose_alg === -7 && c.alg === "ES256", `stored alg ${c.alg} (${c.cose_alg})`);
    check(c.protocol === "webauthn", `stored protocol ${c.protocol}`);
    check(c.flags && c.flags.up === true, `stored flags ${JSON.stringify(c.flags)}`);
    if (s.attested) check(c.attestation_type !== "none", `attestation type ${c.attestation_type}`);
    if (s.zeroAaguid) {
      check(c.aaguid === "00000000-0000-0000-0000-000000000000", `aaguid ${c.aaguid}`);
    }
    if (s.kind) check(c.kind === s.kind && c.role === "firstFactor", `kind ${c.kind}, role ${c.role}`);

    // The page's table shows the stored row.
    const row = page.locator(`#stored tr[data-credential-id="${credId}"]`);
    await row.waitFor({ timeout: 10_000 });
    const cells = await row.locator("td").allTextContents();
    check(cells[0] === username && cells[3] === s.fmt && cells[4].startsWith("ES256"),
      `the table row reads ${JSON.stringify(cells)}`);

    if (s.token) {
      check(typeof result.token === "string" && result.token !== "", "no token on the page");
      const claims = await verifyToken(result.token, jwks);
      check(claims.credentials[0].id === credId && claims.dialect === "nevis",
        `the token names ${claims.credentials[0].id} (${claims.dialect})`);
    } else {
      check(result.token === null, `token ${result.token}`);
    }
    check(posted !== null, "the registration request was not seen");
    if (s.captureReplay) captured.push({ path: RESULT_PATHS[s.dialect], body: posted, username });
    return `${s.fmt}, ${c.alg}, aaguid ${c.aaguid}, credential ${credId.slice(0, 12)}…`;
  } finally {
    await cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId });
  }
}

async function main() {
  const logs = [];
  const dir = mkdtempSync(path.join(tmpdir(), "fidogate-browser-"));
  const [gwPort, appPort] = [await freePort(), await freePort()];
  const gateway = `http://localhost:${gwPort}`;
  writeFileSync(
    path.join(dir, "fidogate.yaml"),
    `listen: ["127.0.0.1:${gwPort}"]
upstream: ["127.0.0.1:${appPort}"]
threads: 1
grace_period_secs: 0
signing_key_file: signing-key.pem
secret_file: secret
gateway:
  issuer: fidogate
  audience: demo-app
  header_name: Fidogate-Credential
  rp: { id: localhost, name: fidogate browser suite, origins: ["${gateway}"] }
  webauthn: { user_verification: preferred, attestation: none }
  routes:
    - { name: passkeys, dialect: webauthn }
    - { name: cloud, dialect: nevis }
    - { name: wallet, dialect: dfns }
`,
  );
  const app = start(DEMO_APP, [], { DEMO_APP_ADDR: `127.0.0.1:${appPort}`, FIDOGATE_ADDR: `127.0.0.1:${gwPort}` },
    "demo-app", logs);
  const gw = start(FIDOGATE, ["run", "--config", path.join(dir, "fidogate.yaml")], {}, "fidogate", logs);
  let browser;
  let failed = 0;
  const outside = [];
  try {
    await waitFor(`http://127.0.0.1:${appPort}/registrations`, "the demo app", app);
    await waitFor(`http://127.0.0.1:${gwPort}/healthz`, "fidogate run", gw);
    const jwks = await (await fetch(`${gateway}/.well-known/fidogate/jwks.json`)).json();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    console.log(`browser: ${CHROMIUM} ${browser.version()} (headless); gateway ${gateway}`);
    const context = await browser.newContext();
    await context.route("**/*", (route) => {
      const host = new URL(route.request().url()).hostname;
      if (host === "localhost" || host === "127.0.0.1") return route.continue();
      outside.push(route.request().url());
      return route.abort();
    });
    const page = await context.newPage();
    page.on("pageerror", (e) => logs.push(`[page] ${e.message}`));
    const cdp = await context.newCDPSession(page);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    const captured = [];
    for (const s of SCENARIOS) {
      try {
        const said = await scenario(s, { page, cdp, gateway, jwks, captured });
        console.log(`ok   ${s.name}: ${said}`);
      } catch (e) {
        failed += 1;
        mkdirSync(SHOTS, { recursive: true });
        const shot = path.join(SHOTS, `${s.name}.png`);
        await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
        console.log(`FAIL ${s.name}: ${e.message}\n     screenshot: ${shot}`);
      }
    }
    // A captured registration, sent again: refused as a replay, and the
    // app stores nothing more.
    try {
      check(captured.length === 1, "no registration was captured to replay");
      const { path: at, body, username } = captured[0];
      const before = (await (await fetch(`${gateway}/registrations`)).json()).length;
      const r = await fetch(`${gateway}${at}`, {
        method: "POST",
        headers: { "content-type": "application/json", origin: gateway },
        body,
      });
      const answer = await r.json();
      check(r.status === 403, `the replay was answered ${r.status}: ${JSON.stringify(answer)}`);
      check(/already used/.test(answer.errorMessage), `the replay's message: ${answer.errorMessage}`);
      const after = (await (await fetch(`${gateway}/registrations`)).json()).length;
      check(after === before, `the app stored ${after - before} more records`);
      console.log(`ok   replay of ${username}'s registration: 403 ${answer.errorMessage}`);
    } catch (e) {
      failed += 1;
      console.log(`FAIL replay: ${e.message}`);
    }
    if (outside.length) {
      failed += 1;
      console.log(`FAIL the page asked for hosts other than localhost: ${outside.join(", ")}`);
    }
  } finally {
    if (browser) await browser.close();
    gw.kill("SIGTERM");
    app.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) {
    console.log(`${failed} failed; the last lines the processes wrote:\n${logs.slice(-60).join("\n")}`);
    process.exit(1);
  }
  console.log(`browser suite: ${SCENARIOS.length + 1} passed, 0 failed`);
}

const timer = setTimeout(() => {
  console.log(`FAIL the browser suite did not finish within ${DEADLINE_MS / 1000} s`);
  process.exit(1);
}, DEADLINE_MS);
timer.unref();
main().then(
  () => process.exit(0),
  (e) => {
    console.log(`FAIL ${e.stack || e}`);
    process.exit(1);
  },
);
