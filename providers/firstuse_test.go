package providers

import (
	"context"
	"sync"
	"testing"

	"github.com/portcullis-go/portcullis/session"
	"golang.org/x/oauth2"
)

// TestConcurrentFirstUse: a Provider serves many requests at once from its
// first one on — logins starting and finishing while its first refresh
// runs. (oauth2.Config fills a cache inside itself on its first token
// request; a Config copied by value meanwhile, to set a flow's redirect
// URL, was a data race that -race reports here.)
func TestConcurrentFirstUse(t *testing.T) {
	s := newOAuth2Server(t)
	p, err := OAuth2(OAuth2Config{
		Name: "plain", ClientID: "c", ClientSecret: "s",
		Endpoint: oauth2.Endpoint{AuthURL: s.URL + "/authorize", TokenURL: s.URL + "/token"},
		Identify: identifyMe(s.URL),
	})
	if err != nil {
		t.Fatal(err)
	}
	const redirect = "https://app.example/auth/callback/plain"
	start := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		<-start
		if _, err := p.Refresh(context.Background(), &session.Session{Tokens: session.Tokens{RefreshToken: "rt-0"}}); err != nil {
			t.Errorf("refresh: %v", err)
		}
	})
	wg.Go(func() {
		<-start
		for range 200 {
			p.AuthCodeURL(context.Background(), Flow{RedirectURL: redirect, State: "s", Nonce: "n", Verifier: oauth2.GenerateVerifier()})
		}
	})
	wg.Go(func() {
		<-start
		m, err := p.metadata(context.Background())
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := p.exchange(context.Background(), m, Flow{RedirectURL: redirect, Verifier: oauth2.GenerateVerifier()}, "c0de"); err != nil {
			t.Errorf("exchange: %v", err)
		}
	})
	close(start)
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, form := range s.token {
		if form.Get("grant_type") == "authorization_code" && form.Get("redirect_uri") != redirect {
			t.Errorf("code exchange sent redirect_uri %q, want %q", form.Get("redirect_uri"), redirect)
		}
	}
}
