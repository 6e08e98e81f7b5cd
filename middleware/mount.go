package middleware

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// The mounting mistakes Handler reports, each logged once.
const (
	mountMethodPattern = iota
	mountWrongPrefix
	mountMistakes
)

// mounted checks how Handler was mounted and returns r with its public
// path: the path as the application's mux saw it when that is under the
// full prefix (BaseURL's path + PathPrefix), or with BaseURL's path put
// back when it is under PathPrefix alone (http.StripPrefix of BaseURL's
// path, or a proxy that strips it). Anything else is a mounting mistake:
// an ErrInternal, logged once with the fix.
func (a *Auth) mounted(r *http.Request) (*http.Request, error) {
	if i := strings.IndexAny(r.Pattern, " \t"); i > 0 {
		// A ServeMux pattern with a method ("GET /auth/"): the endpoints
		// of the other methods (POST /auth/logout, the back-channel
		// logout) never reach Handler, so logout would fail for every
		// user. Refuse everything until it is mounted properly.
		path := strings.TrimLeft(r.Pattern[i:], " \t")
		a.mountMistake(r.Context(), mountMethodPattern,
			`portcullis: Handler is mounted with a method in its pattern, so requests of other methods never reach it (logout is a POST): mount it without one, as mux.Handle("`+path+`", auth.Handler())`,
			slog.String("pattern", r.Pattern))
		return r, fail(ErrInternal, "mount_method_pattern", nil)
	}
	path := r.URL.Path
	switch {
	case pathUnder(path, a.s.prefix):
		return r, nil
	case a.s.basePath != "" && pathUnder(path, a.s.PathPrefix):
		r2 := new(http.Request)
		*r2 = *r
		r2.URL = new(url.URL)
		*r2.URL = *r.URL
		r2.URL.Path = a.s.basePath + r.URL.Path
		if r.URL.RawPath != "" {
			r2.URL.RawPath = a.s.basePath + r.URL.RawPath
		}
		return r2, nil
	}
	msg := `portcullis: Handler received a request outside PathPrefix ` + a.s.PathPrefix + `: mount it as mux.Handle("` + a.s.prefix + `/", auth.Handler())`
	if a.s.basePath != "" {
		msg += ` (or behind http.StripPrefix("` + a.s.basePath + `", ...) of BaseURL's path only, as mux.Handle("` + a.s.PathPrefix + `/", auth.Handler()))`
	}
	msg += `, or set Config.PathPrefix to where it is mounted; a StripPrefix must not remove PathPrefix`
	attrs := []slog.Attr{}
	if r.Pattern != "" {
		attrs = append(attrs, slog.String("pattern", r.Pattern))
	}
	a.mountMistake(r.Context(), mountWrongPrefix, msg, attrs...)
	return r, fail(ErrInternal, "mount_wrong_prefix", nil)
}

// mountMistake logs msg at error level, once per kind of mistake: every
// request through a wrong mount fails, one record says why.
func (a *Auth) mountMistake(ctx context.Context, kind int, msg string, attrs ...slog.Attr) {
	reason := [...]string{mountMethodPattern: "mount_method_pattern", mountWrongPrefix: "mount_wrong_prefix"}[kind]
	a.mountLogged[kind].Do(func() {
		a.log.LogAttrs(ctx, slog.LevelError, msg, append(attrs, reasonAttr(reason))...)
	})
}

// pathUnder reports whether path is prefix or below it.
func pathUnder(path, prefix string) bool {
	rest, ok := strings.CutPrefix(path, prefix)
	return ok && (rest == "" || rest[0] == '/')
}

// serveHead answers HEAD for an endpoint whose GET starts a login,
// finishes one or ends a logout flow. ServeMux lets a GET pattern serve
// HEAD, and a link checker or a prefetching mail scanner that sends HEAD
// must not set a flow cookie, call a provider or spend a state.
func serveHead(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Allow", http.MethodGet)
	w.WriteHeader(http.StatusMethodNotAllowed)
}

// requestReturnTo is the return path of an unauthenticated request to a
// protected route: the path the browser asked for, validated (returnTo),
// or the default. Under a base path the application may see the path with
// or without it (http.StripPrefix, a stripping proxy), so, first that
// passes:
//
//  1. r.RequestURI, the request target as received, which StripPrefix
//     leaves as it was, when it is under the base path;
//  2. r.URL.RequestURI() (requestReturnTo) when it is under the base path:
//     mounted without stripping;
//  3. the base path followed by r.URL.RequestURI(): stripped.
//
// At the root it is requestReturnTo, as it always was.
func (a *Auth) requestReturnTo(r *http.Request) string {
	if a.s.basePath == "" || r == nil || r.URL == nil {
		return requestReturnTo(r)
	}
	if v, ok := a.s.returnTo(r.RequestURI); ok {
		return v
	}
	uri := r.URL.RequestURI()
	if v, ok := a.s.returnTo(uri); ok {
		return v
	}
	if v, ok := a.s.returnTo(a.s.basePath + uri); ok && !a.s.underBase(uri) {
		return v
	}
	return a.s.home
}
