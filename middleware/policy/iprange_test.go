package policy

import (
	"net/netip"
	"testing"
)

func TestIPRanges(t *testing.T) {
	tests := []struct {
		name   string
		ranges []string
		ip     string // "" is the zero Addr
		want   string
	}{
		{"IPv4 inside", []string{"10.0.0.0/8"}, "10.1.2.3", pass},
		{"IPv4 first address", []string{"10.0.0.0/8"}, "10.0.0.0", pass},
		{"IPv4 last address", []string{"10.0.0.0/8"}, "10.255.255.255", pass},
		{"IPv4 outside", []string{"10.0.0.0/8"}, "11.0.0.0", deny},
		{"second range", []string{"192.168.0.0/16", "10.0.0.0/8"}, "10.1.2.3", pass},
		{"single host", []string{"203.0.113.7/32"}, "203.0.113.7", pass},
		{"single host, neighbour", []string{"203.0.113.7/32"}, "203.0.113.8", deny},
		{"host bits masked", []string{"10.1.2.3/8"}, "10.200.0.1", pass},
		{"IPv6 inside", []string{"2001:db8::/32"}, "2001:db8::1", pass},
		{"IPv6 outside", []string{"2001:db8::/32"}, "2001:db9::1", deny},
		{"IPv6 zone ignored", []string{"fe80::/10"}, "fe80::1%eth0", pass},
		{"mapped client, IPv4 range", []string{"10.0.0.0/8"}, "::ffff:10.1.2.3", pass},
		{"mapped client outside", []string{"10.0.0.0/8"}, "::ffff:11.1.2.3", deny},
		{"mapped range, IPv4 client", []string{"::ffff:10.0.0.0/104"}, "10.1.2.3", pass},
		{"mapped range, mapped client", []string{"::ffff:10.0.0.0/104"}, "::ffff:10.1.2.3", pass},
		{"mapped range outside", []string{"::ffff:10.0.0.0/104"}, "11.1.2.3", deny},
		{"IPv6 range does not hold IPv4", []string{"::/0"}, "10.1.2.3", deny},
		{"IPv6 range does not hold mapped IPv4", []string{"::/0"}, "::ffff:10.1.2.3", deny},
		{"IPv4 range does not hold IPv6", []string{"0.0.0.0/0"}, "2001:db8::1", deny},
		{"all IPv4", []string{"0.0.0.0/0"}, "203.0.113.7", pass},
		{"zero address", []string{"0.0.0.0/0", "::/0"}, "", deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ranges []netip.Prefix
			for _, s := range tt.ranges {
				ranges = append(ranges, netip.MustParsePrefix(s))
			}
			r := withEmail("jane@acme.com")
			if tt.ip != "" {
				r.ClientIP = netip.MustParseAddr(tt.ip)
			}
			if got := outcomeOf(IPRanges(ranges...).Check(r)); got != tt.want {
				t.Errorf("IPRanges(%q) on %q: %s, want %s", tt.ranges, tt.ip, got, tt.want)
			}
		})
	}
}
