package console

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads ENLACE_TRUSTED_PROXIES: a comma-separated list of
// addresses or networks (10.0.0.0/8, 192.168.1.7, fd00::/8) of the reverse
// proxies in front of the console.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("console: trusted proxy %q: want an IP address or a network like 10.0.0.0/8", f)
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("console: trusted proxy %q: want an IP address or a network like 10.0.0.0/8", f)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// ClientAddrBehind returns the client address of a request that may come
// through the trusted proxies: the connection's own address, unless it is a
// trusted proxy; then X-Forwarded-For is read from the right (each proxy
// appends the address it saw), skipping trusted proxies, and the first
// address that is not one is the client. A header a client wrote itself sits
// left of that and is never believed. With no trusted proxies the header is
// ignored.
func ClientAddrBehind(trusted []netip.Prefix) func(r *http.Request) string {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		host := remoteHost(r)
		peer, err := netip.ParseAddr(host)
		if err != nil || len(trusted) == 0 || !isTrusted(peer) {
			return host
		}
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h := strings.TrimSpace(hops[i])
			if hp, _, err := net.SplitHostPort(h); err == nil {
				h = hp
			}
			a, err := netip.ParseAddr(strings.Trim(h, "[]"))
			if err != nil {
				return host // a hop that is not an address: believe nothing left of it
			}
			if !isTrusted(a) {
				return a.Unmap().String()
			}
		}
		return host
	}
}
