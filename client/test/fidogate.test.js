// Unit tests of fidogate.js with node's own runner: a stubbed fetch and
// navigator.credentials, each result code produced by its cause.
// Run: node --test client/test/

import { test } from "node:test";
import assert from "node:assert/strict";
import { CODES, DIALECTS, decode, encode, register } from "../fidogate.js";

const CHALLENGE = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const USER_ID = "dXNlci1oYW5kbGU";

function options(extra = {}) {
  return {
    status: "ok",
    errorMessage: "",
    rp: { id: "localhost", name: "demo" },
    user: { id: USER_ID, name: "alice", displayName: "alice" },
    challenge: CHALLENGE,
    pubKeyCredParams: [{ type: "public-key", alg: -7 }],
    timeout: 300000,
    excludeCredentials: [],
    authenticatorSelection: { userVerification: "preferred" },
    attestation: "none",
    extensions: {},
    ...extra,
  };
}

/** A fetch answering each URL from `routes` (status, JSON or text), recording calls. */
function stubFetch(routes) {
  const calls = [];
  const fetch = async (url, init) => {
    calls.push({ url, init, body: init && init.body ? JSON.parse(init.body) : undefined });
    const route = routes[url];
    if (!route) throw new TypeError(`fetch failed: ${url}`);
    if (route instanceof Error) throw route;
    const [status, body] = route;
    const text = typeof body === "string" ? body : JSON.stringify(body);
    return { status, text: async () => text };
  };
  return { fetch, calls };
}

const bytes = (...b) => new Uint8Array(b).buffer;

/** A credentials container whose create() gives a credential (or throws `error`). */
function stubCredentials({ error, toJSON } = {}) {
  const seen = [];
  return {
    seen,
    create: async (arg) => {
      seen.push(arg);
      if (error) throw error;
      const cred = {
        id: "AQID",
        rawId: bytes(1, 2, 3),
        type: "public-key",
        authenticatorAttachment: "platform",
        response: {
          clientDataJSON: bytes(123, 125),
          attestationObject: bytes(0xa0),
          getTransports: () => ["internal"],
        },
        getClientExtensionResults: () => ({ credProps: { rk: true } }),
      };
      if (toJSON) cred.toJSON = toJSON;
      return cred;
    },
  };
}

class PKC {}

function run(dialect, routes, o = {}) {
  const { fetch, calls } = stubFetch(routes);
  const credentials = o.credentials || stubCredentials();
  return register({
    dialect,
    username: "alice",
    fetch,
    credentials,
    PublicKeyCredential: PKC,
    ...o,
  }).then((r) => ({ r, calls, credentials }));
}

test("the messages are the seed's", () => {
  assert.equal(CODES["success-registration"], "Successfully registered WebAuthn credential.");
  assert.equal(
    CODES["error-1000"],
    "Invalid credentialCreationOptions. ServerPublicKeyCredentialCreationOptions has to be valid.",
  );
  assert.equal(CODES["error-1001"], "Failed to create WebAuthn credential.");
  assert.equal(CODES["error-1002"], "Error while registering the new credential on server");
  assert.equal(CODES["error-1003"], "Missing statusToken. Cannot be null or undefined.");
  assert.equal(CODES["error-1004"], "WebAuthn is not supported by this browser.");
  assert.equal(CODES["error-1099"], "Unknown error while registration.");
});

test("base64url both ways, and a bad spelling named", () => {
  assert.equal(encode(new Uint8Array([0xfb, 0xff, 0x01])), "-_8B");
  assert.deepEqual([...decode("-_8B", "x")], [0xfb, 0xff, 0x01]);
  assert.throws(() => decode("a+b=", "challenge"), /challenge is not base64url/);
  assert.throws(() => decode("abcde", "user.id"), /user.id is not base64url/);
});

test("webauthn: success-registration, the options asked for and the credential posted", async () => {
  const { r, calls, credentials } = await run(
    "webauthn",
    {
      "/attestation/options": [200, options()],
      "/attestation/result": [200, { status: "ok", errorMessage: "", stored: { username: "alice" } }],
    },
    { request: { attestation: "direct" } },
  );
  assert.equal(r.success, true);
  assert.deepEqual(r.code, {
    statusCode: "success-registration",
    message: "Successfully registered WebAuthn credential.",
  });
  assert.equal(r.token, null);
  assert.equal("message" in r, false, "no message on success");
  assert.equal(r.answer.stored.username, "alice");
  assert.equal(calls[0].url, DIALECTS.webauthn.options);
  assert.deepEqual(calls[0].body, { username: "alice", displayName: "alice", attestation: "direct" });
  const publicKey = credentials.seen[0].publicKey;
  assert.deepEqual([...publicKey.challenge], [...decode(CHALLENGE, "c")]);
  assert.equal(new TextDecoder().decode(publicKey.user.id), "user-handle");
  assert.equal("status" in publicKey, false, "the envelope is not passed to create()");
  assert.equal(calls[1].url, "/attestation/result");
  assert.deepEqual(calls[1].body, {
    id: "AQID",
    rawId: "AQID",
    type: "public-key",
    authenticatorAttachment: "platform",
    response: { clientDataJSON: "e30", attestationObject: "oA", transports: ["internal"] },
    clientExtensionResults: { credProps: { rk: true } },
  });
});

test("the browser's own parser and serialiser are used when it has them", async () => {
  let parsed;
  class ModernPKC {
    static parseCreationOptionsFromJSON(json) {
      parsed = json;
      return { parsed: true };
    }
  }
  const credentials = stubCredentials({ toJSON: () => ({ id: "from-toJSON" }) });
  const { r, calls } = await run(
    "webauthn",
    { "/attestation/options": [200, options()], "/attestation/result": [200, { status: "ok" }] },
    { PublicKeyCredential: ModernPKC, credentials },
  );
  assert.equal(r.code.statusCode, "success-registration");
  assert.equal(parsed.challenge, CHALLENGE);
  assert.equal("status" in parsed, false);
  assert.deepEqual(credentials.seen[0], { publicKey: { parsed: true } });
  assert.deepEqual(calls[1].body, { id: "from-toJSON" });
});

test("options the app already has are used as given, and only the result is fetched", async () => {
  const { r, calls } = await run(
    "webauthn",
    { "/r": [200, { status: "ok" }] },
    { creationOptions: options(), username: undefined, resultUrl: "/r" },
  );
  assert.equal(r.code.statusCode, "success-registration");
  assert.deepEqual(calls.map((c) => c.url), ["/r"]);
});

test("nevis: the token reaches the result, and error-1003 without one", async () => {
  const ok = await run("nevis", {
    "/_app/attestation/options": [200, options()],
    "/_app/attestation/result": [200, { status: "ok", errorMessage: "", token: "eyJ.x.y" }],
  });
  assert.equal(ok.r.code.statusCode, "success-registration");
  assert.equal(ok.r.token, "eyJ.x.y");
  for (const answer of [{ status: "ok", errorMessage: "" }, { status: "ok", token: "" }]) {
    const { r } = await run("nevis", {
      "/_app/attestation/options": [200, options()],
      "/_app/attestation/result": [200, answer],
    });
    assert.equal(r.success, false);
    assert.deepEqual(r.code, {
      statusCode: "error-1003",
      message: "Missing statusToken. Cannot be null or undefined.",
    });
  }
});

test("dfns: a Fido2 first factor is posted, and its errors read from error.message", async () => {
  const init = options({ supportedCredentialKinds: { firstFactor: ["Fido2"] } });
  delete init.status;
  delete init.errorMessage;
  const { r, calls } = await run("dfns", {
    "/auth/registration/init": [200, init],
    "/auth/registration": [200, { credential: { uuid: "c-1" } }],
  });
  assert.equal(r.code.statusCode, "success-registration");
  assert.deepEqual(calls[1].body, {
    firstFactorCredential: {
      credentialKind: "Fido2",
      credentialInfo: { credId: "AQID", clientData: "e30", attestationData: "oA" },
    },
  });
  const refused = await run("dfns", {
    "/auth/registration/init": [200, init],
    "/auth/registration": [403, { error: { name: "ForbiddenError", message: "the challenge was already used", httpStatus: 403 } }],
  });
  assert.equal(refused.r.code.statusCode, "error-1002");
  assert.equal(refused.r.message, "the challenge was already used");
});

test("error-1000: options missing, refused or unusable", async () => {
  const cases = [
    [{ creationOptions: undefined, username: "" }, {}, /no creationOptions/],
    [{}, { "/attestation/options": [200, options({ challenge: undefined })] }, /no challenge/],
    [{}, { "/attestation/options": [200, options({ user: { name: "a" } })] }, /no user/],
    [{}, { "/attestation/options": [200, options({ pubKeyCredParams: [] })] }, /pubKeyCredParams/],
    [{}, { "/attestation/options": [200, options({ challenge: "no+pe=" })] }, /challenge is not base64url/],
    [{}, { "/attestation/options": [200, "[1, 2]"] }, /not an object/],
    [
      {},
      { "/attestation/options": [429, { status: "failed", errorMessage: "too many requests from this client" }] },
      /too many requests/,
    ],
    [{}, { "/attestation/options": [200, { status: "failed", errorMessage: "username too long" }] }, /username too long/],
    [{}, { "/attestation/options": [500, "oops"] }, /answered 500/],
  ];
  for (const [o, routes, message] of cases) {
    const { r, credentials } = await run("webauthn", routes, o);
    assert.equal(r.success, false);
    assert.equal(r.code.statusCode, "error-1000", `${message}`);
    assert.equal(r.code.message, CODES["error-1000"]);
    assert.match(r.message, message);
    assert.equal(credentials.seen.length, 0, "create() is not called");
  }
});

test("error-1001: create() failed, with the DOMException's name and message", async () => {
  const error = new DOMException("The operation either timed out or was not allowed.", "NotAllowedError");
  const { r, calls } = await run(
    "webauthn",
    { "/attestation/options": [200, options()] },
    { credentials: stubCredentials({ error }) },
  );
  assert.equal(r.code.statusCode, "error-1001");
  assert.equal(r.code.message, "Failed to create WebAuthn credential.");
  assert.equal(
    r.message,
    "Error while trying to create new credential. NotAllowedError: The operation either timed out or was not allowed.",
  );
  assert.equal(calls.length, 1, "nothing is posted");
});

test("error-1002: the server refused, with the dialect's errorMessage", async () => {
  for (const dialect of ["webauthn", "nevis"]) {
    const paths = DIALECTS[dialect];
    const { r } = await run(dialect, {
      [paths.options]: [200, options()],
      [paths.result]: [403, { status: "failed", errorMessage: "the challenge was already used", token: "" }],
    });
    assert.equal(r.code.statusCode, "error-1002", dialect);
    assert.equal(r.code.message, "Error while registering the new credential on server");
    assert.equal(r.message, "the challenge was already used");
    assert.equal(r.answer.errorMessage, "the challenge was already used");
  }
  // A 200 whose envelope says failed is a refusal too.
  const { r } = await run("webauthn", {
    "/attestation/options": [200, options()],
    "/attestation/result": [200, { status: "failed", errorMessage: "no" }],
  });
  assert.equal(r.code.statusCode, "error-1002");
});

test("error-1004: no WebAuthn in this browser", async () => {
  for (const o of [{ PublicKeyCredential: undefined }, { credentials: {} }]) {
    const { r, calls } = await run("webauthn", {}, o);
    assert.deepEqual(r.code, {
      statusCode: "error-1004",
      message: "WebAuthn is not supported by this browser.",
    });
    assert.equal(calls.length, 0);
  }
});

test("error-1099: anything else (the network, an unknown dialect)", async () => {
  const { r } = await run("webauthn", { "/attestation/options": new TypeError("Failed to fetch") });
  assert.equal(r.code.statusCode, "error-1099");
  assert.equal(r.code.message, "Unknown error while registration.");
  assert.equal(r.message, "Failed to fetch");
  const other = await run("uaf", {});
  assert.equal(other.r.code.statusCode, "error-1099");
  assert.match(other.r.message, /unknown dialect "uaf"/);
});
