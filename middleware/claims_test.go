package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis-go/portcullis/internal/oidctest"
	"github.com/portcullis-go/portcullis/middleware/policy"
	"github.com/portcullis-go/portcullis/session"
)

// TestKeptClaimsEndToEnd: a claim named in KeepClaims reaches
// UserFrom(ctx).Claims through the real callback and the session cookie;
// SignInClaims shows every claim to SignInPolicy, LinkAccount and OnLogin,
// and nothing outside a sign-in; what OnLogin maps is kept.
func TestKeptClaimsEndToEnd(t *testing.T) {
	type seen struct {
		policy, link, login map[string]json.RawMessage
		outside             bool
	}
	var got seen
	lt := newLoginTest(t, loginOptions{
		keepClaims: []string{"tid", "realm_access"},
		config: func(c *Config) {
			c.SignInPolicy = policy.Func(func(r *policy.Request) error {
				got.policy, _ = SignInClaims(r.HTTP.Context())
				return nil
			})
			c.LinkAccount = func(ctx context.Context, u session.User) (string, error) {
				got.link, _ = SignInClaims(ctx)
				var dept string
				if err := json.Unmarshal(got.link["department"], &dept); err != nil {
					return "", err
				}
				return "acct-" + dept, nil
			}
			c.OnLogin = func(ctx context.Context, s *session.Session) error {
				got.login, _ = SignInClaims(ctx)
				var ra struct{ Roles []string }
				if err := json.Unmarshal(got.login["realm_access"], &ra); err != nil {
					return err
				}
				s.User.Groups = ra.Roles
				s.User.Claims["mapped"] = json.RawMessage(`{"by":"OnLogin"}`)
				return nil
			}
		},
	})
	lt.op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
		c["tid"] = "tenant-1"
		c["department"] = "eng"
		c["realm_access"] = map[string]any{"roles": []string{"admin", "ops"}}
		return c, h
	}
	var kept *session.User
	mux := http.NewServeMux()
	mux.Handle("/auth/", lt.auth.Handler())
	mux.Handle("/private", lt.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		kept = u
		_, got.outside = SignInClaims(r.Context())
		w.Write([]byte("hello " + u.Provider + "|" + u.Subject))
	})))
	lt.app.Config.Handler = mux

	cb := lt.start("a")
	sent := lt.flowCookies()
	lt.checkAccepted(lt.get(cb.String()), sent)

	for hook, claims := range map[string]map[string]json.RawMessage{"SignInPolicy": got.policy, "LinkAccount": got.link, "OnLogin": got.login} {
		if string(claims["department"]) != `"eng"` || string(claims["sub"]) != `"`+oidctest.Subject+`"` || len(claims["nonce"]) == 0 {
			t.Errorf("SignInClaims in %s: %s", hook, claims)
		}
	}
	if got.outside {
		t.Error("SignInClaims answers in a request behind Require")
	}
	if kept == nil {
		t.Fatal("the protected page did not run")
	}
	var tid string
	if ok, err := kept.Claim("tid", &tid); !ok || err != nil || tid != "tenant-1" {
		t.Errorf("Claim(tid) = %v, %v, %q", ok, err, tid)
	}
	if string(kept.Claims["mapped"]) != `{"by":"OnLogin"}` || kept.Claims["department"] != nil || len(kept.Claims) != 3 {
		t.Errorf("kept claims %s", kept.Claims)
	}
	if kept.Account != "acct-eng" || strings.Join(kept.Groups, ",") != "admin,ops" {
		t.Errorf("account %q groups %v", kept.Account, kept.Groups)
	}
}

// TestKeptClaimTooLarge: a login whose kept claim exceeds its bound gets
// the error page for a refused callback and no session, and the log names
// the claim, never its value.
func TestKeptClaimTooLarge(t *testing.T) {
	const secret = "KEPT-CLAIM-SECRET"
	lt := newLoginTest(t, loginOptions{keepClaims: []string{"roles"}})
	lt.extra = append(lt.extra, secret)
	lt.op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
		c["roles"] = secret + strings.Repeat("r", 2000)
		return c, h
	}
	cb := lt.start("a")
	sent := lt.flowCookies()
	r := lt.get(cb.String())
	lt.checkRejected(r, http.StatusBadRequest, sent, false)
	if err := lt.lastErr(); !errors.Is(err, ErrInvalidRequest) || reasonOf(err) != "kept_claim_too_large" {
		t.Errorf("error %v (reason %q), want ErrInvalidRequest for kept_claim_too_large", err, reasonOf(err))
	}
	if !logHas(lt.logs.String(), "claim=roles") {
		t.Errorf("no log record naming the claim:\n%s", lt.logs.String())
	}
	if strings.Contains(r.body, "roles") {
		t.Error("the error page names the claim")
	}
}

// TestGroupsIncompleteEndToEnd: a groups overage (a distributed "groups"
// claim, as Entra ID sends past 200 groups) signs the user in with
// GroupsIncomplete, which /auth/userinfo reports and a group policy
// refuses with its own reason.
func TestGroupsIncompleteEndToEnd(t *testing.T) {
	var denied error
	lt := newLoginTest(t, loginOptions{})
	lt.op.IDToken = func(c oidctest.Claims, h oidctest.Header) (oidctest.Claims, oidctest.Header) {
		c["_claim_names"] = map[string]string{"groups": "src1"}
		c["_claim_sources"] = map[string]any{"src1": map[string]string{"endpoint": "https://graph.example/getMemberObjects"}}
		return c, h
	}
	mux := http.NewServeMux()
	mux.Handle("/auth/", lt.auth.Handler())
	mux.Handle("/private", lt.auth.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom(r.Context())
		denied = policy.Groups("admins").Check(&policy.Request{HTTP: r, User: u})
		w.Write([]byte("hello " + u.Provider + "|" + u.Subject))
	})))
	lt.app.Config.Handler = mux
	cb := lt.start("a")
	sent := lt.flowCookies()
	lt.checkAccepted(lt.get(cb.String()), sent)
	if denied == nil || !strings.Contains(denied.Error(), "incomplete") {
		t.Errorf("policy.Groups = %v, want the incomplete-list refusal", denied)
	}
	r := lt.get(lt.app.URL + "/auth/userinfo")
	var ui struct {
		Groups           []string `json:"groups"`
		GroupsIncomplete bool     `json:"groups_incomplete"`
	}
	if r.StatusCode != http.StatusOK || json.Unmarshal([]byte(r.body), &ui) != nil || !ui.GroupsIncomplete || len(ui.Groups) != 0 {
		t.Errorf("userinfo %d %s", r.StatusCode, r.body)
	}
}
