package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestOverflowCheck: the narrow-screen check that TestScreenshots runs on
// every page reports a page wider than the phone (a max-content grid
// column holding a long word, the layout issue 13 found on the demo), and
// passes the same page once the column can shrink.
func TestOverflowCheck(t *testing.T) {
	page := func(column string) string {
		return fmt.Sprintf(`<!doctype html><meta name="viewport" content="width=device-width, initial-scale=1">
<div style="display:grid;grid-template-columns:%s"><code>%s</code></div>`, column,
			"a-very-long-unbreakable-token-value-that-a-phone-cannot-show-in-390-css-pixels-at-all")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		col := "max-content"
		if r.URL.Path == "/fits" {
			col = "minmax(0, 1fr); overflow-wrap:anywhere"
		}
		fmt.Fprint(w, page(col))
	}))
	defer srv.Close()
	tb := newTab(t)
	tb.viewport(390, true, "light")
	tb.do("wide page", navigate(srv.URL+"/wide"))
	if o := tb.overflow(390); o == "" {
		t.Error("a max-content column wider than 390 px was not reported as overflowing")
	}
	tb.do("fitting page", navigate(srv.URL+"/fits"))
	if o := tb.overflow(390); o != "" {
		t.Errorf("a column that can shrink was reported: %s", o)
	}
}
