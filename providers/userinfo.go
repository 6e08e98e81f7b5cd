package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"golang.org/x/oauth2"
)

// userInfoResponse is a UserInfo response (OpenID Connect Core §5.3.2): the
// subject, and the profile claims read as tolerantly as the ID token's.
type userInfoResponse struct {
	Subject string
	profileClaims
	body []byte
}

// claims decodes the whole response into v.
func (ui *userInfoResponse) claims(v any) error { return json.Unmarshal(ui.body, v) }

// fetchUserInfo calls the UserInfo endpoint with tok as a Bearer token
// (§5.3.1) through the provider's hardened client. It reads the response
// itself rather than through go-oidc, whose decoding fails the whole
// response on one odd claim (an "email_verified" of null or "TRUE") and
// whose errors quote the body. Only JSON responses are accepted: a signed
// (application/jwt) response is refused, since verifying it would need
// checks go-oidc does not make (its iss and aud). Errors never quote the
// body; an unreachable or failing endpoint wraps ErrUnavailable.
func (p *Provider) fetchUserInfo(ctx context.Context, endpoint string, tok *oauth2.Token) (*userInfoResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := p.bearerClient(tok).Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: userinfo endpoint answered HTTP %d", ErrUnavailable, resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("userinfo: endpoint answered HTTP %d", resp.StatusCode)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "application/jwt" {
		return nil, errors.New("userinfo: signed responses (application/jwt) are not supported")
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %w", ErrUnavailable, err)
	}
	var ui userInfoResponse
	var sub struct {
		Subject *string `json:"sub"`
	}
	if json.Unmarshal(body, &sub) != nil || json.Unmarshal(body, &ui.profileClaims) != nil {
		return nil, errors.New("userinfo: response is not a JSON object")
	}
	if sub.Subject == nil {
		return nil, errors.New("userinfo: sub missing or not a string")
	}
	ui.Subject, ui.body = *sub.Subject, body
	return &ui, nil
}
