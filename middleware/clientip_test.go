package middleware

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// clientIPProxies are the trusted proxies of the tests: an IPv4 range and
// an IPv6 one.
var clientIPProxies = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("2001:db8:ffff::/48"),
}

// clientIPHops returns n trusted hops, leftmost first, as one
// X-Forwarded-For value: "10.0.0.n, …, 10.0.0.2, 10.0.0.1".
func clientIPHops(n int) string {
	hops := make([]string, n)
	for i := range hops {
		hops[i] = fmt.Sprintf("10.0.0.%d", n-i)
	}
	return strings.Join(hops, ", ")
}

func TestClientIP(t *testing.T) {
	const client = "198.51.100.1"
	padding := strings.Repeat("1.1.1.1, ", 1200) // ~10 KiB an attacker prepends
	cases := []struct {
		name    string
		remote  string
		xff     []string // header lines in order; nil: no header
		trusted []netip.Prefix
		want    string // "" is the zero Addr
	}{
		// The connection's own address.
		{"ipv4 host:port", "203.0.113.7:5555", nil, nil, "203.0.113.7"},
		{"ipv4 bare", "203.0.113.7", nil, nil, "203.0.113.7"},
		{"ipv6 host:port", "[2001:db8::1]:443", nil, nil, "2001:db8::1"},
		{"ipv6 bare", "2001:db8::1", nil, nil, "2001:db8::1"},
		{"ipv6 bracketed bare", "[2001:db8::1]", nil, nil, "2001:db8::1"},
		{"mapped unmapped", "[::ffff:203.0.113.7]:80", nil, nil, "203.0.113.7"},
		{"zone dropped", "[fe80::1%eth0]:80", nil, nil, "fe80::1"},
		{"empty remote", "", nil, nil, ""},
		{"unix socket remote", "@", nil, nil, ""},
		{"garbage remote", "not-an-ip", nil, nil, ""},
		{"hostname remote", "localhost:80", nil, nil, ""},
		{"bad port", "203.0.113.7:99999", nil, nil, ""},
		{"bracketed ipv4", "[203.0.113.7]:80", nil, nil, ""},
		{"invalid remote never reads header", "", []string{client}, clientIPProxies, ""},

		// Spoofing: the header from anyone but a trusted proxy is ignored.
		{"untrusted peer's header ignored", "203.0.113.7:1", []string{client}, clientIPProxies, "203.0.113.7"},
		{"no trusted proxies by default", "10.0.0.1:1", []string{client}, nil, "10.0.0.1"},
		{"untrusted peer claiming a proxy", "203.0.113.7:1", []string{"10.0.0.2"}, clientIPProxies, "203.0.113.7"},

		// Behind trusted proxies.
		{"one proxy", "10.0.0.1:1", []string{client}, clientIPProxies, client},
		{"attacker prepends an address", "10.0.0.1:1", []string{"1.1.1.1, " + client}, clientIPProxies, client},
		{"attacker prepends a proxy's address", "10.0.0.1:1", []string{"10.9.9.9, " + client}, clientIPProxies, client},
		{"attacker prepends garbage", "10.0.0.1:1", []string{"<script>, " + client}, clientIPProxies, client},
		{"attacker's own header line", "10.0.0.1:1", []string{"1.1.1.1", client}, clientIPProxies, client},
		{"attacker's line of garbage", "10.0.0.1:1", []string{"garbage,,,", client}, clientIPProxies, client},
		{"attacker pads past 8 KiB", "10.0.0.1:1", []string{padding + client}, clientIPProxies, client},
		{"attacker line past 8 KiB", "10.0.0.1:1", []string{padding, client}, clientIPProxies, client},
		{"two proxies", "10.0.0.1:1", []string{"1.1.1.1, " + client + ", 10.0.0.2"}, clientIPProxies, client},
		{"proxies across lines", "10.0.0.1:1", []string{"1.1.1.1, " + client, "10.0.0.2"}, clientIPProxies, client},
		{"ipv6 client", "10.0.0.1:1", []string{"2001:db8::1"}, clientIPProxies, "2001:db8::1"},
		{"ipv6 proxy", "[2001:db8:ffff::1]:443", []string{"203.0.113.9"}, clientIPProxies, "203.0.113.9"},
		{"ipv6 proxy hop", "10.0.0.1:1", []string{client + ", 2001:db8:ffff::2"}, clientIPProxies, client},
		{"mapped client", "10.0.0.1:1", []string{"::ffff:" + client}, clientIPProxies, client},
		{"mapped proxy hop", "10.0.0.1:1", []string{client + ", ::ffff:10.0.0.2"}, clientIPProxies, client},
		{"mapped proxy peer", "[::ffff:10.0.0.1]:80", []string{client}, clientIPProxies, client},
		{"zone in entry dropped", "10.0.0.1:1", []string{"fe80::1%eth0"}, clientIPProxies, "fe80::1"},
		{"spaces and tabs", "10.0.0.1:1", []string{" 1.1.1.1 ,\t" + client + " \t"}, clientIPProxies, client},
		{"no spaces", "10.0.0.1:1", []string{"1.1.1.1," + client + ",10.0.0.2"}, clientIPProxies, client},
		{"ipv4 with port", "10.0.0.1:1", []string{client + ":4711"}, clientIPProxies, client},
		{"ipv6 with port", "10.0.0.1:1", []string{"[2001:db8::5]:443"}, clientIPProxies, "2001:db8::5"},
		{"ipv6 bracketed", "10.0.0.1:1", []string{"[2001:db8::5]"}, clientIPProxies, "2001:db8::5"},

		// The proxy itself, or the last hop that can be vouched for.
		{"no header from proxy", "10.0.0.1:1", nil, clientIPProxies, "10.0.0.1"},
		{"empty header from proxy", "10.0.0.1:1", []string{""}, clientIPProxies, "10.0.0.1"},
		{"only proxies", "10.0.0.1:1", []string{"10.0.0.3, 10.0.0.2"}, clientIPProxies, "10.0.0.3"},
		{"garbage right of client", "10.0.0.1:1", []string{client + ", garbage"}, clientIPProxies, "10.0.0.1"},
		{"garbage after a hop", "10.0.0.1:1", []string{client + ", garbage, 10.0.0.2"}, clientIPProxies, "10.0.0.2"},
		{"unknown after a hop", "10.0.0.1:1", []string{client + ", unknown, 10.0.0.2"}, clientIPProxies, "10.0.0.2"},
		{"trailing comma", "10.0.0.1:1", []string{client + ","}, clientIPProxies, "10.0.0.1"},
		{"empty entry", "10.0.0.1:1", []string{client + ",,10.0.0.2"}, clientIPProxies, "10.0.0.2"},
		{"empty line right of client", "10.0.0.1:1", []string{client, ""}, clientIPProxies, "10.0.0.1"},
		{"hostname entry", "10.0.0.1:1", []string{client + ", proxy.example"}, clientIPProxies, "10.0.0.1"},
		{"ipv4 zone", "10.0.0.1:1", []string{client + ", 203.0.113.9%eth0"}, clientIPProxies, "10.0.0.1"},
		{"leading zeros", "10.0.0.1:1", []string{client + ", 010.0.0.2"}, clientIPProxies, "10.0.0.1"},
		{"a prefix", "10.0.0.1:1", []string{"198.51.100.0/24"}, clientIPProxies, "10.0.0.1"},
		{"quoted", "10.0.0.1:1", []string{`"` + client + `"`}, clientIPProxies, "10.0.0.1"},
		{"bracketed ipv4 entry", "10.0.0.1:1", []string{"[" + client + "]"}, clientIPProxies, "10.0.0.1"},
		{"entry over 64 bytes", "10.0.0.1:1", []string{client + ", [2001:db8::1%" + strings.Repeat("z", 64) + "]"}, clientIPProxies, "10.0.0.1"},
		{"hop padded past 8 KiB", "10.0.0.1:1", []string{client + "," + strings.Repeat(" ", 9000) + "10.0.0.2"}, clientIPProxies, "10.0.0.1"},
		{"entry ending at 8 KiB", "10.0.0.1:1", []string{"1.1.1.1," + strings.Repeat(" ", 8192-len(client)) + client}, clientIPProxies, client},

		// Many hops: at most 32 entries are read.
		{"31 hops then client", "10.0.0.1:1", []string{"1.1.1.1, " + client + ", " + clientIPHops(31)}, clientIPProxies, client},
		{"32 hops then client", "10.0.0.1:1", []string{"1.1.1.1, " + client + ", " + clientIPHops(32)}, clientIPProxies, "10.0.0.32"},
		{"40 hops then client", "10.0.0.1:1", []string{client + ", " + clientIPHops(40)}, clientIPProxies, "10.0.0.32"},
		{"a hop per line", "10.0.0.1:1", append([]string{client}, strings.Split(clientIPHops(40), ", ")...), clientIPProxies, "10.0.0.32"},

		// Trusted ranges are matched against unmapped addresses: one
		// written mapped trusts nothing, so the header is ignored.
		{"mapped trusted range", "10.0.0.1:1", []string{client}, []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}, "10.0.0.1"},
		{"invalid trusted range", "10.0.0.1:1", []string{client}, []netip.Prefix{{}}, "10.0.0.1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := clientIPRequest(tc.remote, tc.xff)
			var want netip.Addr
			if tc.want != "" {
				want = netip.MustParseAddr(tc.want)
			}
			if got := clientIP(r, tc.trusted); got != want {
				t.Errorf("clientIP(RemoteAddr %q, X-Forwarded-For %q) = %v, want %v", tc.remote, tc.xff, got, want)
			}
		})
	}
}

// TestClientIPOverHTTP checks the header lines as a real server parses
// them: a client's own X-Forwarded-For lines reach the handler apart from
// the one a proxy adds, and all are read.
func TestClientIPOverHTTP(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	got := make(chan [2]netip.Addr, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- [2]netip.Addr{clientIP(r, nil), clientIP(r, loopback)}
	}))
	defer srv.Close()
	req, err := http.NewRequest("GET", srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Add("X-Forwarded-For", "1.1.1.1, 10.0.0.9")
	req.Header.Add("x-forwarded-for", "198.51.100.1")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	addrs := <-got
	if !addrs[0].IsLoopback() {
		t.Errorf("with no trusted proxies: %v, want the loopback peer", addrs[0])
	}
	if want := netip.MustParseAddr("198.51.100.1"); addrs[1] != want {
		t.Errorf("behind a trusted loopback proxy: %v, want %v", addrs[1], want)
	}
}

func clientIPRequest(remote string, xff []string) *http.Request {
	r := &http.Request{RemoteAddr: remote, Header: http.Header{}}
	for _, v := range xff {
		r.Header.Add(forwardedFor, v)
	}
	return r
}

func TestClientIPAllocs(t *testing.T) {
	r := clientIPRequest("10.0.0.1:1", []string{"1.1.1.1, 198.51.100.1, 10.0.0.2", "10.0.0.3"})
	if n := testing.AllocsPerRun(100, func() { clientIP(r, clientIPProxies) }); n != 0 {
		t.Errorf("clientIP allocates %v times a call, want 0", n)
	}
}

// FuzzClientIP checks that no input panics, that the result is well formed
// and comes from the request, that the header is read only from a trusted
// peer, and that nothing written to the left of the client found (where an
// attacker writes) changes it.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:1", "1.1.1.1, 198.51.100.1", "10.0.0.2", "garbage")
	f.Add("[2001:db8:ffff::1]:443", "[2001:db8::5]:443", "", "10.0.0.9")
	f.Add("[::ffff:10.0.0.1]:80", " ::ffff:198.51.100.1 ,\t10.0.0.2", ",", "1.1.1.1,")
	f.Add("10.0.0.1", clientIPHops(40), "10.0.0.2", "")
	f.Add("[fe80::1%eth0]:80", "fe80::2%eth1", "unknown", "::1")
	f.Add("@", "", "", "")
	f.Add("10.0.0.1:1", strings.Repeat("1.1.1.1, ", 1000)+"198.51.100.1", "10.0.0.2", "x")
	f.Fuzz(func(t *testing.T, remote, line1, line2, prefix string) {
		lines := []string{line1, line2}
		got := clientIP(clientIPRequest(remote, lines), clientIPProxies)
		if got.IsValid() && (got.Is4In6() || got.Zone() != "") {
			t.Fatalf("result %v is mapped or has a zone", got)
		}
		peer, ok := parseForwardedAddr(remote)
		if !ok {
			if got.IsValid() {
				t.Fatalf("invalid RemoteAddr %q gave %v", remote, got)
			}
			return
		}
		if untrusted := clientIP(clientIPRequest(remote, lines), nil); untrusted != peer {
			t.Fatalf("with no trusted proxies: %v, want the peer %v", untrusted, peer)
		}
		if !isTrusted(peer, clientIPProxies) {
			if got != peer {
				t.Fatalf("untrusted peer %v: header read, gave %v", peer, got)
			}
			return
		}
		if got != peer && !clientIPInHeader(got, lines) {
			t.Fatalf("result %v is neither the peer nor an entry of %q", got, lines)
		}
		if isTrusted(got, clientIPProxies) {
			return // the walk fell back on a hop: more to the left may change it
		}
		for _, attacked := range [][]string{
			{prefix, line1, line2},
			{prefix + "," + line1, line2},
		} {
			if again := clientIP(clientIPRequest(remote, attacked), clientIPProxies); again != got {
				t.Fatalf("prepending %q changed the client from %v to %v (lines %q)", prefix, got, again, attacked)
			}
		}
	})
}

func clientIPInHeader(a netip.Addr, lines []string) bool {
	for _, line := range lines {
		for entry := range strings.SplitSeq(line, ",") {
			if e, ok := parseForwardedAddr(strings.Trim(entry, " \t")); ok && e == a {
				return true
			}
		}
	}
	return false
}
