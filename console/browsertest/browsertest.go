// Package browsertest runs a real headless Chromium for end-to-end tests of
// the console, through chromedp. Without a chromium binary the test is
// skipped with a loud message, or fails when CI=true (.ci/run installs
// Debian's chromium).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Phone is the viewport tests use: a common phone's CSS size.
const (
	PhoneWidth  = 390
	PhoneHeight = 844
)

// binary finds Chromium: $CHROMIUM, else chromium or google-chrome on the PATH.
func binary() string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// New starts a fresh headless Chromium (its own profile directory, a phone
// viewport, certificate errors ignored for httptest's TLS servers) and
// returns a context for chromedp.Run, cancelled when the test ends.
func New(t testing.TB) context.Context {
	t.Helper()
	bin := binary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("browsertest: no chromium binary, and CI=true (apt-get install chromium)")
		}
		t.Skip("browsertest: SKIPPING browser test: no chromium on the PATH (apt-get install chromium, or set CHROMIUM)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(PhoneWidth, PhoneHeight),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// A generous bound so a hung browser fails the test instead of the run;
	// no assertion depends on it.
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(PhoneWidth, PhoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile)); err != nil {
		t.Fatalf("browsertest: starting chromium: %v", err)
	}
	return ctx
}
