package main

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/portcullis-go/portcullis/internal/oidctest"
)

// writeKey writes key to a PEM file of type typ and returns its path.
func writeKey(t *testing.T, typ string, der []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func pkcs8(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// signInAt runs the example against op with env and signs in at
// /private; it returns the status, the body and the log.
func signInAt(t *testing.T, op *oidctest.Server, env map[string]string) (int, string, string) {
	t.Helper()
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	vars := map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": oidctest.ClientID, "BASE_URL": srv.URL,
		"SESSION_KEYS": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="}
	for k, v := range env {
		vars[k] = v
	}
	var logs bytes.Buffer
	h, err := run(t.Context(), func(k string) string { return vars[k] }, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", srv.URL+"/private", nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, err := browser.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), logs.String()
}

// TestClientAuthMethods signs in with each OIDC_CLIENT_AUTH against a
// provider that accepts only that method; with OIDC_CLIENT_KEY, the
// logged JWK is the key's public half, with the kid the assertions carry.
func TestClientAuthMethods(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rs, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	for _, tc := range []struct {
		name    string
		method  string // accepted by the provider
		env     map[string]string
		key     crypto.Signer
		pemType string
		der     func() []byte
		listed  []string // what discovery lists, when not the accepted method
	}{
		{name: "basic", method: oidctest.AuthSecretBasic, env: map[string]string{"OIDC_CLIENT_SECRET": oidctest.ClientSecret, "OIDC_CLIENT_AUTH": "client_secret_basic"}},
		{name: "post", method: oidctest.AuthSecretPost, env: map[string]string{"OIDC_CLIENT_SECRET": oidctest.ClientSecret, "OIDC_CLIENT_AUTH": "client_secret_post"},
			listed: []string{oidctest.AuthSecretBasic, oidctest.AuthSecretPost}},
		{name: "post from discovery", method: oidctest.AuthSecretPost, env: map[string]string{"OIDC_CLIENT_SECRET": oidctest.ClientSecret}},
		{name: "private_key_jwt P-256 PKCS #8", method: oidctest.AuthPrivateKeyJWT, env: map[string]string{"OIDC_CLIENT_AUTH": "private_key_jwt"},
			key: ec, pemType: "PRIVATE KEY", der: func() []byte { return pkcs8(t, ec) }},
		{name: "private_key_jwt P-256 SEC 1", method: oidctest.AuthPrivateKeyJWT, key: ec, pemType: "EC PRIVATE KEY",
			der: func() []byte { b, _ := x509.MarshalECPrivateKey(ec); return b }},
		{name: "private_key_jwt RSA PKCS #1", method: oidctest.AuthPrivateKeyJWT, key: rs, pemType: "RSA PRIVATE KEY",
			der: func() []byte { return x509.MarshalPKCS1PrivateKey(rs) }},
		{name: "private_key_jwt Ed25519", method: oidctest.AuthPrivateKeyJWT, key: ed, pemType: "PRIVATE KEY", der: func() []byte { return pkcs8(t, ed) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range tc.env {
				env[k] = v
			}
			opts := []oidctest.Option{oidctest.WithClientAuth(tc.method)}
			if tc.key != nil {
				opts = append(opts, oidctest.WithClientKey("", tc.key.Public()))
				env["OIDC_CLIENT_KEY"] = writeKey(t, tc.pemType, tc.der())
			}
			op := oidctest.New(t, opts...)
			if tc.listed != nil {
				op.Discovery = func(d map[string]any) { d["token_endpoint_auth_methods_supported"] = tc.listed }
			}
			code, body, logs := signInAt(t, op, env)
			if code != http.StatusOK || !strings.Contains(body, "Signed in") {
				t.Fatalf("/private: %d %s", code, body)
			}
			if tc.key == nil {
				return
			}
			jwk, kid := loggedJWK(t, logs)
			if !jwk.Valid() || !jwk.IsPublic() || jwk.KeyID != kid || jwk.Use != "sig" || jwk.Algorithm == "" {
				t.Errorf("logged JWK %+v (kid %q)", jwk, kid)
			}
			if !tc.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(jwk.Key) {
				t.Error("the logged JWK is not the key's public half")
			}
			a := op.Requests(oidctest.PathToken)[0].PostForm.Get("client_assertion")
			sig, err := jose.ParseSigned(a, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(jwk.Algorithm)})
			if err != nil || sig.Signatures[0].Header.KeyID != kid {
				t.Errorf("assertion kid is not the logged kid %q (%v)", kid, err)
			}
		})
	}
}

// loggedJWK returns the JWK and kid of the start-up log line.
func loggedJWK(t *testing.T, logs string) (jose.JSONWebKey, string) {
	t.Helper()
	for _, line := range strings.Split(logs, "\n") {
		var rec struct{ Kid, JWK string }
		if json.Unmarshal([]byte(line), &rec) != nil || rec.JWK == "" {
			continue
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON([]byte(rec.JWK)); err != nil {
			t.Fatalf("logged JWK: %v", err)
		}
		return jwk, rec.Kid
	}
	t.Fatalf("no JWK in the log:\n%s", logs)
	return jose.JSONWebKey{}, ""
}

// TestAuthParams: OIDC_AUTH_PARAMS go into every authorization request.
func TestAuthParams(t *testing.T) {
	op := oidctest.New(t)
	code, body, _ := signInAt(t, op, map[string]string{"OIDC_CLIENT_SECRET": oidctest.ClientSecret,
		"OIDC_AUTH_PARAMS": "audience=https%3A%2F%2Fapi.example.com&login_hint=ada@example.com"})
	if code != http.StatusOK {
		t.Fatalf("/private: %d %s", code, body)
	}
	q := op.Requests(oidctest.PathAuthorize)[0].URL.Query()
	if q.Get("audience") != "https://api.example.com" || q.Get("login_hint") != "ada@example.com" {
		t.Errorf("authorization request %v", q)
	}
}

// TestClientAuthRefusals: bad values stop the program with a message
// naming the variable.
func TestClientAuthRefusals(t *testing.T) {
	op := oidctest.New(t, oidctest.WithClientAuth(oidctest.AuthSecretBasic, oidctest.AuthPrivateKeyJWT))
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	keyFile := writeKey(t, "PRIVATE KEY", pkcs8(t, ec))
	notPEM := filepath.Join(t.TempDir(), "key.txt")
	os.WriteFile(notPEM, []byte("not a key"), 0o600)
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"auth params not a query", map[string]string{"OIDC_AUTH_PARAMS": "audience=%zz"}, "OIDC_AUTH_PARAMS must be in query form"},
		{"auth params portcullis owns", map[string]string{"OIDC_AUTH_PARAMS": "state=x"}, "state"},
		{"unknown method", map[string]string{"OIDC_CLIENT_AUTH": "none"}, "OIDC_CLIENT_AUTH is \"none\""},
		{"private_key_jwt without key", map[string]string{"OIDC_CLIENT_AUTH": "private_key_jwt"}, "needs OIDC_CLIENT_KEY"},
		{"key with post", map[string]string{"OIDC_CLIENT_AUTH": "client_secret_post", "OIDC_CLIENT_KEY": keyFile}, "OIDC_CLIENT_KEY is for private_key_jwt"},
		{"key and secret", map[string]string{"OIDC_CLIENT_SECRET": "s", "OIDC_CLIENT_KEY": keyFile}, "both set"},
		{"key file missing", map[string]string{"OIDC_CLIENT_KEY": "/nonexistent/key.pem"}, "OIDC_CLIENT_KEY"},
		{"key file not PEM", map[string]string{"OIDC_CLIENT_KEY": notPEM}, "is not a PEM file"},
		{"a certificate", map[string]string{"OIDC_CLIENT_KEY": writeKey(t, "CERTIFICATE", []byte{1})}, "not a private key"},
		{"P-224 key", map[string]string{"OIDC_CLIENT_KEY": writeKey(t, "PRIVATE KEY", pkcs8(t, p224))}, "P-256"},
		{"method the provider lacks", map[string]string{"OIDC_CLIENT_SECRET": "s", "OIDC_CLIENT_AUTH": "client_secret_post"}, "does not list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{"OIDC_ISSUER": op.URL, "OIDC_CLIENT_ID": oidctest.ClientID}
			for k, v := range tc.env {
				vars[k] = v
			}
			_, err := run(t.Context(), func(k string) string { return vars[k] }, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v; want an error with %q", err, tc.want)
			}
		})
	}
}
