// Command enlace is Enlace's one binary: the service (serve), the terminal
// simulator (chat) and the operator's tools.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/enlace-rfl/enlace/loadtest"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `enlace: messaging for restoring family links

usage:
  enlace chat [--channel telegram|sms|whatsapp] [--from ADDRESS] [--lang CODE] [--json] [--data DIR]
  enlace serve [--data DIR]
  enlace loadtest [-people N] [-messages N] [-rate R] [-serves N] [-json] ...
  enlace healthcheck [--addr ADDRESS] [--timeout 5s]
  enlace places import [--skip-invalid] [--replace] FILE | export [FILE] | set-status ID open|full|closed
  enlace deadletters [list | replay PERSON ID] [--data DIR]
  enlace staff add NAME --role R --languages es,ht | list | disable NAME | enable NAME | reset NAME | signout NAME | token [--revoke ID] NAME
  enlace audit verify | export [FILE]
  enlace keys reseal [--data DIR]
  enlace keygen
  enlace config
  enlace version

Every command that opens a store takes --data DIR; every command takes
--help. Storage: Redis when REDIS_URL is set, otherwise the embedded store in
ENLACE_DATA_DIR (--data DIR overrides it). See README.md for every variable.
`

// commandUsage is the usage of one subcommand, printed by --help.
func commandUsage(name string) (string, bool) {
	switch name {
	case "chat":
		return chatUsage, true
	case "serve":
		return serveUsage, true
	case "healthcheck":
		return healthcheckUsage, true
	case "loadtest":
		return loadtest.Usage, true
	case "places":
		return placesUsage, true
	case "deadletters":
		return deadLettersUsage, true
	case "staff":
		return staffUsage, true
	case "audit":
		return auditUsage, true
	case "keys":
		return keysUsage, true
	case "keygen":
		return "usage: enlace keygen\n\nPrints a new ENLACE_SECRET_KEY (a sealing key and a hashing key). Touches no store.", true
	case "config":
		return "usage: enlace config\n\nPrints every environment variable Enlace reads, as README.md's table.", true
	case "version":
		return "usage: enlace version", true
	}
	return "", false
}

// asksForHelp tells whether a subcommand's arguments ask for its usage:
// -h, -help or --help anywhere before "--", or help as its first word.
func asksForHelp(args []string) bool {
	for i, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		case "help":
			if i == 0 {
				return true
			}
		}
	}
	return false
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil {
		var u usageError
		if errors.As(err, &u) {
			fmt.Fprint(os.Stderr, usage)
			fmt.Fprintf(os.Stderr, "\nenlace: %v\n", err)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "enlace: %v\n", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return usageError{"no command given"}
	}
	switch args[0] {
	case "version", "--version", "-v":
		fmt.Fprintf(stdout, "enlace %s\n", version)
		return nil
	case "help", "--help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	// --help answers before anything is read or opened.
	if u, ok := commandUsage(args[0]); ok && asksForHelp(args[1:]) {
		fmt.Fprintln(stdout, strings.TrimRight(u, "\n"))
		return nil
	}
	switch args[0] {
	case "config":
		fmt.Fprint(stdout, configTable())
		return nil
	case "keygen":
		return keygen(stdout)
	case "healthcheck":
		return healthcheckCmd(ctx, args[1:], stdout, getenv)
	case "loadtest":
		return loadtestCmd(ctx, args[1:], stdout, stderr, getenv)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	switch args[0] {
	case "chat":
		return chatCmd(ctx, cfg, args[1:], stdin, stdout, stderr)
	case "serve":
		return serveCmd(ctx, cfg, args[1:], stderr)
	case "places":
		return placesCmd(ctx, cfg, args[1:], stdin, stdout, stderr)
	case "deadletters":
		return deadLettersCmd(ctx, cfg, args[1:], stdout, stderr)
	case "staff":
		return staffCmd(ctx, cfg, args[1:], stdout, stderr)
	case "audit":
		return auditCmd(ctx, cfg, args[1:], stdout, stderr)
	case "keys":
		return keysCmd(ctx, cfg, args[1:], stdout, stderr)
	}
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}
