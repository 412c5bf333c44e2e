// Package egress is the host side of fetch for reactor code: HTTP requests made on a
// reactor's behalf, under the egress policy of the spec. By default only public
// addresses are reachable; the check runs on every address a name resolves to, at
// connect time, and again for every redirect.
package egress

import (
	"fmt"
	"net/netip"
)

// Policy says which destinations reactor code may reach. The zero value allows
// public addresses only.
type Policy struct {
	// AllowPrivate permits loopback, private, link-local, metadata and every other
	// non-public address (local development and tests).
	AllowPrivate bool

	// public is treated as a public address despite the rules. Only this package's
	// tests set it, to stand a loopback test server in for a public one while every
	// other rule stays in force.
	public netip.Addr
}

// Check returns nil when ip may be reached under p, else an error naming the kind of
// address and the rule.
func (p Policy) Check(ip netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	ip = ip.WithZone("")
	if p.public.IsValid() && ip.Unmap() == p.public.Unmap() {
		return nil
	}
	if why := classify(ip); why != "" {
		return &refusedError{ip: ip, why: why}
	}
	return nil
}

// refusedError is a destination the policy does not allow.
type refusedError struct {
	ip   netip.Addr
	host string // the name that resolved to ip, when there was one
	why  string
}

func (e *refusedError) Error() string {
	dest := e.ip.String()
	if e.host != "" {
		dest = fmt.Sprintf("%s (resolved from %s)", dest, e.host)
	}
	return fmt.Sprintf("destination %s is %s; egress to private, loopback, link-local and metadata addresses is not allowed", dest, e.why)
}

var (
	// metadata lists cloud metadata and host-service endpoints. Most fall in ranges
	// refused anyway; they are named so the message says what was reached for.
	metadata = map[netip.Addr]bool{
		netip.MustParseAddr("169.254.169.254"): true, // AWS, GCP, Azure, OCI, DigitalOcean, OpenStack
		netip.MustParseAddr("169.254.170.2"):   true, // AWS ECS task metadata
		netip.MustParseAddr("169.254.169.123"): true, // AWS time sync
		netip.MustParseAddr("100.100.100.200"): true, // Alibaba Cloud
		netip.MustParseAddr("192.0.0.192"):     true, // Oracle Cloud (legacy)
		netip.MustParseAddr("168.63.129.16"):   true, // Azure WireServer: a public address reachable only inside Azure
		netip.MustParseAddr("fd00:ec2::254"):   true, // AWS, IPv6
		netip.MustParseAddr("fd00:ec2::23"):    true, // AWS DNS and time sync, IPv6
	}

	broadcast = netip.MustParseAddr("255.255.255.255")

	// special lists the remaining non-public ranges, after the kinds netip names.
	special = []struct {
		prefix netip.Prefix
		what   string
	}{
		{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified (this-network) address"},
		{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address"},
		{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
		{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
		{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
		{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
		{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
		{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
		{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
		{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address"},
		{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
		{netip.MustParsePrefix("3fff::/20"), "a documentation address"},
		{netip.MustParsePrefix("2001:2::/48"), "a benchmarking address"},
	}

	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
	global6   = netip.MustParsePrefix("2000::/3")
)

// classify names the kind of non-public address ip is, or returns "" for a public
// one. IPv4-mapped IPv6 addresses are classified as the IPv4 address they carry, and
// NAT64, 6to4 and Teredo addresses by the IPv4 addresses embedded in them.
func classify(ip netip.Addr) string {
	ip = ip.Unmap()
	if metadata[ip] {
		return "a cloud metadata address"
	}
	switch {
	case !ip.IsValid():
		return "not a valid address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsLoopback():
		return "a loopback address"
	case ip.IsPrivate():
		return "a private address"
	case ip.IsLinkLocalUnicast():
		return "a link-local address"
	case ip.IsMulticast():
		return "a multicast address"
	case ip == broadcast:
		return "the broadcast address"
	}
	for _, s := range special {
		if s.prefix.Contains(ip) {
			return s.what
		}
	}
	if ip.Is4() {
		return ""
	}
	// IPv6 forms that carry IPv4 addresses: refused when those are.
	b := ip.As16()
	switch {
	case nat64.Contains(ip):
		return embedded(netip.AddrFrom4([4]byte(b[12:16])), "NAT64")
	case sixToFour.Contains(ip):
		return embedded(netip.AddrFrom4([4]byte(b[2:6])), "6to4")
	case teredo.Contains(ip):
		// The server's address as it is; the client's with every bit inverted.
		if why := embedded(netip.AddrFrom4([4]byte(b[4:8])), "Teredo"); why != "" {
			return why
		}
		return embedded(netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), "Teredo")
	case !global6.Contains(ip):
		// Outside global unicast: the deprecated IPv4-compatible ::/96, discard-only
		// 100::/64 and everything unallocated.
		return "a reserved address"
	}
	return ""
}

// embedded classifies the IPv4 address carried in an IPv6 address of the named
// transition mechanism.
func embedded(ip4 netip.Addr, via string) string {
	if why := classify(ip4); why != "" {
		return fmt.Sprintf("%s (%s embedded through %s)", why, ip4, via)
	}
	return ""
}
