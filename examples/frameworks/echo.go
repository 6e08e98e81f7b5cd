package main

import (
	"net/http"

	"github.com/labstack/echo/v5"

	"github.com/portcullis-go/portcullis/middleware"
)

// newEchoApp is the application on echo. Glue: auth.Handler() through
// echo.WrapHandler at /auth/*, auth.Require through echo.WrapMiddleware as
// the middleware of a group.
func newEchoApp(auth *middleware.Auth, userinfoURL string) http.Handler {
	e := echo.New()
	e.Any("/auth/*", echo.WrapHandler(auth.Handler()))
	e.GET("/", func(c *echo.Context) error {
		return c.String(http.StatusOK, "public page (echo)\n")
	})
	private := e.Group("", echo.WrapMiddleware(auth.Require))
	private.GET("/private", func(c *echo.Context) error {
		return c.String(http.StatusOK, greeting(c.Request()))
	})
	private.GET("/api/profile", func(c *echo.Context) error {
		claims, err := profile(c.Request().Context(), auth.Client(c.Request()), userinfoURL)
		if err != nil {
			return echo.NewHTTPError(http.StatusBadGateway, "the provider did not answer")
		}
		return c.JSON(http.StatusOK, claims)
	})
	return e
}
