// realidp: a real, independent OpenID provider (node-oidc-provider 9.13.3) for
// portcullis integration tests. It is a test fixture only: fixed client, fixed
// user, in-memory state, no login page.
//
// Environment variables (all optional):
//   REALIDP_PORT              TCP port to listen on (default 9400). The server
//                             listens on 127.0.0.1 only and its issuer is
//                             http://127.0.0.1:$REALIDP_PORT
//   REALIDP_REDIRECT_URIS     space-separated redirect_uris of the test client
//                             (default http://127.0.0.1:9401/auth/callback/realidp)
//   REALIDP_POST_LOGOUT_URIS  space-separated post_logout_redirect_uris
//                             (default http://127.0.0.1:9401/)
//   REALIDP_BACKCHANNEL_URI   backchannel_logout_uri of the test client
//                             (default http://127.0.0.1:9401/auth/backchannel-logout/realidp)
//   REALIDP_ACCESS_TTL        access token lifetime in seconds (default 60)
//   REALIDP_ID_TOKEN_TTL      ID token lifetime in seconds (default: REALIDP_ACCESS_TTL)
//   REALIDP_REFRESH_TTL       refresh token lifetime in seconds (default 14 days)
//   REALIDP_DEV_INTERACTIONS  1: node-oidc-provider's own login and consent pages
//                             (features.devInteractions) instead of finishing
//                             interactions in code, for real-browser tests
//
// The main client:  client_id portcullis-test, client_secret portcullis-test-secret,
// client_secret_basic, grant types authorization_code + refresh_token, response type
// code, PKCE (S256) required, backchannel_logout_session_required true.
// Two more on the same redirect URIs, one per other client authentication method:
// portcullis-test-post (client_secret_post, secret portcullis-test-post-secret) and
// portcullis-test-pkjwt (private_key_jwt, ES256, key testdata/pkjwt-key.pem).
// The one user:    sub realidp-user-1 (see ACCOUNT below).
//
// Interactions are finished in code (GET /interaction/:uid): login as the fixed
// user, then consent to every requested scope and claim. A cookie-keeping HTTP
// client that follows redirects from the authorization URL therefore lands on the
// client's redirect_uri with code, state and iss.
//
// On start it prints exactly one line to stdout: "realidp listening on http://127.0.0.1:PORT".
// Errors are logged to stderr. SIGTERM / SIGINT close the server and exit 0.

import http from 'node:http';
import { createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';

import Provider from 'oidc-provider';

function envInt(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return def;
  const n = Number.parseInt(raw, 10);
  if (!Number.isFinite(n) || n <= 0 || String(n) !== raw.trim()) {
    console.error(`realidp: ${name} must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return n;
}

function envList(name, def) {
  const raw = process.env[name];
  const list = (raw === undefined || raw.trim() === '' ? def : raw).trim().split(/\s+/);
  return list.filter(Boolean);
}

const HOST = '127.0.0.1';
const PORT = envInt('REALIDP_PORT', 9400);
const ISSUER = `http://${HOST}:${PORT}`;
const ACCESS_TTL = envInt('REALIDP_ACCESS_TTL', 60);
const ID_TOKEN_TTL = envInt('REALIDP_ID_TOKEN_TTL', ACCESS_TTL);
const REFRESH_TTL = envInt('REALIDP_REFRESH_TTL', 14 * 24 * 60 * 60);
const REDIRECT_URIS = envList('REALIDP_REDIRECT_URIS', 'http://127.0.0.1:9401/auth/callback/realidp');
const POST_LOGOUT_URIS = envList('REALIDP_POST_LOGOUT_URIS', 'http://127.0.0.1:9401/ http://127.0.0.1:9401/auth/logout/callback');
const BACKCHANNEL_URI = (process.env.REALIDP_BACKCHANNEL_URI || '').trim()
  || 'http://127.0.0.1:9401/auth/backchannel-logout/realidp';

const CLIENT_ID = 'portcullis-test';
const CLIENT_SECRET = 'portcullis-test-secret';

const ACCOUNT = {
  sub: 'realidp-user-1',
  name: 'Real Provider User',
  email: 'user1@realidp.test',
  email_verified: true,
  preferred_username: 'user1',
  groups: ['staff'],
};

// A fresh RS256 signing key for every start: state is in memory anyway.
// The key is generated as PEM and re-imported before the JWK export: exporting the
// KeyObject straight from generateKeyPairSync deadlocks now and then on Node 20
// (a garbage collection inside export({format: 'jwk'}) destroys the key-generation
// job, which waits on a mutex the export holds; seen here about once in 30 starts).
const { privateKey: privatePem } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const signingKey = {
  ...createPrivateKey(privatePem).export({ format: 'jwk' }),
  use: 'sig',
  alg: 'RS256',
  kid: `realidp-${randomBytes(6).toString('hex')}`,
};

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
    post_logout_redirect_uris: POST_LOGOUT_URIS,
    backchannel_logout_uri: BACKCHANNEL_URI,
    backchannel_logout_session_required: true,
  }, {
    // The same client authenticating with client_secret_post.
    client_id: 'portcullis-test-post',
    client_secret: 'portcullis-test-post-secret',
    token_endpoint_auth_method: 'client_secret_post',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  }, {
    // And with private_key_jwt: the public half of the fixed test key
    // testdata/pkjwt-key.pem, which the Go tests sign with (realidp.Env.ClientKey).
    client_id: 'portcullis-test-pkjwt',
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    jwks: {
      keys: [{
        kty: 'EC',
        crv: 'P-256',
        x: 'WqV8YyxNCkE7dZBI_P3dyPDCMJL6WPcSK5V0kZK6S6k',
        y: '4MHLUv_Xmrybqabvfbk60FhR1YzZ9YSdhonbcrd1OPw',
        use: 'sig',
        // Its RFC 7638 thumbprint, the kid portcullis sends by default
        // (node-oidc-provider matches an assertion's kid to a key's).
        kid: 'KWih9uQeBjzM2aM_UeZuOssOK7WXY0jtaaLw45-x3GY',
      }],
    },
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: REDIRECT_URIS,
  }],

  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },

  pkce: { required: () => true }, // v9 supports S256 only

  // Issue a refresh token whenever the client may use one, not only when
  // offline_access was requested with prompt=consent.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token'),
  rotateRefreshToken: true,

  // Put the scope-requested claims into the ID token too, not only into userinfo.
  conformIdTokenClaims: false,

  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
    groups: ['groups'],
  },
  scopes: ['openid', 'email', 'profile', 'offline_access', 'groups'],
  responseTypes: ['code'],

  features: {
    devInteractions: { enabled: false },
    userinfo: { enabled: true },
    revocation: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    introspection: {
      enabled: true,
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    rpInitiatedLogout: {
      enabled: true,
      // The default pages, without their web-font import (this network is closed) and
      // with ids on the buttons for browser tests: #logout-yes, #logout-no.
      logoutSource: async (ctx, form) => {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Logout Request</title></head>
<body>
<h1>Do you want to sign-out from ${ctx.host}?</h1>
${form}
<button id="logout-yes" autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button id="logout-no" type="submit" form="op.logoutForm">No, stay signed in</button>
</body></html>`;
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.type = 'html';
        ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Sign-out Success</title></head>
<body><h1 id="signed-out">Sign-out Success</h1><p>Your sign-out was successful.</p></body></html>`;
      },
    },
    backchannelLogout: { enabled: true },
  },

  interactions: {
    url: async (ctx, interaction) => `/interaction/${interaction.uid}`,
  },

  ttl: {
    AccessToken: ACCESS_TTL,
    IdToken: ID_TOKEN_TTL,
    RefreshToken: REFRESH_TTL,
    AuthorizationCode: 60,
    Grant: REFRESH_TTL,
    Session: REFRESH_TTL,
    Interaction: 60 * 60,
  },

  // v9 refuses outgoing requests to special-use addresses (127.0.0.0/8 among them)
  // through its own dispatcher; drop it so back-channel logout can reach the app on
  // loopback.
  fetch: (url, options) => {
    const { dispatcher, ...rest } = options; // eslint-disable-line no-unused-vars
    return globalThis.fetch(url, rest);
  },

  findAccount: async (ctx, sub) => {
    if (sub !== ACCOUNT.sub) return undefined;
    return {
      accountId: ACCOUNT.sub,
      claims: async () => ({ ...ACCOUNT, groups: [...ACCOUNT.groups] }),
    };
  },

  renderError: async (ctx, out, error) => {
    ctx.type = 'json';
    ctx.body = out;
    if (!error?.expose) console.error('realidp: error page:', error);
  },
};

// devInteractions (REALIDP_DEV_INTERACTIONS=1): node-oidc-provider's own pages
// at /interaction/:uid, a login form (any password; the login is the account id,
// so type realidp-user-1) and a consent form, for a browser to fill in.
const DEV_INTERACTIONS = process.env.REALIDP_DEV_INTERACTIONS === '1';
if (DEV_INTERACTIONS) {
  configuration.features.devInteractions = { enabled: true };
  delete configuration.interactions; // the pages' own interactions.url
}

const provider = new Provider(ISSUER, configuration);

// One line on stderr per failed request, so a CI log shows why a test was refused.
const ERROR_EVENTS = [
  'authorization.error', 'grant.error', 'userinfo.error', 'revocation.error',
  'introspection.error', 'end_session.error', 'end_session_confirm.error',
  'end_session_success.error', 'discovery.error', 'jwks.error',
];
for (const event of ERROR_EVENTS) {
  provider.on(event, (ctx, err) => {
    const detail = err?.error_detail ? ` (${err.error_detail})` : '';
    console.error(`realidp: ${event}: ${err?.error || err?.name}: ${err?.error_description || err?.message}${detail}`);
  });
}
provider.on('server_error', (ctx, err) => {
  console.error('realidp: server_error:', err?.stack || err);
});
provider.on('backchannel.error', (ctx, err, client, accountId, sid) => {
  const cause = err?.cause ? ` (cause: ${err.cause?.message || err.cause})` : "";
  console.error(`realidp: backchannel logout to ${client?.clientId} failed (sub=${accountId} sid=${sid}): ${err?.message || err}${cause}`);
});
provider.on('backchannel.success', (ctx, client, accountId, sid) => {
  console.error(`realidp: backchannel logout delivered to ${client?.clientId} (sub=${accountId} sid=${sid})`);
});

// Finish an interaction without any user input.
async function autoInteraction(req, res) {
  const details = await provider.interactionDetails(req, res);
  const { prompt: { name, details: missing }, params, session } = details;

  if (name === 'login') {
    await provider.interactionFinished(req, res, {
      login: { accountId: ACCOUNT.sub },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (name === 'consent') {
    let grant;
    if (details.grantId) {
      grant = await provider.Grant.find(details.grantId);
    }
    if (!grant) {
      grant = new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    }
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  await provider.interactionFinished(req, res, {
    error: 'access_denied',
    error_description: `realidp cannot finish the "${name}" prompt`,
  }, { mergeWithLastSubmission: false });
}

const providerCallback = provider.callback();

const server = http.createServer((req, res) => {
  const path = (req.url || '').split('?')[0];
  if (!DEV_INTERACTIONS && path.startsWith('/interaction/')) {
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    autoInteraction(req, res).catch((err) => {
      console.error('realidp: interaction failed:', err?.stack || err);
      if (!res.headersSent) {
        res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      }
      res.end(`interaction failed: ${err?.message || err}\n`);
    });
    return;
  }
  providerCallback(req, res);
});

server.on('error', (err) => {
  console.error('realidp: server error:', err?.stack || err);
  process.exit(1);
});

server.listen(PORT, HOST, () => {
  console.log(`realidp listening on ${ISSUER}`);
});

function shutdown(signal) {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => {
    console.error(`realidp: forced exit after ${signal}`);
    process.exit(0);
  }, 2000).unref();
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
