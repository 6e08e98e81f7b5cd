package middleware

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/portcullis-go/portcullis/internal/bounded"
)

// usedStates records the logins whose callback has run, so that a login's
// state works once even when two requests carry the same flow cookie at
// the same time (a reload, an HTTP/2 retry): the flow cookie's expiry
// alone cannot stop the second, and providers that revoke everything
// issued for a reused code (node-oidc-provider, Keycloak) would then end
// the session the first one made. The callback records the state before
// the code is redeemed.
//
// It is the seam a store shared by several instances implements; the
// default is in memory.
type usedStates interface {
	// use records (provider, state) until until and reports whether this
	// was its first use. An error means the record could not be kept: the
	// callback then fails closed.
	use(ctx context.Context, provider, state string, until time.Time) (first bool, err error)
}

// maxUsedStates bounds the in-memory record. An entry lives for a flow's
// lifetime (10 minutes and a minute of skew) and costs about 100 bytes, so
// the bound allows some 400 logins a second; past it, callbacks fail with
// ErrStoreUnavailable (503) until entries expire — never by forgetting a
// state that could still be replayed.
const maxUsedStates = 1 << 18

type memoryUsedStates struct {
	m *bounded.Map[[sha256.Size]byte, struct{}]
}

func newMemoryUsedStates(now func() time.Time) *memoryUsedStates {
	return &memoryUsedStates{m: bounded.New[[sha256.Size]byte, struct{}](maxUsedStates, bounded.Refuse, now)}
}

func (u *memoryUsedStates) use(_ context.Context, provider, state string, until time.Time) (bool, error) {
	return u.m.Add(sha256.Sum256([]byte(provider+"\x00"+state)), struct{}{}, until)
}

// sharedUsedStates keeps the record in Config.Shared, so that a login's
// callback works once whichever instance it reaches: a Claim per state,
// kept as long as the memory record would be.
type sharedUsedStates struct{ sh SharedState }

func (u sharedUsedStates) use(ctx context.Context, provider, state string, until time.Time) (bool, error) {
	return u.sh.Claim(ctx, sharedName("state", provider, state), []byte{1}, until)
}
