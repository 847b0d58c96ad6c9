package console_test

import (
	"net/http"
	"testing"

	"github.com/enlace-rfl/enlace/console"
)

func TestClientAddrBehindTrustedProxies(t *testing.T) {
	trusted, err := console.ParseTrustedProxies(" 10.0.0.0/8, 192.168.1.7 ,fd00::/8")
	if err != nil {
		t.Fatal(err)
	}
	addr := console.ClientAddrBehind(trusted)
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct client, header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"through one proxy", "10.1.2.3:443", []string{"198.51.100.1"}, "198.51.100.1"},
		{"a forged hop left of the real one is not believed", "10.1.2.3:443", []string{"6.6.6.6, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "192.168.1.7:80", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"several headers", "10.1.2.3:443", []string{"6.6.6.6", "198.51.100.2"}, "198.51.100.2"},
		{"IPv6 through a proxy", "[fd00::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"only proxies: the peer", "10.1.2.3:443", []string{"10.4.4.4"}, "10.1.2.3"},
		{"garbage hop", "10.1.2.3:443", []string{"198.51.100.1, not-an-ip"}, "10.1.2.3"},
		{"no header", "10.1.2.3:443", nil, "10.1.2.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := addr(r); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := console.ParseTrustedProxies("10.0.0.0/33"); err == nil {
		t.Error("a bad network was accepted")
	}
	none, _ := console.ParseTrustedProxies("")
	r := &http.Request{RemoteAddr: "10.1.2.3:1", Header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}}
	if got := console.ClientAddrBehind(none)(r); got != "10.1.2.3" {
		t.Errorf("without trusted proxies: %q", got)
	}
}
