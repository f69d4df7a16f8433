// fidogate.js: the browser side of a registration through the fidogate
// gateway, for every WebAuthn dialect it intercepts. A dependency-free ES
// module, served by the gateway at /.well-known/fidogate/fidogate.js.
//
//   import { register } from "/.well-known/fidogate/fidogate.js";
//   const result = await register({ dialect: "webauthn", username: "alice" });
//   if (result.success) { /* result.code.statusCode === "success-registration" */ }
//   else alert("There was a problem: " + result.code.message);
//
// It fetches the creation options (or takes them from the app), calls
// navigator.credentials.create, posts the credential in the dialect's
// shape, and answers with a result object:
//   { success, code: { statusCode, message }, token, message, answer }
// `token` is the cloud authenticator's token (`nevis`), else null;
// `message` is present on failure only, with the cause; `answer` is the
// server's JSON answer to the registration, when there was one.

/** The result codes and their messages. */
export const CODES = Object.freeze({
  "success-registration": "Successfully registered WebAuthn credential.",
  "error-1000":
    "Invalid credentialCreationOptions. ServerPublicKeyCredentialCreationOptions has to be valid.",
  "error-1001": "Failed to create WebAuthn credential.",
  "error-1002": "Error while registering the new credential on server",
  "error-1003": "Missing statusToken. Cannot be null or undefined.",
  "error-1004": "WebAuthn is not supported by this browser.",
  "error-1099": "Unknown error while registration.",
});

/** Each dialect's default endpoints. */
export const DIALECTS = Object.freeze({
  webauthn: { options: "/attestation/options", result: "/attestation/result" },
  nevis: { options: "/_app/attestation/options", result: "/_app/attestation/result" },
  dfns: { options: "/auth/registration/init", result: "/auth/registration" },
});

/** A failure carrying its result code; anything else thrown is error-1099. */
class Failure extends Error {
  constructor(statusCode, message) {
    super(message);
    this.statusCode = statusCode;
  }
}

function result(statusCode, extra) {
  const out = {
    success: statusCode === "success-registration",
    code: { statusCode, message: CODES[statusCode] },
    token: null,
  };
  return Object.assign(out, extra);
}

/** base64url (no padding) of an ArrayBuffer or a view. */
export function encode(buffer) {
  const bytes =
    buffer instanceof ArrayBuffer
      ? new Uint8Array(buffer)
      : new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  let text = "";
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url string; throws a TypeError naming `what`. */
export function decode(value, what) {
  if (typeof value !== "string" || !/^[A-Za-z0-9_-]*$/.test(value) || value.length % 4 === 1) {
    throw new TypeError(`${what} is not base64url`);
  }
  const text = atob(value.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** The creation options' JSON members the browser needs, checked. */
function checkOptions(json) {
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new Failure("error-1000", "the options are not an object");
  }
  if (typeof json.challenge !== "string" || json.challenge === "") {
    throw new Failure("error-1000", "the options have no challenge");
  }
  if (json.rp === null || typeof json.rp !== "object" || typeof json.rp.name !== "string") {
    throw new Failure("error-1000", "the options have no rp");
  }
  const user = json.user;
  if (user === null || typeof user !== "object" || typeof user.id !== "string" ||
      typeof user.name !== "string") {
    throw new Failure("error-1000", "the options have no user with an id and a name");
  }
  if (!Array.isArray(json.pubKeyCredParams) || json.pubKeyCredParams.length === 0) {
    throw new Failure("error-1000", "the options have no pubKeyCredParams");
  }
}

/** PublicKeyCredentialCreationOptions from their JSON form. */
function creationOptions(json, PKC) {
  checkOptions(json);
  const {
    status: _status, errorMessage: _errorMessage, supportedCredentialKinds: _kinds,
    ...options
  } = json;
  try {
    if (PKC && typeof PKC.parseCreationOptionsFromJSON === "function") {
      return PKC.parseCreationOptionsFromJSON(options);
    }
    return {
      ...options,
      challenge: decode(options.challenge, "challenge"),
      user: { ...options.user, id: decode(options.user.id, "user.id") },
      excludeCredentials: (options.excludeCredentials || []).map((c, i) => ({
        ...c,
        id: decode(c.id, `excludeCredentials[${i}].id`),
      })),
    };
  } catch (e) {
    throw new Failure("error-1000", `the options cannot be used: ${e && e.message}`);
  }
}

/** The PublicKeyCredential in its JSON form. */
function credentialJSON(cred) {
  if (typeof cred.toJSON === "function") return cred.toJSON();
  const response = cred.response;
  return {
    id: cred.id,
    rawId: encode(cred.rawId),
    type: cred.type,
    authenticatorAttachment: cred.authenticatorAttachment ?? null,
    response: {
      clientDataJSON: encode(response.clientDataJSON),
      attestationObject: encode(response.attestationObject),
      transports: typeof response.getTransports === "function" ? response.getTransports() : [],
    },
    clientExtensionResults:
      typeof cred.getClientExtensionResults === "function" ? cred.getClientExtensionResults() : {},
  };
}

/** The body the dialect's result endpoint takes. */
function resultBody(dialect, json) {
  if (dialect !== "dfns") return json;
  return {
    firstFactorCredential: {
      credentialKind: "Fido2",
      credentialInfo: {
        credId: json.rawId,
        clientData: json.response.clientDataJSON,
        attestationData: json.response.attestationObject,
      },
    },
  };
}

/** The dialect's error message in a refusal, or a description of it. */
function refusalMessage(dialect, status, answer) {
  const said =
    dialect === "dfns"
      ? answer && answer.error && answer.error.message
      : answer && answer.errorMessage;
  return typeof said === "string" && said !== "" ? said : `the server answered ${status}`;
}

/** Did the server accept, in the dialect's shape? */
function accepted(dialect, status, answer) {
  if (status < 200 || status > 299) return false;
  if (dialect === "dfns") return !(answer && answer.error);
  return !answer || answer.status === undefined || answer.status === "ok";
}

async function postJSON(fetchFn, url, body) {
  const response = await fetchFn(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
  let answer = null;
  const text = await response.text();
  if (text !== "") {
    try {
      answer = JSON.parse(text);
    } catch {
      answer = null;
    }
  }
  return { status: response.status, answer };
}

/**
 * Runs one registration and answers with its result object (never throws).
 *
 * @param {object} o
 * @param {"webauthn"|"nevis"|"dfns"} [o.dialect] the gateway route's dialect (webauthn)
 * @param {string} [o.username] who registers (with gateway-issued options)
 * @param {string} [o.displayName] shown by the authenticator (the username)
 * @param {object} [o.creationOptions] options the app already has (JSON form); else fetched
 * @param {object} [o.request] more members for the options request
 *   (attestation, authenticatorSelection, extensions)
 * @param {string} [o.optionsUrl] the options endpoint (the dialect's)
 * @param {string} [o.resultUrl] the result endpoint (the dialect's)
 * @param {Function} [o.fetch] fetch (globalThis.fetch)
 * @param {object} [o.credentials] a CredentialsContainer (navigator.credentials)
 * @param {object} [o.PublicKeyCredential] (globalThis.PublicKeyCredential)
 * @param {Function} [o.onCredential] told the JSON body before it is posted
 */
export async function register(o = {}) {
  const dialect = o.dialect || "webauthn";
  try {
    const paths = DIALECTS[dialect];
    if (!paths) throw new Error(`unknown dialect ${JSON.stringify(dialect)}`);
    const fetchFn = o.fetch || globalThis.fetch;
    const PKC = "PublicKeyCredential" in o ? o.PublicKeyCredential : globalThis.PublicKeyCredential;
    const container =
      o.credentials || (globalThis.navigator ? globalThis.navigator.credentials : undefined);
    if (!PKC || !container || typeof container.create !== "function") {
      return result("error-1004", { message: "navigator.credentials.create is not available" });
    }
    let json = o.creationOptions;
    if (json === undefined || json === null) {
      if (typeof o.username !== "string" || o.username === "") {
        throw new Failure("error-1000", "no creationOptions and no username to ask for them");
      }
      const { status, answer } = await postJSON(fetchFn, o.optionsUrl || paths.options, {
        username: o.username,
        displayName: o.displayName || o.username,
        ...(o.request || {}),
      });
      if (!accepted(dialect, status, answer)) {
        throw new Failure("error-1000", refusalMessage(dialect, status, answer));
      }
      json = answer;
    }
    const publicKey = creationOptions(json, PKC);
    let cred;
    try {
      cred = await container.create({ publicKey });
    } catch (e) {
      const name = (e && e.name) || "Error";
      const message = (e && e.message) || String(e);
      throw new Failure(
        "error-1001",
        `Error while trying to create new credential. ${name}: ${message}`,
      );
    }
    if (!cred) throw new Failure("error-1001", "navigator.credentials.create gave no credential");
    const body = resultBody(dialect, credentialJSON(cred));
    if (typeof o.onCredential === "function") o.onCredential(body);
    const { status, answer } = await postJSON(fetchFn, o.resultUrl || paths.result, body);
    if (!accepted(dialect, status, answer)) {
      return result("error-1002", { message: refusalMessage(dialect, status, answer), answer });
    }
    if (dialect === "nevis") {
      const token = answer && answer.token;
      if (typeof token !== "string" || token === "") {
        return result("error-1003", { message: "the answer has no token", answer });
      }
      return result("success-registration", { token, answer });
    }
    return result("success-registration", { answer });
  } catch (e) {
    if (e instanceof Failure) return result(e.statusCode, { message: e.message });
    return result("error-1099", { message: (e && e.message) || String(e) });
  }
}
