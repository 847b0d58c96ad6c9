package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/enlace-rfl/enlace/bot"
	"github.com/enlace-rfl/enlace/store/embedded"
)

// TestHelpTouchesNoData runs every subcommand with --help (and -h) in an empty
// working directory: each prints its usage on stdout, succeeds, and creates
// neither the default data directory nor the configured one.
func TestHelpTouchesNoData(t *testing.T) {
	commands := [][]string{
		{"chat"}, {"serve"}, {"healthcheck"}, {"keygen"}, {"config"},
		{"places"}, {"places", "import"}, {"places", "export"}, {"places", "set-status"},
		{"deadletters"}, {"deadletters", "list"}, {"deadletters", "replay"},
		{"staff"}, {"staff", "add"}, {"staff", "list"}, {"staff", "token"},
		{"audit"}, {"audit", "verify"}, {"audit", "export"},
		{"keys"}, {"keys", "reseal"},
	}
	for _, cmd := range commands {
		for _, flag := range []string{"--help", "-h"} {
			t.Run(strings.Join(cmd, " ")+" "+flag, func(t *testing.T) {
				cwd := t.TempDir()
				t.Chdir(cwd)
				configured := filepath.Join(t.TempDir(), "data")
				// REDIS_URL names no Redis: a command that tried to open a store would fail.
				env := map[string]string{"ENLACE_DATA_DIR": configured, "REDIS_URL": ""}
				for _, dataEnv := range []map[string]string{env, {}} { // configured, then the default ./enlace-data
					var stdout, stderr bytes.Buffer
					err := run(t.Context(), append(append([]string{}, cmd...), flag), strings.NewReader(""), &stdout, &stderr,
						func(k string) string { return dataEnv[k] })
					if err != nil {
						t.Fatalf("got %v, want success\nstderr: %s", err, stderr.String())
					}
					if !strings.Contains(stdout.String(), "usage") || !strings.Contains(stdout.String(), cmd[0]) {
						t.Errorf("stdout: got %q, want the usage of %s", stdout.String(), cmd[0])
					}
				}
				if _, err := os.Stat(configured); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("ENLACE_DATA_DIR was created (%v)", err)
				}
				if entries, _ := os.ReadDir(cwd); len(entries) > 0 {
					t.Errorf("the working directory got %v, want nothing", entries)
				}
			})
		}
	}
}

// TestDeadLettersReadTheDataFlag: `deadletters list --data DIR` lists the dead
// letters of the store in DIR, not of ENLACE_DATA_DIR (which stays untouched).
func TestDeadLettersReadTheDataFlag(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(filepath.Join(dir, "enlace.db"), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	const person, id = "0123456789abcdef0123456789abcdef", "reply-1"
	item := bot.Item{ID: id, Data: []byte("sealed reply")}
	if err := st.Enqueue(ctx, person, []bot.Item{item}, now); err != nil {
		t.Fatal(err)
	}
	if err := st.DeadLetter(ctx, person, item, now); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "elsewhere")
	env := map[string]string{"ENLACE_DATA_DIR": other, "ENLACE_SECRET_KEY": "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}
	for _, args := range [][]string{
		{"deadletters", "list", "--data", dir},
		{"deadletters", "--data", dir, "list"},
		{"deadletters", "--data", dir},
	} {
		var stdout, stderr bytes.Buffer
		if err := run(ctx, args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] }); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr.String())
		}
		var got []bot.DeadLetter
		for dec := json.NewDecoder(&stdout); dec.More(); {
			var d bot.DeadLetter
			if err := dec.Decode(&d); err != nil {
				t.Fatal(err)
			}
			got = append(got, d)
		}
		if len(got) != 1 || got[0].Person != person || got[0].ID != id {
			t.Errorf("%v: got %+v, want the one dead letter in DIR", args, got)
		}
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ENLACE_DATA_DIR was created although --data was given (%v)", err)
	}
}

// TestErrorsSayWhatToDo: a store that cannot be opened and bad arguments get
// an error that says what to change.
func TestErrorsSayWhatToDo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	key := "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		want  string
		usage bool
	}{
		{"data directory is a file", []string{"deadletters", "list", "--data", filepath.Join(file, "sub")}, map[string]string{"ENLACE_SECRET_KEY": key}, "--data", false},
		{"Redis not up", []string{"deadletters", "list"}, map[string]string{"ENLACE_SECRET_KEY": key, "REDIS_URL": "redis://127.0.0.1:1/0?dial_timeout=1s"}, "unset REDIS_URL", false},
		{"serve without a key", []string{"serve", "--data", t.TempDir()}, nil, "enlace keygen", false},
		{"unknown subcommand", []string{"deadletters", "forget"}, nil, "replay PERSON ID", true},
		{"unknown flag", []string{"keys", "reseal", "--force"}, nil, "enlace keys reseal", true},
		{"chat with an argument", []string{"chat", "hola"}, nil, "standard input", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
			defer cancel()
			err := run(ctx, tt.args, strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}, func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error saying %q", err, tt.want)
			}
			var u usageError
			if errors.As(err, &u) != tt.usage {
				t.Errorf("usage error (exit status 2): got %v, want %v", errors.As(err, &u), tt.usage)
			}
		})
	}
}
