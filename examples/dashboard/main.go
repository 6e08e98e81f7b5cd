// Command dashboard protects an admin dashboard: anyone may sign in, only
// admins enter, a dangerous action asks for a recent sign-in (step-up), and
// API clients call the same routes with a bearer token. It signs in with
// any OpenID Connect provider, configured by environment variables:
//
//	OIDC_ISSUER         the issuer URL, e.g. https://accounts.google.com (required)
//	OIDC_CLIENT_ID      the client ID registered at the provider (required)
//	OIDC_CLIENT_SECRET  its secret
//	OIDC_SCOPES         space separated; default "openid email profile"
//	                    (add "groups" if the provider releases groups only then)
//	BASE_URL            the app's public origin; default http://127.0.0.1:8080
//	LISTEN_ADDR         default 127.0.0.1:8080
//	SESSION_KEYS        comma separated, base64, 32 random bytes each, newest
//	                    first (openssl rand -base64 32); default: a random key
//	                    per run, which signs everyone out on restart
//	ADMIN_DOMAINS       comma separated email domains admitted to /admin, such
//	                    as example.com or *.example.com; verified addresses
//	                    only, Unicode domains in punycode (xn--…)
//	ADMIN_GROUPS        comma separated values of the "groups" claim admitted
//	                    to /admin. Either list admits; with neither, /admin
//	                    admits nobody
//	STEPUP_MAX_AGE      how many seconds old an authentication /admin/danger
//	                    accepts (policy.StepUp adds a minute for clock skew);
//	                    default 300
//	API_AUDIENCE        the "aud" bearer tokens must carry: this API's
//	                    identifier at the provider; default OIDC_CLIENT_ID
//	                    (then the app's own ID tokens have that aud too and
//	                    only their shape keeps them out: prefer an API
//	                    identifier of its own where the provider has one)
//
// A value that cannot be used stops the program with a message naming it.
// Register BASE_URL/auth/callback/oidc as the redirect URI at the provider.
//
// The routes:
//
//	/              public: what is where, and who is signed in
//	/admin         the dashboard, for admins only; anyone may sign in, and
//	               others get a 403 page rather than another sign-in
//	/admin/danger  a dangerous (here harmless) action, for admins who
//	               authenticated within STEPUP_MAX_AGE; anyone else is sent
//	               to the provider to authenticate again
//	/api/whoami    the admin as JSON: {"sub", "email", "groups"}
//	/auth/         sign-in, callback and sign-out (portcullis; sign-ins are
//	               rate limited per client)
//
// The protected routes also take an access token instead of the session
// cookie, issued by the provider as a JWT (RFC 9068) for API_AUDIENCE:
//
//	curl -H "Authorization: Bearer $TOKEN" $BASE_URL/api/whoami
//
// The same policy applies to the token's claims ("email" when
// "email_verified", and "groups"), so a token without them gets 403. The
// token is verified locally against the provider's keys; an opaque (non-JWT)
// token gets 401. Setting BearerTokens.Introspect would check those at the
// provider's introspection endpoint instead.
//
// Each sign-in is linked to an account of this application, kept in memory:
// by provider and subject, else by the email address of an account already
// known. portcullis sets the email only from an address the provider says it
// verified, so an unverified address never links to anyone's account.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portcullis-go/portcullis/examples/internal/envkeys"
	"github.com/portcullis-go/portcullis/middleware"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/providers"
	"github.com/portcullis-go/portcullis/session"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	app, err := run(ctx, os.Getenv, nil, logger)
	cancel()
	if err != nil {
		log.Fatal(err)
	}
	baseURL := cmp.Or(os.Getenv("BASE_URL"), "http://127.0.0.1:8080")
	logger.Info("listening", "url", baseURL, "redirect_uri", baseURL+"/auth/callback/oidc")
	log.Fatal(http.ListenAndServe(cmp.Or(os.Getenv("LISTEN_ADDR"), "127.0.0.1:8080"), app))
}

// run reads the configuration with getenv, discovers the provider and
// returns the application's handler. client makes the requests to the
// provider; nil means a default one.
func run(ctx context.Context, getenv func(string) string, client *http.Client, logger *slog.Logger) (http.Handler, error) {
	issuer, clientID := getenv("OIDC_ISSUER"), getenv("OIDC_CLIENT_ID")
	if issuer == "" || clientID == "" {
		return nil, errors.New("OIDC_ISSUER and OIDC_CLIENT_ID are required")
	}
	baseURL := cmp.Or(getenv("BASE_URL"), "http://127.0.0.1:8080")
	keys, err := envkeys.SessionKeys(getenv("SESSION_KEYS"), logger)
	if err != nil {
		return nil, err
	}
	admins, rule, err := adminPolicy(getenv("ADMIN_DOMAINS"), getenv("ADMIN_GROUPS"), logger)
	if err != nil {
		return nil, err
	}
	maxAge, err := strconv.Atoi(cmp.Or(getenv("STEPUP_MAX_AGE"), "300"))
	if err != nil || maxAge < 1 || maxAge > 86400 {
		return nil, fmt.Errorf("STEPUP_MAX_AGE: %q is not a number of seconds from 1 to 86400", getenv("STEPUP_MAX_AGE"))
	}
	audience := cmp.Or(getenv("API_AUDIENCE"), clientID)
	if getenv("API_AUDIENCE") == "" {
		logger.Warn("API_AUDIENCE is not set: bearer tokens must carry the client ID as aud; prefer an API identifier of its own")
	}
	if strings.ContainsFunc(audience, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fmt.Errorf("API_AUDIENCE: %q holds a space or a control character", audience)
	}

	provider, err := providers.OIDC(ctx, providers.OIDCConfig{
		Name:         "oidc",
		Issuer:       issuer,
		ClientID:     clientID,
		ClientSecret: getenv("OIDC_CLIENT_SECRET"),
		Scopes:       strings.Fields(getenv("OIDC_SCOPES")),
		HTTPClient:   client,
		Logger:       logger,
	})
	if err != nil {
		return nil, fmt.Errorf("OIDC_ISSUER %s: %w", issuer, err)
	}
	accounts := &accounts{byUser: map[string]string{}, byEmail: map[string]string{}}
	auth, err := middleware.New(middleware.Config{
		BaseURL:     baseURL,
		Providers:   []*providers.Provider{provider},
		Keys:        keys,
		Logger:      logger,
		LinkAccount: accounts.link,
		// Bearer tokens on every Require route: JWT access tokens only.
		BearerTokens: &middleware.BearerTokens{Provider: "oidc", Audience: audience},
	})
	if err != nil {
		return nil, err
	}

	// /admin/danger: an admin, who authenticated at most maxAge ago.
	danger := policy.AllOf(admins, policy.StepUp(policy.StepUpRequired{MaxAge: time.Duration(maxAge) * time.Second}))
	stepUp := plural(maxAge, "second")
	if maxAge%60 == 0 {
		stepUp = plural(maxAge/60, "minute")
	}
	page := func(w http.ResponseWriter, r *http.Request, name string, status int, v view) {
		v.Page, v.Rule, v.StepUp, v.BaseURL = name, rule, stepUp, baseURL
		s, ok := middleware.SessionFrom(r.Context())
		if !ok {
			s, _ = auth.Session(r) // the public page: the session if there is one
		}
		if s != nil {
			v.User, v.AuthTime = &s.User, s.AuthTime
		}
		render(w, name, status, v)
	}

	mux := http.NewServeMux()
	mux.Handle("/auth/", auth.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, r, "home", http.StatusOK, view{})
	})
	mux.Handle("GET /admin", auth.RequireWith(admins)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page(w, r, "admin", http.StatusOK, view{})
	})))
	mux.Handle("GET /admin/danger", auth.RequireWith(danger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page(w, r, "danger", http.StatusOK, view{})
	})))
	// The dangerous action itself: a same-origin form post, behind the same
	// policy, which here only logs who asked.
	mux.Handle("POST /admin/danger", http.NewCrossOriginProtection().Handler(auth.RequireWith(danger)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<10)
		if r.PostFormValue("confirm") != "yes" {
			page(w, r, "danger", http.StatusBadRequest, view{Unconfirmed: true})
			return
		}
		u, _ := middleware.UserFrom(r.Context())
		logger.Warn("dangerous action (a harmless one in this example)", "user", middleware.UserRef(u))
		page(w, r, "danger", http.StatusOK, view{Done: true})
	}))))
	mux.Handle("GET /api/whoami", auth.RequireWith(admins)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(struct {
			Sub    string   `json:"sub"`
			Email  string   `json:"email"`
			Groups []string `json:"groups"`
		}{u.Subject, u.Email, append([]string{}, u.Groups...)})
	})))
	return mux, nil
}

// adminPolicy builds who may enter /admin from ADMIN_DOMAINS and
// ADMIN_GROUPS, and says it in words for the pages.
func adminPolicy(domains, groups string, logger *slog.Logger) (policy.Policy, string, error) {
	var ps []policy.Policy
	var who []string
	for _, l := range []struct {
		name, value, words string
		policy             func(...string) policy.Policy
	}{
		{"ADMIN_DOMAINS", domains, "a verified email address at ", policy.EmailDomains},
		{"ADMIN_GROUPS", groups, "membership of the group ", policy.Groups},
	} {
		if l.value == "" {
			continue
		}
		items := strings.Split(l.value, ",")
		for i, item := range items {
			if items[i] = strings.TrimSpace(item); items[i] == "" {
				return nil, "", fmt.Errorf("%s: %q has an empty entry", l.name, l.value)
			}
		}
		p := l.policy(items...)
		if err := policy.Validate(p); err != nil {
			return nil, "", fmt.Errorf("%s: %w", l.name, err)
		}
		ps = append(ps, p)
		who = append(who, l.words+strings.Join(items, " or "))
	}
	if len(ps) == 0 {
		logger.Warn("ADMIN_DOMAINS and ADMIN_GROUPS are both empty: /admin admits nobody")
		nobody := policy.Func(func(*policy.Request) error {
			return fmt.Errorf("neither ADMIN_DOMAINS nor ADMIN_GROUPS is set: %w", policy.ErrDenied)
		})
		return nobody, "nobody yet: set ADMIN_DOMAINS or ADMIN_GROUPS", nil
	}
	return policy.AnyOf(ps...), strings.Join(who, ", or "), nil
}

// accounts is the application's own table of users, in memory: it links
// each identity that signs in to an account (middleware.Config.LinkAccount).
type accounts struct {
	mu      sync.Mutex
	byUser  map[string]string // session.User.ID(), "provider|subject"
	byEmail map[string]string // verified email address
	n       int
}

// link returns u's account: the one its provider and subject are linked
// to, else the one of an account with the same email address, else a new
// one. u.Email is "" unless the provider verified the address, so an
// unverified address never links. Link by email only with providers you
// trust to verify addresses.
func (a *accounts) link(_ context.Context, u session.User) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	email := strings.ToLower(u.Email)
	id, ok := a.byUser[u.ID()]
	if !ok && email != "" {
		id, ok = a.byEmail[email]
	}
	if !ok {
		a.n++
		id = fmt.Sprintf("acct-%d", a.n)
	}
	a.byUser[u.ID()] = id
	if _, taken := a.byEmail[email]; email != "" && !taken {
		a.byEmail[email] = id
	}
	return id, nil
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
