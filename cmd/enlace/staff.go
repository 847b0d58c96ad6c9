package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/staff"
)

const staffUsage = `usage:
  enlace staff add NAME --role volunteer|caseworker|admin --languages es,ht   (prints a one-time enrolment link, valid 24 h)
  enlace staff list
  enlace staff disable NAME | enable NAME
  enlace staff reset NAME          (new password and second factor: prints a new enrolment link; signs out everywhere)
  enlace staff signout NAME        (ends every console session of NAME)
  enlace staff token NAME          (prints a new personal API token for NAME's role)
  enlace staff token --revoke ID NAME
Every command takes --data DIR (the embedded store's directory) and --help.`

const auditUsage = `usage:
  enlace audit verify              (checks the hash chain; exit status 1 if an entry was changed or removed)
  enlace audit export [FILE]       (every kept entry, one JSON object per line; stdout by default)
Every command takes --data DIR and --help.`

// clock is the time the staff commands use (tests move it).
var clock = time.Now

// parseInterleaved parses flags that may come before or after the
// positional arguments ("add maria --role admin") and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return rest, nil
		}
		rest = append(rest, args[0])
		args = args[1:]
	}
}

// staffService opens the store and builds the staff service on it.
func staffService(ctx context.Context, cfg config, stderr io.Writer) (*staff.Service, bot.Store, error) {
	keys, err := loadKeys(cfg, false, stderr)
	if err != nil {
		return nil, nil, err
	}
	st, _, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	ss, ok := st.(staff.Store)
	if !ok {
		st.Close()
		return nil, nil, errors.New("this store keeps no staff accounts")
	}
	return staff.New(staffConfig(cfg, ss, keys)), st, nil
}

func staffConfig(cfg config, ss staff.Store, keys staff.Sealer) staff.Config {
	return staff.Config{Store: ss, Keys: keys, Clock: clock, AuditTTL: cfg.AuditTTL,
		SessionIdle: cfg.StaffIdle, SessionMax: cfg.StaffSessionMax}
}

// consoleURL is the base of links to the console: ENLACE_CONSOLE_URL, else
// ENLACE_PUBLIC_URL, else the console's own address on this machine.
func consoleURL(cfg config) string {
	if cfg.ConsoleURL != "" {
		return cfg.ConsoleURL
	}
	if pub := cfg.get("ENLACE_PUBLIC_URL"); pub != "" {
		return pub
	}
	host, port, err := net.SplitHostPort(cfg.ConsoleAddr)
	if err != nil {
		return "http://localhost:8081"
	}
	if host == "" || host == "127.0.0.1" || host == "::1" || host == "0.0.0.0" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func staffCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"staff: want add, list, disable, enable, reset, signout or token\n" + staffUsage}
	}
	fs := flag.NewFlagSet("staff "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	role := fs.String("role", "", "volunteer, caseworker or admin")
	langs := fs.String("languages", "", "languages the person works in, e.g. es,ht")
	revoke := fs.String("revoke", "", "the id of a token to revoke")
	if args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stdout, staffUsage)
		return nil
	}
	rest, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, staffUsage)
		return nil
	}
	if err != nil {
		return usageError{err.Error() + "\n" + staffUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	switch {
	case args[0] == "add" && len(rest) == 1 && *role != "" && *langs != "":
	case args[0] == "list" && len(rest) == 0:
	case (args[0] == "disable" || args[0] == "enable" || args[0] == "reset" || args[0] == "signout" || args[0] == "token") && len(rest) == 1:
	default:
		return usageError{"staff: bad arguments\n" + staffUsage}
	}
	svc, st, err := staffService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	by := staff.Operator
	if args[0] == "add" {
		r, err := staff.ParseRole(*role)
		if err != nil {
			return err
		}
		l, err := staff.ParseLanguages(*langs)
		if err != nil {
			return err
		}
		a, token, err := svc.Add(ctx, by, rest[0], r, l)
		if err != nil {
			return err
		}
		printEnrolment(stdout, cfg, svc, a, token)
		return nil
	}
	if args[0] == "list" {
		list, err := svc.List(ctx)
		if err != nil {
			return err
		}
		if err := svc.Record(ctx, by, staff.ActionStaffList, ""); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tROLE\tLANGUAGES\tSTATUS\tTOKENS")
		for _, a := range list {
			status := "active"
			switch {
			case a.Disabled:
				status = "disabled"
			case !a.Enrolled:
				status = "not enrolled"
			}
			var toks []string
			for _, t := range a.Tokens {
				toks = append(toks, t.ID)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Role, strings.Join(a.Languages, ","), status, strings.Join(toks, ","))
		}
		return tw.Flush()
	}
	a, err := svc.Find(ctx, rest[0])
	if errors.Is(err, staff.ErrNotFound) {
		return fmt.Errorf("staff: no account %q (see `enlace staff list`)", rest[0])
	}
	if err != nil {
		return err
	}
	switch args[0] {
	case "disable":
		if err := svc.Disable(ctx, by, a.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s is disabled: their sessions and tokens stopped working\n", a.Name)
	case "enable":
		if err := svc.Enable(ctx, by, a.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s can log in again\n", a.Name)
	case "reset":
		token, err := svc.Reset(ctx, by, a.ID)
		if err != nil {
			return err
		}
		printEnrolment(stdout, cfg, svc, a, token)
	case "signout":
		if err := svc.LogoutEverywhere(ctx, by, a.ID); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "every console session of %s has ended\n", a.Name)
	case "token":
		if *revoke != "" {
			if err := svc.RevokeToken(ctx, by, a.ID, *revoke); err != nil {
				if errors.Is(err, staff.ErrNotFound) {
					return fmt.Errorf("staff: %s has no token %q", a.Name, *revoke)
				}
				return err
			}
			fmt.Fprintf(stdout, "token %s of %s is revoked\n", *revoke, a.Name)
			return nil
		}
		token, t, err := svc.IssueToken(ctx, by, a.ID)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", token)
		fmt.Fprintf(stderr, "personal API token %s for %s (%s): send it as \"Authorization: Bearer ...\". It is shown once; revoke it with `enlace staff token --revoke %s %s`.\n",
			t.ID, a.Name, a.Role, t.ID, a.Name)
	}
	return nil
}

func printEnrolment(w io.Writer, cfg config, svc *staff.Service, a staff.Account, token string) {
	fmt.Fprintf(w, "%s (%s, %s): open this link on their own device to set a password and a second factor.\n",
		a.Name, a.Role, strings.Join(a.Languages, ","))
	fmt.Fprintf(w, "It works once, until %s:\n", svc.Now().Add(svc.Config().EnrolTTL).UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintln(w, staff.EnrolLink(consoleURL(cfg), token))
}

func auditCmd(ctx context.Context, cfg config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{"audit: want verify or export\n" + auditUsage}
	}
	if args[0] == "--help" || args[0] == "-h" || args[0] == "help" {
		fmt.Fprintln(stdout, auditUsage)
		return nil
	}
	fs := flag.NewFlagSet("audit "+args[0], flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	data := fs.String("data", "", "directory of the embedded store (overrides ENLACE_DATA_DIR)")
	rest, err := parseInterleaved(fs, args[1:])
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, auditUsage)
		return nil
	}
	if err != nil {
		return usageError{err.Error() + "\n" + auditUsage}
	}
	if *data != "" {
		cfg.DataDir = *data
	}
	switch {
	case args[0] == "verify" && len(rest) == 0:
	case args[0] == "export" && len(rest) <= 1:
	default:
		return usageError{"audit: bad arguments\n" + auditUsage}
	}
	svc, st, err := staffService(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if args[0] == "verify" {
		rep, err := svc.VerifyAudit(ctx)
		if err != nil {
			return err
		}
		if rep.Entries == 0 {
			fmt.Fprintln(stdout, "audit log intact: no entries")
		} else {
			fmt.Fprintf(stdout, "audit log intact: %d entries (%d to %d)\n", rep.Entries, rep.From, rep.To)
		}
		return svc.Record(ctx, staff.Operator, staff.ActionAuditVerify, "")
	}
	w := stdout
	if len(rest) == 1 && rest[0] != "-" {
		f, err := os.OpenFile(rest[0], os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	if err := svc.Record(ctx, staff.Operator, staff.ActionAuditExport, ""); err != nil {
		return err
	}
	return svc.ExportAudit(ctx, w)
}
