package session

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"time"
)

// User is who signed in: the identity a provider vouched for, reduced to the
// fields an application needs. The pair (Provider, Subject) is the stable key
// of a user: the same Subject at two providers is two different users, and
// an email address is never an identity.
type User struct {
	// Provider is the configured name of the provider that signed the user
	// in, such as "google" or "corp".
	Provider string
	// Issuer is the OpenID Connect issuer that vouched for the user, empty
	// for plain OAuth 2.0 providers.
	Issuer string
	// Subject is the provider's stable, never reassigned identifier for the
	// user: the ID token's "sub", or GitHub's numeric account id.
	Subject string
	// Email is set only when the provider says it verified the address.
	Email string
	// Name is the display name, if the provider shares one.
	Name string
	// Login is the user's handle at the provider (preferred_username, the
	// GitHub login); it can change and must not be used as a key.
	Login string
	// Picture is the URL of the user's avatar, if any.
	Picture string
	// Groups holds group, organisation or team names the provider asserted.
	Groups []string
	// GroupsIncomplete is set when Groups is known to hold only some of
	// the user's groups: the provider said the user has more than it
	// listed (Microsoft Entra ID's groups overage), or portcullis dropped
	// groups beyond its bound (64 per token). A group policy refuses such
	// a user unless a listed group matches, with a reason that says the
	// list was incomplete (middleware/policy.Groups): it never reads an
	// incomplete list as "not in the group" silently.
	GroupsIncomplete bool
	// Account is the application's own identifier for this user, when its
	// account-linking hook set one (middleware Config.LinkAccount): one
	// application user can sign in through several providers. Empty
	// otherwise.
	Account string
	// Claims holds the provider's claims the application chose to keep
	// (providers.OIDCConfig.KeepClaims), or set itself at sign-in
	// (middleware Config.OnLogin): raw JSON values by top-level claim
	// name, nil when there are none. Read one with [User.Claim].
	// [CookieStore] and [GorillaStore] keep at most 16 claims, each name
	// at most 256 bytes and each value valid JSON of at most 1 KiB, names
	// and values 4 KiB together; they refuse to save more (an error
	// wrapping [ErrTooLarge]) rather than drop any. Claims are not verified again
	// after sign-in: they say what the provider asserted then.
	Claims map[string]json.RawMessage
}

// Claim decodes the kept claim called name into v, as [json.Unmarshal]
// does, and reports whether the user has it. A claim that is absent is
// (false, nil), v untouched; one that does not fit v is (true, the
// decoding error).
func (u *User) Claim(name string, v any) (bool, error) {
	raw, ok := u.Claims[name]
	if !ok {
		return false, nil
	}
	return true, json.Unmarshal(raw, v)
}

// ID returns the user's stable key, "provider|subject", suitable for a
// database column. See [User] for why the provider is part of it.
func (u *User) ID() string { return u.Provider + "|" + u.Subject }

// Tokens are the OAuth 2.0 tokens a provider issued for the session.
type Tokens struct {
	AccessToken  string
	TokenType    string
	RefreshToken string
	// Expiry is when the access token expires; zero means the provider did
	// not say.
	Expiry time.Time
	// IDToken is the raw, verified OpenID Connect ID token, kept for
	// RP-initiated logout (id_token_hint).
	IDToken string
}

// Session is one signed-in browser session: the user, their tokens and the
// times that bound its life. A Session is a plain value: the stores encode
// it, the middleware decides what it means.
type Session struct {
	// ID is a random identifier minted at sign-in; a new sign-in always gets
	// a new ID (no session fixation).
	ID string
	// User is who signed in.
	User User
	// Tokens are the provider's tokens for this session.
	Tokens Tokens
	// SID is the provider's session identifier (the ID token's "sid"),
	// used by back-channel logout.
	SID string
	// Created is when the user signed in.
	Created time.Time
	// LastSeen is when the session was last written with activity.
	LastSeen time.Time
	// Expires is the absolute end of the session, fixed at sign-in; a
	// refresh never moves it.
	Expires time.Time
	// AuthTime is when the user last authenticated at the provider (the ID
	// token's "auth_time"), zero when the provider did not say — then a
	// route that needs a recent authentication (policy.StepUp with
	// MaxAge) sends the user through the provider with max_age, which
	// makes auth_time required. A step-up sign-in moves it.
	AuthTime time.Time
	// ACR and AMR are how the user authenticated (the ID token's "acr"
	// and "amr", OpenID Connect Core §2), when the provider said.
	ACR string
	AMR []string
}

// New returns a session for u with a fresh random ID, created at now and
// ending at now+lifetime.
func New(u User, t Tokens, now time.Time, lifetime time.Duration) *Session {
	return &Session{
		ID:       NewID(),
		User:     u,
		Tokens:   t,
		Created:  now,
		LastSeen: now,
		Expires:  now.Add(lifetime),
	}
}

// NewID returns 128 random bits, base64url-encoded.
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never returns an error; see crypto/rand.Read
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Valid reports whether the session is still within its absolute lifetime
// at now.
func (s *Session) Valid(now time.Time) bool {
	return s != nil && !s.Expires.IsZero() && now.Before(s.Expires)
}
