package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

const healthcheckUsage = `usage: enlace healthcheck [--addr ADDRESS] [--timeout 5s]

Asks the serve running on ADDRESS (default ENLACE_ADDR) whether it is ready
(GET /readyz): exit status 0 when it is, 1 when it is not or does not answer.
For container health checks in images without a shell; opens no store.`

// healthcheckCmd asks a local serve's /readyz. A listening address without a
// host (":8080", "0.0.0.0:8080") is asked on the loopback address.
func healthcheckCmd(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	fs := newFlagSet("healthcheck")
	addr := fs.String("addr", "", "address serve listens on (default ENLACE_ADDR)")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args, healthcheckUsage); err != nil {
		return err
	}
	if fs.NArg() > 0 || *timeout <= 0 {
		return usageError{"healthcheck: bad arguments\n" + healthcheckUsage}
	}
	if *addr == "" {
		*addr = config{getenv: getenv}.get("ENLACE_ADDR")
	}
	url, err := readyzURL(*addr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %s does not answer (is serve running on this ENLACE_ADDR?): %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s answered %d %s", url, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}

// readyzURL is the /readyz URL of a serve listening on addr.
func readyzURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", errors.New("healthcheck: ENLACE_ADDR (or --addr) must be host:port or :port, like :8080")
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz", nil
}
