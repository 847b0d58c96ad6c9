package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// learn finds what each message of a channel's script gets, text for text,
// by sending the script of one pilot person through `enlace chat` (the same
// engine, rendering, merging and channel layer as serve; cmd/enlace's tests
// hold the two to the same conversation), one message at a time, on an
// embedded store of its own. It returns, per message of the script's first
// setup+2, the texts in the order they go out. The towns' messages must all
// get the same texts but for their token, or nothing could be predicted.
func learn(ctx context.Context, command, env []string, channel string) ([][]string, error) {
	dir, err := os.MkdirTemp("", "enlace-loadtest-pilot-")
	if err != nil {
		return nil, fmt.Errorf("loadtest: the pilot's data directory: %w", err)
	}
	defer os.RemoveAll(dir)
	env = append(withoutEnv(env, "REDIS_URL", "ENLACE_DATA_DIR"), "ENLACE_DATA_DIR="+dir)
	from := map[string]string{sms: "+525599900000", whatsapp: "+525599900001", telegram: "100000001"}[channel]
	lines := []string{"hola", "1", "1", "1", token(0, setup), token(0, setup+1)}
	if channel == telegram {
		lines[0] = "/start" // a number picks the button of that number, as a press does
	}
	var out [][]string
	for k, line := range lines {
		args := append(append([]string(nil), command[1:]...), "chat", "--json", "--channel", channel, "--from", from, "--lang", "es")
		cmd := exec.CommandContext(ctx, command[0], args...)
		cmd.Env = env
		cmd.Stdin = strings.NewReader(line + "\n")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("loadtest: learning the replies on %s with enlace chat: %w\n%s", channel, err, stderr.String())
		}
		var texts []string
		sc := bufio.NewScanner(&stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			var m struct{ Text string }
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				return nil, fmt.Errorf("loadtest: enlace chat printed %q: %w", sc.Text(), err)
			}
			texts = append(texts, m.Text)
		}
		if len(texts) == 0 {
			return nil, fmt.Errorf("loadtest: on %s, message %d of the script gets no reply from enlace chat: the script no longer fits the flows", channel, k+1)
		}
		out = append(out, texts)
	}
	a, b := out[setup], out[setup+1]
	same := len(a) == len(b)
	for i := 0; same && i < len(a); i++ {
		same = strings.ReplaceAll(a[i], token(0, setup), token(0, setup+1)) == b[i]
	}
	if !same || !strings.Contains(strings.Join(a, "\n"), token(0, setup)) {
		return nil, fmt.Errorf("loadtest: on %s, an unknown town's reply does not repeat it as the last one did (%q, then %q): the script no longer fits the flows", channel, a, b)
	}
	return out, nil
}

// expect is what person p's script must get, from what the pilot got.
func expect(p *person, learned [][]string) []part {
	var out []part
	for k := range p.script {
		texts := learned[min(k, setup)]
		for _, text := range texts {
			if k >= setup {
				text = strings.ReplaceAll(text, token(0, setup), token(p.index, k))
			}
			out = append(out, part{message: k, text: text})
		}
	}
	return out
}

// withoutEnv is env without the variables named.
func withoutEnv(env []string, names ...string) []string {
	var out []string
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, n := range names {
			drop = drop || k == n
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
