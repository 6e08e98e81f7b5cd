#!/usr/bin/env bash
# Drives complete flows against a running realidp with curl, the way a relying
# party would, and fails loudly if the provider does not behave as the
# integration tests expect:
#   - authorization code + PKCE (S256) through the automatic interaction, with
#     state and RFC 9207 iss in the redirect;
#   - code exchange with client_secret_basic: id_token (with email, name, groups,
#     sid, nonce), access_token, refresh_token; a replayed code is refused;
#   - a second authorization on the same session; userinfo;
#   - one refresh (the refresh token rotates); replay of the old refresh token
#     (invalid_grant), after which the newest refresh token is dead too;
#   - RP-initiated logout: confirmation page, POST /session/end/confirm with xsrf
#     and logout=yes, 303 to the post-logout URI with state.
#
# Usage: internal/realidp/smoke.sh [ISSUER]   (default http://127.0.0.1:${REALIDP_PORT:-9400})
# Needs curl and node. Nothing has to listen on the client's redirect URIs: the
# script stops at the redirect and reads its Location. Each run leaves one
# back-channel logout attempt in the provider's log (refused when no app listens).
set -euo pipefail

ISSUER="${1:-http://127.0.0.1:${REALIDP_PORT:-9400}}"
CLIENT_ID="${SMOKE_CLIENT_ID:-portcullis-test}"
CLIENT_SECRET="${SMOKE_CLIENT_SECRET:-portcullis-test-secret}"
REDIRECT_URI="${SMOKE_REDIRECT_URI:-http://127.0.0.1:9401/auth/callback/realidp}"
POST_LOGOUT_URI="${SMOKE_POST_LOGOUT_URI:-http://127.0.0.1:9401/}"
SCOPE="openid email profile groups offline_access"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
jar="$work/cookies"

fail() { echo "realidp smoke: FAIL: $*" >&2; exit 1; }
step() { echo "realidp smoke: $*"; }

# js 'EXPR' ARGS...: evaluates a JavaScript expression with a = ARGS, f(path) =
# parsed JSON file, q(url, name) = query parameter, jwt(token) = decoded payload.
# An array result prints one element per line; undefined prints an empty line.
js() {
  node -e '
    const fs = require("fs"), crypto = require("crypto");
    const a = process.argv.slice(1);
    const f = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
    const q = (u, n) => new URL(u).searchParams.get(n) ?? "";
    const jwt = (t) => JSON.parse(Buffer.from(String(t).split(".")[1], "base64url").toString());
    const show = (v) => v === undefined || v === null ? "" : typeof v === "string" ? v : JSON.stringify(v);
    const r = eval(a.shift());
    process.stdout.write((Array.isArray(r) ? r.map(show) : [show(r)]).join("\n") + "\n");
  ' -- "$@"
}

curl_() { curl -sS --max-time 10 -b "$jar" -c "$jar" "$@"; }

# authorize: runs one authorization request and follows the redirects by hand up
# to the client's redirect_uri; sets VERIFIER, STATE, NONCE and FINAL.
authorize() {
  local pkce challenge url loc i
  mapfile -t pkce < <(js '(() => { const v = crypto.randomBytes(32).toString("base64url");
    return [v, crypto.createHash("sha256").update(v).digest("base64url"),
            crypto.randomBytes(8).toString("hex"), crypto.randomBytes(8).toString("hex")]; })()')
  VERIFIER="${pkce[0]}"; challenge="${pkce[1]}"; STATE="st-${pkce[2]}"; NONCE="no-${pkce[3]}"
  loc="$(curl_ -G -o /dev/null -w '%{redirect_url}' \
    --data-urlencode "client_id=$CLIENT_ID" --data-urlencode response_type=code \
    --data-urlencode "scope=$SCOPE" --data-urlencode "redirect_uri=$REDIRECT_URI" \
    --data-urlencode "state=$STATE" --data-urlencode "nonce=$NONCE" \
    --data-urlencode "code_challenge=$challenge" --data-urlencode code_challenge_method=S256 \
    "$AUTHZ")"
  FINAL=""
  for i in $(seq 1 12); do
    [ -n "$loc" ] || fail "no redirect (hop $i)"
    case "$loc" in
      "$REDIRECT_URI"*) FINAL="$loc"; return 0 ;;
      "$ISSUER"/*) ;;
      *) fail "redirected away from the provider: $loc" ;;
    esac
    url="$loc"
    loc="$(curl_ -o /dev/null -w '%{redirect_url}' "$url")"
  done
  fail "never reached the redirect_uri"
}

token() { curl_ -u "$CLIENT_ID:$CLIENT_SECRET" "$@" "$TOKEN"; }

# --- discovery
curl_ -f "$ISSUER/.well-known/openid-configuration" -o "$work/disc.json" || fail "discovery did not answer"
mapfile -t d < <(js '(j => [j.issuer, j.authorization_endpoint, j.token_endpoint, j.userinfo_endpoint,
  j.end_session_endpoint, j.authorization_response_iss_parameter_supported])(f(a[0]))' "$work/disc.json")
[ "${d[0]}" = "$ISSUER" ] || fail "issuer mismatch: ${d[0]}"
AUTHZ="${d[1]}"; TOKEN="${d[2]}"; USERINFO="${d[3]}"; END_SESSION="${d[4]}"
[ "${d[5]}" = "true" ] || fail "authorization_response_iss_parameter_supported is not true"
step "discovery ok: authorization $AUTHZ, token $TOKEN, userinfo $USERINFO, end_session $END_SESSION"

# --- authorization request with PKCE
authorize
mapfile -t r < <(js '[q(a[0], "code"), q(a[0], "state"), q(a[0], "iss")]' "$FINAL")
code="${r[0]}"
[ -n "$code" ] || fail "no code in $FINAL"
[ "${r[1]}" = "$STATE" ] || fail "state mismatch in $FINAL"
[ "${r[2]}" = "$ISSUER" ] || fail "iss missing or wrong in $FINAL"
step "authorization ok: redirect has code, state and iss=$ISSUER"

# --- token endpoint, client_secret_basic
token -d grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER" -o "$work/tok1.json"
mapfile -t t < <(js '(j => [j.id_token ? "y" : "", j.access_token ? "y" : "", j.refresh_token ? "y" : "",
  j.token_type, j.expires_in, j.scope, j.id_token ? jwt(j.id_token) : ""])(f(a[0]))' "$work/tok1.json")
[ "${t[0]}${t[1]}${t[2]}" = "yyy" ] || fail "token response lacks a token: $(cat "$work/tok1.json")"
step "code exchange ok: token_type=${t[3]} expires_in=${t[4]} scope='${t[5]}'"
mapfile -t c < <(js '(p => [p.sub, p.nonce, p.email, (p.groups || []).join(","), p.sid ? "y" : "", p.iss, p.aud])(JSON.parse(a[0]))' "${t[6]}")
[ "${c[0]}" = "realidp-user-1" ] || fail "id_token sub: ${t[6]}"
[ "${c[1]}" = "$NONCE" ] || fail "id_token nonce: ${t[6]}"
[ "${c[2]}" = "user1@realidp.test" ] || fail "id_token has no email claim: ${t[6]}"
[ "${c[3]}" = "staff" ] || fail "id_token has no groups claim: ${t[6]}"
[ "${c[4]}" = "y" ] || fail "id_token has no sid: ${t[6]}"
if [ "${c[5]}" != "$ISSUER" ] || [ "${c[6]}" != "$CLIENT_ID" ]; then fail "id_token iss/aud: ${t[6]}"; fi
step "id_token ok: ${t[6]}"

# Replaying the authorization code must fail (and revokes that grant).
token -d grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER" -o "$work/replay.json"
[ "$(js 'f(a[0]).error' "$work/replay.json")" = "invalid_grant" ] || fail "code replay: $(cat "$work/replay.json")"
step "code replay refused: invalid_grant"

# --- a second authorization on the same provider session (no login step this time)
authorize
code="$(js 'q(a[0], "code")' "$FINAL")"
[ -n "$code" ] || fail "second authorization: no code in $FINAL"
token -d grant_type=authorization_code --data-urlencode "code=$code" \
  --data-urlencode "redirect_uri=$REDIRECT_URI" --data-urlencode "code_verifier=$VERIFIER" -o "$work/tok1.json"
mapfile -t t < <(js '(j => [j.access_token, j.refresh_token])(f(a[0]))' "$work/tok1.json")
at="${t[0]}"; rt1="${t[1]}"
[ -n "$rt1" ] || fail "second exchange: $(cat "$work/tok1.json")"
step "second authorization (existing session) ok"

# --- userinfo
curl_ -H "Authorization: Bearer $at" "$USERINFO" -o "$work/ui.json"
[ "$(js 'f(a[0]).preferred_username' "$work/ui.json")" = "user1" ] || fail "userinfo: $(cat "$work/ui.json")"
step "userinfo ok: $(cat "$work/ui.json")"

# --- refresh: rotates
token -d grant_type=refresh_token --data-urlencode "refresh_token=$rt1" -o "$work/tok2.json"
mapfile -t t < <(js '(j => [j.refresh_token, j.id_token, j.access_token])(f(a[0]))' "$work/tok2.json")
rt2="${t[0]}"; idt="${t[1]}"
[ -n "$rt2" ] || fail "refresh: $(cat "$work/tok2.json")"
[ "$rt2" != "$rt1" ] || fail "refresh token did not rotate"
if [ -z "$idt" ] || [ -z "${t[2]}" ]; then fail "refresh returned no id_token or access_token"; fi
step "refresh ok: refresh token rotated, new id_token and access_token"

# --- replay of the spent refresh token
token -d grant_type=refresh_token --data-urlencode "refresh_token=$rt1" -o "$work/tok3.json"
[ "$(js 'f(a[0]).error' "$work/tok3.json")" = "invalid_grant" ] || fail "replay: $(cat "$work/tok3.json")"
step "old refresh token replay refused: invalid_grant"
token -d grant_type=refresh_token --data-urlencode "refresh_token=$rt2" -o "$work/tok4.json"
[ "$(js 'f(a[0]).error' "$work/tok4.json")" = "invalid_grant" ] \
  || fail "after the replay, the newest refresh token still works: $(cat "$work/tok4.json")"
step "after the replay the newest refresh token is refused too (grant revoked)"

# --- RP-initiated logout
lstate="lo-$RANDOM$RANDOM"
status="$(curl_ -G -o "$work/end.html" -w '%{http_code}' --data-urlencode "id_token_hint=$idt" \
  --data-urlencode "post_logout_redirect_uri=$POST_LOGOUT_URI" --data-urlencode "state=$lstate" "$END_SESSION")"
[ "$status" = "200" ] || fail "GET end_session: HTTP $status"
xsrf="$(sed -n 's/.*name="xsrf" value="\([^"]*\)".*/\1/p' "$work/end.html" | head -n1)"
[ -n "$xsrf" ] || fail "no xsrf field in the logout confirmation page"
out="$(curl_ -o /dev/null -w '%{http_code} %{redirect_url}' -d "xsrf=$xsrf" -d logout=yes "$END_SESSION/confirm")"
case "$out" in
  "303 $POST_LOGOUT_URI"*"state=$lstate"*) ;;
  *) fail "logout confirm answered: $out" ;;
esac
step "logout ok: confirmation page (HTTP 200 with xsrf form), then $out"

echo "realidp smoke: all checks passed"
