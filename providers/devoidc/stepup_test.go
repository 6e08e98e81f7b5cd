package devoidc

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// idClaims verifies the ID token of a token response and returns its claims.
func (o *testOP) idClaims(m map[string]any) idTokenClaims {
	o.t.Helper()
	var c idTokenClaims
	if err := o.op.keys.verify(str(m, "id_token"), &c); err != nil {
		o.t.Fatalf("ID token: %v", err)
	}
	return c
}

// signInAt runs the flow with AutoLogin and overrides and returns the ID
// token's claims.
func (o *testOP) signInAt(overrides map[string]string) idTokenClaims {
	o.t.Helper()
	resp, m := o.exchange(o.code(overrides))
	if resp.StatusCode != http.StatusOK {
		o.t.Fatalf("exchange: %d %v", resp.StatusCode, m)
	}
	return o.idClaims(m)
}

const elapsed = 10 * time.Minute // between the first sign-in and the request

// TestStepUp checks OpenID Connect Core 1.0 §3.1.2.1 with AutoLogin: after
// a first sign-in and ten minutes, a request either reuses the OP session,
// keeping its auth_time, acr and amr, or authenticates again at the level
// it asks for, with a fresh auth_time and sid.
func TestStepUp(t *testing.T) {
	mfa := map[string]string{"acr_values": ACRMultiFactor}
	tests := []struct {
		name      string
		first     map[string]string // overrides of the first sign-in
		then      map[string]string // overrides of the request under test
		wantFresh bool
		wantACR   string
		wantErr   string // an error redirect instead of a code
	}{
		{"plain request reuses the session", nil, nil, false, ACRPassword, ""},
		{"max_age not reached", nil, map[string]string{"max_age": "601"}, false, ACRPassword, ""},
		{"max_age reached", nil, map[string]string{"max_age": "600"}, true, ACRPassword, ""},
		{"max_age passed", nil, map[string]string{"max_age": "599"}, true, ACRPassword, ""},
		{"max_age=0", nil, map[string]string{"max_age": "0"}, true, ACRPassword, ""},
		{"huge max_age", nil, map[string]string{"max_age": "9223372036854775807"}, false, ACRPassword, ""},
		{"prompt=login", nil, map[string]string{"prompt": "login"}, true, ACRPassword, ""},
		{"prompt=login with mfa", nil, map[string]string{"prompt": "login", "acr_values": ACRMultiFactor}, true, ACRMultiFactor, ""},
		{"acr_values mfa over pwd", nil, mfa, true, ACRMultiFactor, ""},
		{"acr_values mfa among others", nil, map[string]string{"acr_values": "urn:other " + ACRMultiFactor}, true, ACRMultiFactor, ""},
		{"acr_values pwd over pwd", nil, map[string]string{"acr_values": ACRPassword}, false, ACRPassword, ""},
		{"unknown acr_values", nil, map[string]string{"acr_values": "urn:other"}, false, ACRPassword, ""},
		{"acr_values mfa over mfa", mfa, mfa, false, ACRMultiFactor, ""},
		{"acr_values pwd over mfa", mfa, map[string]string{"acr_values": ACRPassword}, false, ACRMultiFactor, ""},
		{"max_age over mfa signs in with pwd", mfa, map[string]string{"max_age": "0"}, true, ACRPassword, ""},
		{"max_age and mfa over mfa", mfa, map[string]string{"max_age": "0", "acr_values": ACRMultiFactor}, true, ACRMultiFactor, ""},
		{"prompt=none and mfa over pwd", nil, map[string]string{"prompt": "none", "acr_values": ACRMultiFactor}, false, "", "login_required"},
		{"prompt=none and max_age", nil, map[string]string{"prompt": "none", "max_age": "0"}, false, "", "login_required"},
		{"prompt=none and mfa over mfa", mfa, map[string]string{"prompt": "none", "acr_values": ACRMultiFactor}, false, ACRMultiFactor, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOP(t, withClock)
			first := o.signInAt(tt.first)
			o.clock.Advance(elapsed)
			if tt.wantErr != "" {
				_, challenge := pkce()
				q := redirectParams(t, o.authorize(authorizeQuery(challenge, tt.then)), testRedirect)
				if q.Get("error") != tt.wantErr || q.Has("code") {
					t.Fatalf("redirect params = %v, want error=%s", q, tt.wantErr)
				}
				return
			}
			c := o.signInAt(tt.then)
			wantAuthTime := first.AuthTime
			if tt.wantFresh {
				wantAuthTime = o.clock.Now().Unix()
			}
			if c.AuthTime != wantAuthTime || (c.SID != first.SID) != tt.wantFresh {
				t.Errorf("auth_time %d sid changed %v; want auth_time %d and a new session %v",
					c.AuthTime, c.SID != first.SID, wantAuthTime, tt.wantFresh)
			}
			if c.ACR != tt.wantACR || !slices.Equal(c.AMR, amrFor(tt.wantACR)) {
				t.Errorf("acr %q amr %v, want %q %v", c.ACR, c.AMR, tt.wantACR, amrFor(tt.wantACR))
			}
		})
	}
}

// TestStepUpRefresh checks that a refreshed ID token keeps the auth_time,
// acr and amr of the step-up, not of the first sign-in (§12.2).
func TestStepUpRefresh(t *testing.T) {
	o := newTestOP(t, withClock)
	o.signInAt(nil)
	o.clock.Advance(elapsed)
	resp, m := o.exchange(o.code(map[string]string{"acr_values": ACRMultiFactor}))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("exchange: %d %v", resp.StatusCode, m)
	}
	stepped := o.idClaims(m)
	o.clock.Advance(time.Minute)
	resp, m = o.refresh(str(m, "refresh_token"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("refresh: %d %v", resp.StatusCode, m)
	}
	c := o.idClaims(m)
	if c.AuthTime != stepped.AuthTime || c.ACR != ACRMultiFactor || !slices.Equal(c.AMR, []string{"pwd", "otp"}) {
		t.Errorf("refreshed auth_time %d acr %q amr %v, want %d %q [pwd otp]", c.AuthTime, c.ACR, c.AMR, stepped.AuthTime, ACRMultiFactor)
	}
}

// TestIgnoreStepUp checks the switch that simulates a provider that
// ignores step-up: the OP session is reused with its old auth_time and acr.
func TestIgnoreStepUp(t *testing.T) {
	ignore := func(st *setup) { st.cfg.IgnoreStepUp = true }
	tests := []struct {
		name string
		then map[string]string
	}{
		{"max_age=0", map[string]string{"max_age": "0"}},
		{"prompt=login", map[string]string{"prompt": "login"}},
		{"acr_values mfa", map[string]string{"acr_values": ACRMultiFactor}},
		{"all at once", map[string]string{"max_age": "0", "prompt": "login", "acr_values": ACRMultiFactor}},
		{"prompt=none and mfa", map[string]string{"prompt": "none", "acr_values": ACRMultiFactor}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOP(t, withClock, ignore)
			first := o.signInAt(nil)
			o.clock.Advance(elapsed)
			c := o.signInAt(tt.then)
			if c.AuthTime != first.AuthTime || c.SID != first.SID || c.ACR != ACRPassword || !slices.Equal(c.AMR, []string{"pwd"}) {
				t.Errorf("auth_time %d sid %q acr %q amr %v, want the first sign-in's %d %q %q [pwd]",
					c.AuthTime, c.SID, c.ACR, c.AMR, first.AuthTime, first.SID, ACRPassword)
			}
		})
	}
	t.Run("AutoLogin without a session ignores acr_values", func(t *testing.T) {
		o := newTestOP(t, ignore)
		if c := o.signInAt(map[string]string{"acr_values": ACRMultiFactor}); c.ACR != ACRPassword {
			t.Errorf("acr = %q, want %q", c.ACR, ACRPassword)
		}
	})
	t.Run("prompt=none still needs a session", func(t *testing.T) {
		o := newTestOP(t, ignore)
		_, challenge := pkce()
		q := redirectParams(t, o.authorize(authorizeQuery(challenge, map[string]string{"prompt": "none"})), testRedirect)
		if q.Get("error") != "login_required" {
			t.Errorf("redirect params = %v, want login_required", q)
		}
	})
}

// TestSignInLevels checks the sign-in page's two buttons per user and what
// each one signs in with.
func TestSignInLevels(t *testing.T) {
	_, challenge := pkce()
	t.Run("page", func(t *testing.T) {
		o := newTestOP(t, withManualLogin)
		plain, _ := o.signInPage(authorizeQuery(challenge, nil))
		asked, _ := o.signInPage(authorizeQuery(challenge, map[string]string{"acr_values": ACRMultiFactor}))
		for _, want := range []string{
			`name="subject" value="ada"`, `name="subject_mfa" value="ada"`, `name="subject_mfa" value="grace"`,
			`With a second factor<span class="vh"> as Ada Lovelace</span>`, `aria-hidden="true" focusable="false"`,
		} {
			if !strings.Contains(plain, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		if strings.Contains(plain, "A second factor is requested") {
			t.Error("the page says a second factor is requested when acr_values did not ask")
		}
		if !strings.Contains(asked, "A second factor is requested") || !strings.Contains(asked, ACRMultiFactor) {
			t.Error("the page does not say that acr_values ask for a second factor")
		}
	})
	t.Run("page with IgnoreStepUp", func(t *testing.T) {
		o := newTestOP(t, withManualLogin, func(st *setup) { st.cfg.IgnoreStepUp = true })
		body, _ := o.signInPage(authorizeQuery(challenge, map[string]string{"acr_values": ACRMultiFactor}))
		if strings.Contains(body, "A second factor is requested") || !strings.Contains(body, `name="subject_mfa"`) {
			t.Error("with IgnoreStepUp the page must offer both levels and not relay acr_values")
		}
	})

	tests := []struct {
		name     string
		acr      string // acr_values of the request
		fields   map[string]string
		wantACR  string // empty: the post is refused with 400
		wantUser string
	}{
		{"normal button", "", map[string]string{"subject": "grace"}, ACRPassword, "grace"},
		{"second factor button", "", map[string]string{"subject_mfa": "grace"}, ACRMultiFactor, "grace"},
		{"second factor when asked", ACRMultiFactor, map[string]string{"subject_mfa": "ada"}, ACRMultiFactor, "ada"},
		{"normal button when mfa was asked", ACRMultiFactor, map[string]string{"subject": "ada"}, ACRPassword, "ada"},
		{"both buttons", "", map[string]string{"subject": "ada", "subject_mfa": "ada"}, "", ""},
		{"unknown user with a second factor", "", map[string]string{"subject_mfa": "root"}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := newTestOP(t, withManualLogin)
			verifier, challenge := pkce()
			_, form := o.signInPage(authorizeQuery(challenge, map[string]string{"acr_values": tt.acr}))
			for k, v := range tt.fields {
				form.Set(k, v)
			}
			resp := o.postSignIn(form, nil)
			if tt.wantACR == "" {
				if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
					t.Fatalf("status %d, Location %q: want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
				}
				return
			}
			q := redirectParams(t, resp, testRedirect)
			resp, m := o.exchange(q.Get("code"), verifier)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("exchange: %d %v", resp.StatusCode, m)
			}
			if c := o.idClaims(m); c.Subject != tt.wantUser || c.ACR != tt.wantACR || !slices.Equal(c.AMR, amrFor(tt.wantACR)) {
				t.Errorf("sub %q acr %q amr %v, want %q %q", c.Subject, c.ACR, c.AMR, tt.wantUser, tt.wantACR)
			}

			// The session now satisfies a request for its own level and
			// below, and shows the page again for a higher one.
			mfaAsk := authorizeQuery(challenge, map[string]string{"acr_values": ACRMultiFactor})
			if tt.wantACR == ACRMultiFactor {
				redirectParams(t, o.authorize(mfaAsk), testRedirect)
			} else {
				o.signInPage(mfaAsk)
			}
		})
	}
}
