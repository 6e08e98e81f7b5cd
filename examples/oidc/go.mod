module github.com/portcullis-go/portcullis/examples/oidc

go 1.26.0

toolchain go1.26.10

require (
	github.com/go-jose/go-jose/v4 v4.1.4
	github.com/portcullis-go/portcullis v0.0.0
	github.com/portcullis-go/portcullis/session/redisstore v0.0.0
	github.com/redis/go-redis/v9 v9.23.0
)

require (
	github.com/cespare/xxhash/v2 v2.3.0 // indirect
	github.com/coreos/go-oidc/v3 v3.21.0 // indirect
	github.com/gorilla/securecookie v1.1.2 // indirect
	github.com/gorilla/sessions v1.4.0 // indirect
	go.uber.org/atomic v1.12.0 // indirect
	golang.org/x/oauth2 v0.36.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
)

replace (
	github.com/portcullis-go/portcullis => ../..
	github.com/portcullis-go/portcullis/session/redisstore => ../../session/redisstore
)
