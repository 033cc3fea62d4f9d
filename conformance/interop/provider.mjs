// A real OpenID Provider (panva's oidc-provider 9.x) on 127.0.0.1, for rpkit's interop tests.
//
// Usage: node provider.mjs '<config JSON>'
//
// The config:
//   {
//     "app_base": "http://127.0.0.1:PORT",  // the RP application (required)
//     "port": 0,                            // 0: any free port; else that port (restarts)
//     "client_secret": "…",                 // of rp-basic and rp-post
//     "client_jwk": { "kty": "EC", … }      // public key of rp-jwt (private_key_jwt)
//   }
//
// Clients, one per token endpoint auth method: `rp-basic` (client_secret_basic),
// `rp-post` (client_secret_post), `rp-jwt` (private_key_jwt, ES256; only with
// `client_jwk`). Each may use authorization_code and refresh_token, with the URIs of
// rpkit-axum's demo app at `app_base`:
//   redirect_uri             <app_base>/auth/<client_id>/callback
//   post_logout_redirect_uri <app_base>/logged-out
//   backchannel_logout_uri   <app_base>/backchannel-logout/<client_id>
//
// Every start makes a new RS256 signing key with a new `kid`: restarting on the same port
// is a key rotation.
//
// Prints one line `READY <issuer>` on stdout once listening. Exits when stdin closes (the
// test process is gone) or on SIGTERM/SIGINT.
//
// Test-only endpoint: `GET /__interop/counts` → `{"jwks": n, "token": n, "userinfo": n,
// "backchannel": n, "backchannel_errors": n, "revoked": {"<client_id>": n}}` since this
// process started (`revoked`: grants revoked through the revocation endpoint).
//
// Security: a test tool. Listens on 127.0.0.1 only; sends back-channel logout requests
// only to http://127.0.0.1 URIs.

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

function fail(message) {
  process.stderr.write(`provider.mjs: ${message}\n`);
  process.exit(2);
}

let config;
try {
  config = JSON.parse(process.argv[2] ?? '{}');
} catch (err) {
  fail(`the argument is not JSON: ${err.message}`);
}

const HOST = '127.0.0.1';
const port = Number(config.port ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`bad port ${config.port}`);

function isLoopbackHttp(uri) {
  try {
    const url = new URL(uri);
    return url.protocol === 'http:' && url.hostname === HOST;
  } catch {
    return false;
  }
}

if (!isLoopbackHttp(config.app_base)) fail(`app_base must be http://${HOST}:…`);
const appBase = config.app_base.replace(/\/+$/, '');

const counts = { jwks: 0, token: 0, userinfo: 0, backchannel: 0, backchannel_errors: 0, revoked: {} };

// A fresh signing key per process: a restart rotates the keys.
function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { ...jwk, kid: `rs-${randomBytes(6).toString('hex')}`, alg: 'RS256', use: 'sig' };
}

const secret = config.client_secret ?? 'interop-secret-0123456789abcdef0123456789';
const common = (clientId) => ({
  client_id: clientId,
  redirect_uris: [`${appBase}/auth/${clientId}/callback`],
  post_logout_redirect_uris: [`${appBase}/logged-out`],
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  backchannel_logout_uri: `${appBase}/backchannel-logout/${clientId}`,
  backchannel_logout_session_required: true,
});

const clients = [
  { ...common('rp-basic'), client_secret: secret, token_endpoint_auth_method: 'client_secret_basic' },
  { ...common('rp-post'), client_secret: secret, token_endpoint_auth_method: 'client_secret_post' },
];
if (config.client_jwk) {
  const { d, ...publicJwk } = config.client_jwk; // never keep a private part, even if sent
  void d;
  clients.push({
    ...common('rp-jwt'),
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [publicJwk] },
  });
}

// Users: any login name is accepted by devInteractions; claims derive from it.
async function findAccount(_ctx, id) {
  return {
    accountId: id,
    async claims() {
      return { sub: id, email: `${id}@example.com`, email_verified: true, name: `User ${id}` };
    },
  };
}

const configuration = {
  clients,
  jwks: { keys: [signingKey()] },
  findAccount,
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    userinfo: { enabled: true },
    // --- revocation and introspection (RFC 7009, RFC 7662) ---
    // A client may revoke and introspect only the tokens issued to it.
    revocation: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
    introspection: { enabled: true, allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId },
  },
  // PKCE for every client, not just public ones.
  pkce: { required: () => true },
  // The RP under test is a server: no browser calls the provider cross-origin.
  clientBasedCORS: () => false,
  // Rotate on every refresh: the presented refresh token is consumed.
  rotateRefreshToken: () => true,
  // oidc-provider blocks its own requests to special-use addresses (loopback included).
  // Back-channel logout must reach the test's receiver on 127.0.0.1, so send them with
  // the plain fetch (without oidc-provider's guarded dispatcher) — and only there.
  fetch: async (url, options) => {
    const target = String(url);
    if (!isLoopbackHttp(target)) throw new Error(`refusing to fetch ${target}: loopback only`);
    const { dispatcher, ...rest } = options;
    void dispatcher;
    return globalThis.fetch(target, rest);
  },
};

// --- device flow (RFC 8628) and dynamic registration (RFC 7591/7592) ---
// `rp-device`: a public client for the device authorization grant only (no redirect
// URIs). Registration is open (no initial access token) and its management (read,
// update, delete with the registration access token, rotated on update) is on.
clients.push({
  client_id: 'rp-device',
  token_endpoint_auth_method: 'none',
  grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
  response_types: [],
  redirect_uris: [],
});
configuration.features.deviceFlow = { enabled: true };
configuration.features.registration = { enabled: true };
configuration.features.registrationManagement = { enabled: true };
// --- DPoP ---
// Client `rp-dpop` (client_secret_basic) must use DPoP-bound access tokens (RFC 9449),
// and the provider demands its nonce in every proof, so the nonce dance happens at the
// token and UserInfo endpoints. Requests without a proof are not affected (the other
// clients keep Bearer tokens). `dpopClient` is the reusable part of the client metadata:
// spread it into another client (e.g. a combined FAPI 2.0 one with PAR and
// private_key_jwt).
const dpopClient = { dpop_bound_access_tokens: true };
clients.push({
  ...common('rp-dpop'),
  ...dpopClient,
  client_secret: secret,
  token_endpoint_auth_method: 'client_secret_basic',
});
configuration.features.dPoP = {
  enabled: true,
  // Nonces are stateless HMAC challenges under this secret, new per process.
  nonceSecret: randomBytes(32),
  requireNonce: () => true,
};
// --- end DPoP ---
// --- PAR/JAR ---
// Pushed authorization requests (RFC 9126) and signed request objects (RFC 9101), and two
// clients that must push: `rp-par` (private_key_jwt ES256 with `client_jwk`, every request
// pushed as a request object signed ES256 — the FAPI 2.0 shape without DPoP) and
// `rp-par-plain` (client_secret_basic, pushed without a request object).
configuration.features.pushedAuthorizationRequests = { enabled: true, requirePushedAuthorizationRequests: false };
configuration.features.requestObjects = { enabled: true, requireSignedRequestObject: false };
clients.push({
  ...common('rp-par-plain'),
  client_secret: secret,
  token_endpoint_auth_method: 'client_secret_basic',
  require_pushed_authorization_requests: true,
});
if (config.client_jwk) {
  const { d, ...publicJwk } = config.client_jwk;
  void d;
  clients.push({
    ...common('rp-par'),
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [publicJwk] },
    require_pushed_authorization_requests: true,
    require_signed_request_object: true,
    request_object_signing_alg: 'ES256',
  });
}
// --- end PAR/JAR ---

// --- FAPI 2.0 baseline ---
// `rp-fapi`: private_key_jwt (ES256), every authorization request pushed (PAR), DPoP-bound
// access tokens (with the nonce the DPoP section demands) — FAPI 2.0 Security Profile's
// baseline for a confidential client.
if (config.client_jwk) {
  const { d, ...publicJwk } = config.client_jwk;
  void d;
  clients.push({
    ...common('rp-fapi'),
    ...dpopClient,
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: { keys: [publicJwk] },
    require_pushed_authorization_requests: true,
  });
}
// --- end FAPI 2.0 baseline ---

// Listen first (port 0 picks a free one), then build the provider for that issuer.
const server = createServer();
server.on('error', (err) => fail(`listen on ${HOST}:${port}: ${err.message}`));
server.listen(port, HOST, () => {
  const issuer = `http://${HOST}:${server.address().port}`;
  const provider = new Provider(issuer, configuration);

  provider.on('backchannel.success', () => {
    counts.backchannel += 1;
  });
  provider.on('backchannel.error', (_ctx, err) => {
    counts.backchannel_errors += 1;
    process.stderr.write(`provider.mjs: back-channel logout failed: ${err.message}\n`);
  });
  // Grants revoked at the revocation endpoint, by the client that asked.
  provider.on('grant.revoked', (ctx) => {
    if (ctx.oidc?.route !== 'revocation') return;
    const id = ctx.oidc.client?.clientId ?? '?';
    counts.revoked[id] = (counts.revoked[id] ?? 0) + 1;
  });
  provider.on('server_error', (_ctx, err) => {
    process.stderr.write(`provider.mjs: server error: ${err.stack}\n`);
  });

  provider.use(async (ctx, next) => {
    if (ctx.method === 'GET' && ctx.path === '/__interop/counts') {
      ctx.body = counts;
      return;
    }
    if (ctx.path === '/jwks') counts.jwks += 1;
    if (ctx.path === '/token') counts.token += 1;
    if (ctx.path === '/me') counts.userinfo += 1;
    await next();
  });

  server.on('request', provider.callback());
  process.stdout.write(`READY ${issuer}\n`);
});

function stop() {
  server.close();
  server.closeAllConnections?.();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.resume();
