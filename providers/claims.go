package providers

import (
	"encoding/json"
	"slices"
	"strings"
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
	var v string
	if json.Unmarshal(b, &v) != nil {
		v = ""
	}
	*s = claimString(v)
	return nil
}

// claimBool is a boolean claim such as "email_verified": the JSON true, or
// the string "true" in any ASCII case (go-oidc reads UserInfo's
// email_verified the same way), is true; anything else — false, "false",
// a number, null, other text — is false.
type claimBool bool

func (v *claimBool) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*v = claimBool(equalFoldASCII(s, "true"))
	} else {
		*v = string(b) == "true"
	}
	return nil
}

// claimGroups is a "groups" claim: an array of strings or a single string.
// Entries that are not strings, empty, longer than maxGroupLen or repeated
// are dropped, and at most maxClaimGroups are kept (the first ones). Any
// other value (an object, a number) decodes as no groups. Dropping can only
// take a group away from the user: use groups to grant access, not to deny
// it.
type claimGroups []string

func (g *claimGroups) UnmarshalJSON(b []byte) error {
	*g = nil
	var one string
	if json.Unmarshal(b, &one) == nil {
		g.add(one)
		return nil
	}
	var many []json.RawMessage
	if json.Unmarshal(b, &many) != nil {
		return nil
	}
	for _, raw := range many {
		if len(*g) == maxClaimGroups {
			break
		}
		var s string
		if json.Unmarshal(raw, &s) == nil {
			g.add(s)
		}
	}
	return nil
}

func (g *claimGroups) add(s string) {
	if s == "" || len(s) > maxGroupLen || slices.Contains(*g, s) {
		return
	}
	*g = append(*g, s)
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

// groupsAt reads the groups claim at path from a token's or UserInfo's
// claims, decoded by claims: each element but the last names a member of a
// JSON object, the last the claim itself, read like "groups" (an array of
// strings or one string; odd entries dropped). A path that leads nowhere,
// or through something other than objects, gives no groups: a policy on
// groups then refuses (fail closed), it never errs the sign-in.
func groupsAt(claims func(any) error, path []string) []string {
	var obj map[string]json.RawMessage
	if claims(&obj) != nil {
		return nil
	}
	for _, name := range path[:len(path)-1] {
		raw, ok := obj[name]
		if !ok || !isJSONObject(raw) {
			return nil
		}
		obj = nil
		if json.Unmarshal(raw, &obj) != nil {
			return nil
		}
	}
	var g claimGroups
	raw, ok := obj[path[len(path)-1]]
	if !ok || json.Unmarshal(raw, &g) != nil {
		return nil
	}
	return g
}
