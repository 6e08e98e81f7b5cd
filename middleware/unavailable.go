package middleware

import "context"

// knownOnly returns a context that is already done. A provider method
// given it answers from the metadata already known and starts no
// discovery: for the decisions New makes, which must not wait on a
// provider that may be down.
func knownOnly() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
