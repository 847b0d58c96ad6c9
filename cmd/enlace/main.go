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
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `enlace: messaging for restoring family links

usage:
  enlace chat [--channel telegram|sms|whatsapp] [--from ADDRESS] [--lang CODE] [--json] [--data DIR]
  enlace serve
  enlace places import [--skip-invalid] [--replace] FILE | export [FILE] | set-status ID open|full|closed
  enlace deadletters [list | replay PERSON ID]
  enlace staff add NAME --role R --languages es,ht | list | disable NAME | enable NAME | reset NAME | signout NAME | token [--revoke ID] NAME
  enlace audit verify | export [FILE]
  enlace keys reseal
  enlace keygen
  enlace config
  enlace version

Storage: Redis when REDIS_URL is set, otherwise the embedded store in
ENLACE_DATA_DIR (--data DIR overrides it). See README.md for every variable.
`

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
	case "config":
		fmt.Fprint(stdout, configTable())
		return nil
	case "keygen":
		return keygen(stdout)
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
