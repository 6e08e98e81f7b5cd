package main

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-go/portcullis/middleware"
)

// newGinApp is the application on gin. Glue: auth.Handler() through
// gin.WrapH at /auth/*path, and requireLogin, the gin middleware that runs
// auth.Require around the rest of the chain.
func newGinApp(auth *middleware.Auth, userinfoURL string) http.Handler {
	r := gin.New()
	r.Use(gin.Recovery())
	r.Any("/auth/*path", gin.WrapH(auth.Handler()))
	r.GET("/", func(c *gin.Context) {
		c.String(http.StatusOK, "public page (gin)\n")
	})
	private := r.Group("/", requireLogin(auth))
	private.GET("/private", func(c *gin.Context) {
		c.String(http.StatusOK, greeting(c.Request))
	})
	private.GET("/api/profile", func(c *gin.Context) {
		claims, err := profile(c.Request.Context(), auth.Client(c.Request), userinfoURL)
		if err != nil {
			c.String(http.StatusBadGateway, "the provider did not answer")
			return
		}
		c.JSON(http.StatusOK, claims)
	})
	return r
}

// requireLogin is auth.Require as gin middleware: the handlers after it
// run with the request Require passes on (its context holds the session,
// which auth.Client and middleware.UserFrom read); a request Require
// answers itself (a redirect to sign in, a 401) stops the chain.
//
// gin handlers write to c.Writer, not to the writer Require hands on:
// portcullis writes a changed session's cookie into the response's header
// map, which c.Writer shares, as soon as the session changes.
func requireLogin(auth *middleware.Auth) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		auth.Require(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
			c.Next()
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
		}
	}
}
