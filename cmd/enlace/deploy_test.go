package main

import (
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// instruction is one Dockerfile instruction: its keyword and the rest.
type instruction struct {
	Cmd, Args string
}

// dockerfileStages parses a Dockerfile (continuation lines joined, comments
// dropped) into its stages, each a list of instructions starting with FROM.
func dockerfileStages(t *testing.T, path string) [][]instruction {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var stages [][]instruction
	var line string
	for _, l := range strings.Split(string(raw), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "#") || l == "" && line == "" {
			continue
		}
		if strings.HasSuffix(l, "\\") {
			line += strings.TrimSuffix(l, "\\") + " "
			continue
		}
		line += l
		cmd, args, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.Cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) == 0 {
			t.Fatalf("%s: %s before FROM", path, in.Cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	return stages
}

// env parses ENV k=v k2=v2 instructions of a stage.
func stageEnv(stage []instruction) map[string]string {
	env := map[string]string{}
	for _, in := range stage {
		if in.Cmd == "ENV" {
			for _, kv := range strings.Fields(in.Args) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		}
	}
	return env
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("address %q: %v", addr, err)
	}
	return p
}

// TestDockerfile checks the image starts as its README says: /data exists
// and belongs to the user the process runs as before it is declared a
// volume, the health check is `enlace healthcheck` (no shell in the
// image), and the metrics address is not the public one.
func TestDockerfile(t *testing.T) {
	stages := dockerfileStages(t, "../../deploy/Dockerfile")
	final := stages[len(stages)-1]
	var user, dataOwner, healthcheck, entrypoint string
	volumeAt, dataAt := -1, -1
	var exposed []string
	for i, in := range final {
		switch in.Cmd {
		case "USER":
			user = in.Args
		case "COPY":
			f := strings.Fields(in.Args)
			if f[len(f)-1] == "/data" {
				dataAt = i
				for _, o := range f {
					if v, ok := strings.CutPrefix(o, "--chown="); ok {
						dataOwner = v
					}
				}
			}
		case "VOLUME":
			if strings.Contains(in.Args, "/data") {
				volumeAt = i
			}
		case "HEALTHCHECK":
			_, healthcheck, _ = strings.Cut(in.Args, "CMD ")
		case "ENTRYPOINT":
			entrypoint = in.Args
		case "EXPOSE":
			exposed = append(exposed, strings.Fields(in.Args)...)
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("USER: got %q, want a non-root user", user)
	}
	if dataAt < 0 || dataOwner == "" || dataOwner != user {
		t.Errorf("/data: copied at %d owned by %q, want it owned by the USER %q", dataAt, dataOwner, user)
	}
	if volumeAt < 0 || dataAt > volumeAt {
		t.Errorf("VOLUME /data at instruction %d, /data made at %d: want it made first", volumeAt, dataAt)
	}
	if healthcheck != `["/enlace", "healthcheck"]` {
		t.Errorf("HEALTHCHECK: got %q, want the exec form of /enlace healthcheck", healthcheck)
	}
	if entrypoint != `["/enlace"]` {
		t.Errorf("ENTRYPOINT: got %q", entrypoint)
	}
	// The build stage makes the directory it copies.
	made := false
	for _, st := range stages[:len(stages)-1] {
		for _, in := range st {
			made = made || in.Cmd == "RUN" && strings.Contains(in.Args, "mkdir -p /out/data")
		}
	}
	if !made {
		t.Error("no build stage makes /out/data")
	}
	env := stageEnv(final)
	if env["ENLACE_DATA_DIR"] != "/data" {
		t.Errorf("ENLACE_DATA_DIR: got %q, want /data", env["ENLACE_DATA_DIR"])
	}
	public, metrics := port(t, env["ENLACE_ADDR"]), port(t, env["ENLACE_METRICS_ADDR"])
	if public == metrics {
		t.Errorf("metrics share the public port %s", public)
	}
	if slices.Contains(exposed, metrics) || !slices.Contains(exposed, public) {
		t.Errorf("EXPOSE %v: want the public port %s and not the metrics port %s", exposed, public, metrics)
	}
}

type composeFile struct {
	Services map[string]struct {
		Restart     string                                `yaml:"restart"`
		DependsOn   map[string]struct{ Condition string } `yaml:"depends_on"`
		Environment map[string]string                     `yaml:"environment"`
		Ports       []string                              `yaml:"ports"`
		Volumes     []string                              `yaml:"volumes"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// TestCompose checks the compose file: Enlace starts once Redis is healthy,
// both restart unless stopped, Enlace's health check is `enlace
// healthcheck`, every channel variable is passed, and only the public port
// is published on all interfaces (metrics not at all, the console on the
// loopback only).
func TestCompose(t *testing.T) {
	raw, err := os.ReadFile("../../deploy/compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	enlace, redis := c.Services["enlace"], c.Services["redis"]
	if got := enlace.DependsOn["redis"].Condition; got != "service_healthy" {
		t.Errorf("enlace depends_on redis: got condition %q, want service_healthy", got)
	}
	if len(redis.Healthcheck.Test) == 0 || !slices.Contains(redis.Healthcheck.Test, "ping") {
		t.Errorf("redis healthcheck: got %q, want redis-cli ping", redis.Healthcheck.Test)
	}
	for name, s := range c.Services {
		if s.Restart != "unless-stopped" {
			t.Errorf("%s restart: got %q, want unless-stopped", name, s.Restart)
		}
	}
	if got := strings.Join(enlace.Healthcheck.Test, " "); got != "CMD /enlace healthcheck" {
		t.Errorf("enlace healthcheck: got %q, want CMD /enlace healthcheck", got)
	}
	for _, o := range append(telegramOptions(), twilioOptions()...) {
		if strings.HasSuffix(o.Name, "_API_URL") { // tests and proxies
			continue
		}
		if _, ok := enlace.Environment[o.Name]; !ok {
			t.Errorf("compose does not pass %s", o.Name)
		}
	}
	for _, k := range []string{"REDIS_URL", "ENLACE_SECRET_KEY", "ENLACE_PUBLIC_URL"} {
		if _, ok := enlace.Environment[k]; !ok {
			t.Errorf("compose does not pass %s", k)
		}
	}
	metrics := port(t, enlace.Environment["ENLACE_METRICS_ADDR"])
	env := stageEnv(dockerfileStages(t, "../../deploy/Dockerfile")[1])
	public, console := port(t, env["ENLACE_ADDR"]), port(t, env["ENLACE_CONSOLE_ADDR"])
	published := map[string]string{} // container port -> host address
	for _, p := range enlace.Ports {
		parts := strings.Split(p, ":")
		host := ""
		if len(parts) == 3 {
			host = parts[0]
		}
		published[parts[len(parts)-1]] = host
	}
	if _, ok := published[metrics]; ok {
		t.Errorf("the metrics port %s is published", metrics)
	}
	if h, ok := published[public]; !ok || h != "" {
		t.Errorf("the public port %s: published %v on %q, want on every interface", public, ok, h)
	}
	if h, ok := published[console]; ok && h != "127.0.0.1" {
		t.Errorf("the console port %s is published on %q, want 127.0.0.1 only", console, h)
	}
	if !slices.Contains(enlace.Volumes, "enlace-data:/data") {
		t.Errorf("enlace volumes: got %v, want enlace-data:/data", enlace.Volumes)
	}
}

// TestDockerignore: the build context carries no history, no local data and
// no key, and still carries the sources.
func TestDockerignore(t *testing.T) {
	raw, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var entries []string
	for _, l := range strings.Split(string(raw), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			entries = append(entries, l)
		}
	}
	for _, want := range []string{".git", "**/enlace-data", "**/secret.key"} {
		if !slices.Contains(entries, want) {
			t.Errorf(".dockerignore lacks %s", want)
		}
	}
	for _, e := range entries {
		if strings.HasPrefix(e, "!") || e == "*" || e == "**" || strings.Contains(e, ".go") || e == "go.mod" || e == "go.sum" {
			t.Errorf(".dockerignore entry %q would keep sources out of the build", e)
		}
	}
}
