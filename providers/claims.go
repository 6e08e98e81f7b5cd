package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// Profile claims are decoded tolerantly: providers disagree on their JSON
// types (AWS Cognito and Apple send "email_verified" as the string
// "true"; some directories send a lone group as a string), and one odd
// claim must not fail a sign-in. Each type below decodes any JSON value
// without an error; a value of the wrong shape decodes as absent. The
// claims a security check rests on ("nonce", "azp", "sid", and those
// go-oidc verifies) stay strict.

const (
	// maxClaimGroups bounds the groups kept from one ID token or UserInfo
	// response; the rest are dropped. It is far below the session
	// encoding's own bound (maxGroups in session/codec.go, 1024), so a
	// session never fails to save for its groups.
	maxClaimGroups = 64
	// maxGroupLen bounds one group name, in bytes; a longer name is
	// dropped, not truncated (a truncated name could equal another group).
	maxGroupLen = 256
)

// profileClaims are the claims that describe the user, read from the ID
// token and from the UserInfo response (OpenID Connect Core §5.1).
type profileClaims struct {
	Email             claimString `json:"email"`
	EmailVerified     claimBool   `json:"email_verified"`
	Name              claimString `json:"name"`
	PreferredUsername claimString `json:"preferred_username"`
	Picture           claimString `json:"picture"`
	Groups            claimGroups `json:"groups"`
}

// verifiedEmail returns the email address when the provider says it
// verified it, and "" otherwise.
func (c *profileClaims) verifiedEmail() string {
	if !c.EmailVerified {
		return ""
	}
	return string(c.Email)
}

// claimString is a string claim. Any other JSON value (a number, an
// object, null) decodes as absent, "".
type claimString string

func (s *claimString) UnmarshalJSON(b []byte) error {
	v, ok := jsonString(b)
	if !ok {
		v = ""
	}
	*s = claimString(v)
	return nil
}

// jsonString decodes b as a JSON string, as json.Unmarshal into a string
// does: ok is false for any value but a string or null (null gives "").
// A string without escapes, control characters or invalid UTF-8, as
// claims nearly always are, is taken as it is, without json.Unmarshal's
// allocations; any other goes through json.Unmarshal, which unescapes it
// and replaces invalid UTF-8.
func jsonString(b []byte) (s string, ok bool) {
	if len(b) > 0 && b[0] > ' ' && b[0] != '"' && b[0] != 'n' {
		return "", false // a number, an object, an array, a boolean, or no JSON
	}
	if n := len(b); n >= 2 && b[0] == '"' && b[n-1] == '"' {
		plain := true
		for _, c := range b[1 : n-1] {
			if c < 0x20 || c == '"' || c == '\\' {
				plain = false
				break
			}
		}
		if plain && utf8.Valid(b[1:n-1]) {
			return string(b[1 : n-1]), true
		}
	}
	return s, json.Unmarshal(b, &s) == nil
}

// claimBool is a boolean claim such as "email_verified": the JSON true, or
// the string "true" in any ASCII case (go-oidc reads UserInfo's
// email_verified the same way), is true; anything else — false, "false",
// a number, null, other text — is false.
type claimBool bool

func (v *claimBool) UnmarshalJSON(b []byte) error {
	if s, ok := jsonString(b); ok {
		*v = claimBool(equalFoldASCII(s, "true"))
	} else {
		*v = string(b) == "true"
	}
	return nil
}

// claimGroups is a "groups" claim: an array of strings or a single string,
// read by readGroups. Any other value (an object, a number) decodes as no
// groups. Dropping can only take a group away from the user: use groups to
// grant access, not to deny it.
type claimGroups []string

func (g *claimGroups) UnmarshalJSON(b []byte) error {
	*g, _ = readGroups(b)
	return nil
}

// readGroups reads a groups claim's value: an array of strings or a
// single string. Entries that are not strings, empty or repeated are not
// groups and are skipped; names longer than maxGroupLen and those beyond
// the first maxClaimGroups are dropped, and dropped reports it: the user
// then has more groups than the list says (session.User.GroupsIncomplete).
func readGroups(b []byte) (groups []string, dropped bool) {
	var g claimGroups
	var one string
	if json.Unmarshal(b, &one) == nil {
		return g, !g.add(one)
	}
	var many []json.RawMessage
	if json.Unmarshal(b, &many) != nil {
		return nil, false
	}
	for _, raw := range many {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			continue
		}
		if len(g) == maxClaimGroups && s != "" && !slices.Contains(g, s) {
			return g, true
		}
		if !g.add(s) {
			dropped = true
		}
	}
	return g, dropped
}

// add appends s unless it is empty or already there (no group lost), or
// longer than maxGroupLen, when it reports false (a group dropped).
func (g *claimGroups) add(s string) bool {
	if s == "" || slices.Contains(*g, s) {
		return true
	}
	if len(s) > maxGroupLen {
		return false
	}
	*g = append(*g, s)
	return true
}

// claimTime is an optional NumericDate claim such as "auth_time"
// (RFC 7519 §2), read as go-oidc reads "iat" and "exp": a JSON number (or
// a string holding one), fractions dropped. It never fails to decode:
// present says the claim was there and not null, and valid that it held a
// number, then in unix.
type claimTime struct {
	unix    int64
	present bool
	valid   bool
}

func (t *claimTime) UnmarshalJSON(b []byte) error {
	*t = claimTime{present: strings.TrimSpace(string(b)) != "null"}
	if !t.present {
		return nil
	}
	var n json.Number
	if json.Unmarshal(b, &n) != nil {
		return nil
	}
	if i, err := n.Int64(); err == nil {
		t.unix, t.valid = i, true
	} else if f, err := n.Float64(); err == nil {
		t.unix, t.valid = int64(f), true
	}
	return nil
}

// maxGroupsPath bounds OIDCConfig.GroupsClaim.
const maxGroupsPath = 8

// groupsAt reads the groups claim at path from a token's claims, decoded
// by claims, as groupsIn does; it returns the groups only.
func groupsAt(claims func(any) error, path []string) []string {
	var obj map[string]json.RawMessage
	if claims(&obj) != nil {
		return nil
	}
	g, _ := groupsIn(obj, path)
	return g
}

// groupsIn reads the groups claim at path from claims: each element but
// the last names a member of a JSON object, the last the claim itself,
// read by readGroups (an array of strings or one string; odd entries
// skipped). A path that leads nowhere, or through something other than
// objects, gives no groups: a policy on groups then refuses (fail closed),
// it never errs the sign-in.
//
// incomplete reports that the user has groups the list lacks: readGroups
// dropped some, or the claim is a distributed claim, named in
// "_claim_names" (OpenID Connect Core §5.6.2,
// https://openid.net/specs/openid-connect-core-1_0.html#AggregatedDistributedClaims),
// whose value lives at another endpoint that portcullis does not call.
// That is how Microsoft Entra ID signals a groups overage: over 200
// groups, the token carries "_claim_names": {"groups": "src1"} and no
// "groups"
// (https://learn.microsoft.com/en-us/entra/identity/hybrid/connect/how-to-connect-fed-group-claims,
// https://learn.microsoft.com/en-us/troubleshoot/entra/entra-id/app-integration/get-signed-in-users-groups-in-access-token).
func groupsIn(claims map[string]json.RawMessage, path []string) (groups []string, incomplete bool) {
	if len(path) == 1 && distributed(claims, path[0]) {
		incomplete = true
	}
	obj := claims
	for _, name := range path[:len(path)-1] {
		raw, ok := obj[name]
		if !ok || !isJSONObject(raw) {
			return nil, incomplete
		}
		obj = nil
		if json.Unmarshal(raw, &obj) != nil {
			return nil, incomplete
		}
	}
	raw, ok := obj[path[len(path)-1]]
	if !ok {
		return nil, incomplete
	}
	groups, dropped := readGroups(raw)
	return groups, incomplete || dropped
}

// distributed reports whether claims' "_claim_names" names the claim:
// its value is elsewhere (an aggregated or distributed claim).
func distributed(claims map[string]json.RawMessage, name string) bool {
	raw, ok := claims["_claim_names"]
	if !ok {
		return false
	}
	var names map[string]json.RawMessage
	if json.Unmarshal(raw, &names) != nil {
		return false
	}
	_, ok = names[name]
	return ok
}

// Bounds on the claims of a login (Identity.Claims) and on those kept in
// the session (OIDCConfig.KeepClaims, session.User.Claims). The kept
// claims' bounds are the session encoding's (maxClaims, maxClaimName,
// maxClaimValue and maxClaimsSize in session/codec.go): a session whose
// kept claims passed keep always saves.
const (
	// maxClaimsSize bounds a login's claims, names and raw values
	// together, from the ID token and UserInfo: 64 KiB, far above what a
	// provider sends (Entra ID stops listing groups at 200, about 8 KiB).
	maxClaimsSize = 64 << 10
	maxKeepClaims = 16
	maxKeptName   = 256
	maxKeptValue  = 1 << 10
	maxKeptSize   = 4 << 10
)

// protocolClaim reports whether name is a claim an ID token's verification
// rests on (OpenID Connect Core §2, §3.1.3.6; RFC 7519 §4.1): UserInfo
// never overrides one, and KeepClaims may not name one — what the session
// needs of them, it holds in its own fields.
func protocolClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "azp", "at_hash", "c_hash",
		"auth_time", "acr", "amr", "sid", "jti":
		return true
	}
	return false
}

// keepClaimsOption validates OIDCConfig.KeepClaims and returns a copy.
func keepClaimsOption(provider string, names []string) ([]string, error) {
	if len(names) > maxKeepClaims {
		return nil, fmt.Errorf("providers: %s: KeepClaims names %d claims, at most %d", provider, len(names), maxKeepClaims)
	}
	for i, n := range names {
		switch {
		case n == "":
			return nil, fmt.Errorf("providers: %s: KeepClaims has an empty name", provider)
		case len(n) > maxKeptName:
			return nil, fmt.Errorf("providers: %s: KeepClaims: a name of %d bytes, at most %d", provider, len(n), maxKeptName)
		case protocolClaim(n):
			return nil, fmt.Errorf("providers: %s: KeepClaims: %q is a protocol claim, which portcullis verifies and keeps in its own fields (Subject, Issuer, AuthTime, ACR, AMR, SID); keep only profile or custom claims", provider, n)
		case slices.Contains(names[:i], n):
			return nil, fmt.Errorf("providers: %s: KeepClaims names %q twice", provider, n)
		}
	}
	return slices.Clone(names), nil
}

// claimsError refuses a login for the size of its claims. It wraps
// ErrInvalidResponse; Reason names the check in the middleware's log
// vocabulary, and Claim the kept claim at fault, if there is one. Its
// text names claims and sizes, never a value.
type claimsError struct{ reason, claim, text string }

func (e *claimsError) Error() string  { return e.text }
func (e *claimsError) Unwrap() error  { return ErrInvalidResponse }
func (e *claimsError) Reason() string { return e.reason }
func (e *claimsError) Claim() string  { return e.claim }

// mergeClaims returns the claims of a login: the ID token's (idToken)
// with the UserInfo response's (userInfo, nil without UserInfo) added
// over all but the protocol claims, which stay the ID token's. It
// refuses a set beyond maxClaimsSize. idToken is modified.
func mergeClaims(idToken, userInfo map[string]json.RawMessage) (map[string]json.RawMessage, error) {
	for name, v := range userInfo {
		if !protocolClaim(name) {
			idToken[name] = v
		}
	}
	size := 0
	for name, v := range idToken {
		size += len(name) + len(v)
	}
	if size > maxClaimsSize {
		return nil, &claimsError{reason: "claims_too_large",
			text: fmt.Sprintf("the login's claims are %d bytes together, at most %d", size, maxClaimsSize)}
	}
	return idToken, nil
}

// keep returns the claims named in names, compacted, for the session:
// nil when none is present. A kept value beyond maxKeptValue, or kept
// claims beyond maxKeptSize together, refuse the login, naming the claim:
// a kept claim is never truncated or silently left out.
func keep(claims map[string]json.RawMessage, names []string) (map[string]json.RawMessage, error) {
	var kept map[string]json.RawMessage
	size := 0
	for _, name := range names {
		raw, ok := claims[name]
		if !ok {
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			// go-oidc and fetchUserInfo decoded these bytes as JSON.
			return nil, fmt.Errorf("kept claim %q: %w", name, err)
		}
		if b.Len() > maxKeptValue {
			return nil, &claimsError{reason: "kept_claim_too_large", claim: name,
				text: fmt.Sprintf("kept claim %q is %d bytes of JSON, at most %d", name, b.Len(), maxKeptValue)}
		}
		if size += len(name) + b.Len(); size > maxKeptSize {
			return nil, &claimsError{reason: "kept_claims_too_large", claim: name,
				text: fmt.Sprintf("kept claims are %d bytes together with %q, at most %d", size, name, maxKeptSize)}
		}
		if kept == nil {
			kept = make(map[string]json.RawMessage, len(names))
		}
		kept[name] = b.Bytes()
	}
	return kept, nil
}
