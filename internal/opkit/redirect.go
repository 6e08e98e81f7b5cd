package opkit

import (
	"net/url"
	"strings"
)

// AppendQuery returns the registered redirect URI uri with params added to
// its query: the authorization response of RFC 6749 §4.1.2 (code, state,
// iss) or its error response (§4.1.2.1). The query uri already has is kept
// byte for byte, as RFC 6749 §3.1.2 requires; params are encoded in key
// order. uri is not parsed or checked: the caller has already matched it
// exactly against the client's registration. With no params, uri is
// returned unchanged.
func AppendQuery(uri string, params url.Values) string {
	if len(params) == 0 {
		return uri
	}
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
	}
	return uri + sep + params.Encode()
}
