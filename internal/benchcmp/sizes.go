package benchcmp

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/oauth2-proxy/oauth2-proxy/v7/pkg/apis/options"
	osessions "github.com/oauth2-proxy/oauth2-proxy/v7/pkg/apis/sessions"
	ocookie "github.com/oauth2-proxy/oauth2-proxy/v7/pkg/sessions/cookie"
)

// Size is the session cookies one store writes for one payload.
type Size struct {
	Cookies     int
	HeaderBytes int // of the Cookie request header carrying them
}

// sizeOf returns the cookies rec set, as a request would carry them.
func sizeOf(rec *httptest.ResponseRecorder) Size {
	var parts []string
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge >= 0 {
			parts = append(parts, c.Name+"="+c.Value)
		}
	}
	return Size{Cookies: len(parts), HeaderBytes: len(strings.Join(parts, "; "))}
}

// PortcullisSize is the size of the payload's portcullis session cookies.
func (s *Setup) PortcullisSize(pl Payload) (Size, error) {
	_, store, p, err := s.Portcullis(0)
	if err != nil {
		return Size{}, err
	}
	rec := httptest.NewRecorder()
	if err := store.Save(rec, newRequest(), s.portcullisSession(p, pl, 0)); err != nil {
		return Size{}, err
	}
	return sizeOf(rec), nil
}

// OAuth2ProxySize is the size of the payload's oauth2-proxy cookies.
func (s *Setup) OAuth2ProxySize(pl Payload) (Size, error) {
	secret := make([]byte, 32)
	rand.Read(secret)
	store, err := ocookie.NewCookieSessionStore(&options.SessionOptions{Type: options.CookieSessionStoreType}, &options.Cookie{
		Name: "_oauth2_proxy", Secret: base64.URLEncoding.EncodeToString(secret), Path: "/", Expire: 168 * time.Hour, Secure: true, HTTPOnly: true,
	})
	if err != nil {
		return Size{}, err
	}
	now, exp := time.Now(), pl.Expiry
	rec := httptest.NewRecorder()
	err = store.Save(rec, newRequest(), &osessions.SessionState{CreatedAt: &now, ExpiresOn: &exp, AccessToken: pl.AccessToken, IDToken: pl.IDToken,
		RefreshToken: pl.RefreshToken, Email: pl.Email, User: pl.Subject, PreferredUsername: pl.Name})
	return sizeOf(rec), err
}

// Sizes prints the session cookies of portcullis and oauth2-proxy for the
// realistic payload and for token sets of about 4 and 8 KB (the ID token
// padded with random, incompressible text).
func (s *Setup) Sizes(w io.Writer) error {
	fmt.Fprintln(w, "payload\ttoken bytes\tJSON B\tportcullis cookies / Cookie B / ÷ JSON\toauth2-proxy cookies / Cookie B / ÷ JSON")
	for _, c := range []struct {
		name string
		pl   Payload
	}{
		{"realistic", s.Payload},
		{"4 KB token set", PayloadWithTokens(s.Key, time.Now(), 4096)},
		{"8 KB token set", PayloadWithTokens(s.Key, time.Now(), 8192)},
	} {
		p, err := s.PortcullisSize(c.pl)
		if err != nil {
			return err
		}
		o, err := s.OAuth2ProxySize(c.pl)
		if err != nil {
			return err
		}
		js := c.pl.JSONSize()
		fmt.Fprintf(w, "%s\t%d\t%d\t%d / %d / %.2f×\t%d / %d / %.2f×\n", c.name, c.pl.TokenBytes(), js,
			p.Cookies, p.HeaderBytes, float64(p.HeaderBytes)/float64(js), o.Cookies, o.HeaderBytes, float64(o.HeaderBytes)/float64(js))
	}
	return nil
}
