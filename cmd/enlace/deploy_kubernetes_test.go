package main

import (
	"bytes"
	"errors"
	"io"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The Kubernetes manifests' schemas are checked by kubeconform
// (deploy/kubernetes/check.sh, run by .ci/run); these tests check what no
// schema knows: that the manifests agree with the code and with each other.

const k8sDir = "../../deploy/kubernetes"

// k8sObject is the part of a Kubernetes object the tests read.
type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name   string            `yaml:"name"`
		Labels map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`       // ConfigMap
	StringData map[string]string `yaml:"stringData"` // Secret
	Spec       k8sSpec           `yaml:"spec"`

	node yaml.Node // the whole object, for what k8sObject does not keep
}

type k8sSpec struct {
	// Deployment
	Replicas *int `yaml:"replicas"`
	Selector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	} `yaml:"selector"`
	Template struct {
		Metadata struct {
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec k8sPodSpec `yaml:"spec"`
	} `yaml:"template"`
	// PodDisruptionBudget
	MaxUnavailable *int `yaml:"maxUnavailable"`
	MinAvailable   *int `yaml:"minAvailable"`
	// Service (its selector, a plain map, is read apart)
	Ports []struct {
		Name       string `yaml:"name"`
		TargetPort string `yaml:"targetPort"`
	} `yaml:"ports"`
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds *int  `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool `yaml:"automountServiceAccountToken"`
	SecurityContext               struct {
		RunAsNonRoot *bool `yaml:"runAsNonRoot"`
		RunAsUser    *int  `yaml:"runAsUser"`
		RunAsGroup   *int  `yaml:"runAsGroup"`
	} `yaml:"securityContext"`
	TopologySpreadConstraints []struct {
		TopologyKey string `yaml:"topologyKey"`
	} `yaml:"topologySpreadConstraints"`
	Volumes    []any          `yaml:"volumes"`
	Containers []k8sContainer `yaml:"containers"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Args    []string `yaml:"args"`
	EnvFrom []struct {
		ConfigMapRef *struct{ Name string } `yaml:"configMapRef"`
		SecretRef    *struct{ Name string } `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe k8sProbe `yaml:"readinessProbe"`
	LivenessProbe  k8sProbe `yaml:"livenessProbe"`
	Lifecycle      struct {
		PreStop struct {
			Sleep struct {
				Seconds int `yaml:"seconds"`
			} `yaml:"sleep"`
		} `yaml:"preStop"`
	} `yaml:"lifecycle"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []any `yaml:"volumeMounts"`
}

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
	Exec any `yaml:"exec"`
}

// k8sManifests reads every object of the files the kustomization applies,
// and the Secret template beside them.
type k8sManifests struct {
	Deployment, ConfigMap, Secret, PDB k8sObject
	Services                           []k8sObject
	SecretTemplate                     string // the template's text
}

func readK8sObjects(t *testing.T, path string) []k8sObject {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var objs []k8sObject
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var o k8sObject
		if err := dec.Decode(&o.node); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if err := o.node.Decode(&o); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		objs = append(objs, o)
	}
	return objs
}

func readK8sManifests(t *testing.T) k8sManifests {
	t.Helper()
	var kust struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name string `yaml:"name"`
		} `yaml:"images"`
	}
	raw, err := os.ReadFile(filepath.Join(k8sDir, "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(raw, &kust); err != nil {
		t.Fatal(err)
	}
	// Every manifest in the directory is applied, so none is forgotten,
	// and the Secret is not: `kubectl apply -k` must never overwrite the
	// real one with the template's placeholders.
	files, err := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		if b := filepath.Base(f); b != "kustomization.yaml" {
			want = append(want, b)
		}
	}
	if got := slices.Sorted(slices.Values(kust.Resources)); !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources: got %v, want every manifest in deploy/kubernetes: %v", got, want)
	}
	var m k8sManifests
	counts := map[string]int{}
	for _, f := range kust.Resources {
		for _, o := range readK8sObjects(t, filepath.Join(k8sDir, f)) {
			counts[o.Kind]++
			switch o.Kind {
			case "Deployment":
				m.Deployment = o
			case "ConfigMap":
				m.ConfigMap = o
			case "PodDisruptionBudget":
				m.PDB = o
			case "Service":
				m.Services = append(m.Services, o)
			default:
				t.Errorf("%s: unexpected %s %s", f, o.Kind, o.Metadata.Name)
			}
		}
	}
	for _, k := range []string{"Deployment", "ConfigMap", "PodDisruptionBudget"} {
		if counts[k] != 1 {
			t.Fatalf("the kustomization applies %d of %s, want 1", counts[k], k)
		}
	}
	if len(kust.Images) != 1 || kust.Images[0].Name != m.Deployment.Spec.Template.Spec.Containers[0].Image {
		t.Errorf("kustomization.yaml images: got %+v, want one entry for the Deployment's image", kust.Images)
	}
	secretPath := filepath.Join(k8sDir, "secret.yaml.example")
	secrets := readK8sObjects(t, secretPath)
	if len(secrets) != 1 || secrets[0].Kind != "Secret" {
		t.Fatalf("%s: want one Secret", secretPath)
	}
	m.Secret = secrets[0]
	raw, err = os.ReadFile(secretPath)
	if err != nil {
		t.Fatal(err)
	}
	m.SecretTemplate = string(raw)
	return m
}

// k8sEnv is the environment the pod's envFrom gives serve, from the
// ConfigMap and the Secret template.
func (m k8sManifests) env() map[string]string {
	env := map[string]string{}
	for k, v := range m.ConfigMap.Data {
		env[k] = v
	}
	for k, v := range m.Secret.StringData {
		env[k] = v
	}
	return env
}

// TestDeployKubernetesEnv: every variable the manifests set is one Enlace
// reads, each in the right place (keys and tokens in the Secret, never in
// the ConfigMap), every channel variable is there, and what they set
// parses.
func TestDeployKubernetesEnv(t *testing.T) {
	m := readK8sManifests(t)
	known := map[string]bool{}
	for _, o := range allOptions() {
		known[o.Name] = true
	}
	for _, src := range []struct {
		name string
		vars map[string]string
	}{{"ConfigMap", m.ConfigMap.Data}, {"Secret", m.Secret.StringData}} {
		for k := range src.vars {
			if !known[k] {
				t.Errorf("the %s sets %s, which Enlace does not read", src.name, k)
			}
		}
	}
	c := m.Deployment.Spec.Template.Spec.Containers[0]
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("the Deployment sets %s, which Enlace does not read", e.Name)
		}
	}
	var fromConfigMap, fromSecret bool
	for _, ef := range c.EnvFrom {
		fromConfigMap = fromConfigMap || ef.ConfigMapRef != nil && ef.ConfigMapRef.Name == m.ConfigMap.Metadata.Name
		fromSecret = fromSecret || ef.SecretRef != nil && ef.SecretRef.Name == m.Secret.Metadata.Name
	}
	if !fromConfigMap || !fromSecret {
		t.Errorf("the container's envFrom: ConfigMap %s %v, Secret %s %v; want both", m.ConfigMap.Metadata.Name, fromConfigMap, m.Secret.Metadata.Name, fromSecret)
	}
	secret := []string{"ENLACE_SECRET_KEY", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "TWILIO_AUTH_TOKEN"}
	for _, k := range secret {
		if _, ok := m.Secret.StringData[k]; !ok {
			t.Errorf("the Secret template lacks %s", k)
		}
		if _, ok := m.ConfigMap.Data[k]; ok {
			t.Errorf("the ConfigMap sets %s, a secret: it belongs in the Secret", k)
		}
	}
	env := m.env()
	for _, o := range append(telegramOptions(), twilioOptions()...) {
		if strings.HasSuffix(o.Name, "_API_URL") { // tests and proxies
			continue
		}
		if _, ok := env[o.Name]; !ok {
			t.Errorf("neither the ConfigMap nor the Secret template sets %s", o.Name)
		}
	}
	// Placeholders only, which serve refuses, and the warning says so.
	if !strings.Contains(m.SecretTemplate, "NEVER COMMIT REAL VALUES") {
		t.Error("the Secret template does not warn against committing real values")
	}
	for k, v := range m.Secret.StringData {
		if !strings.Contains(v, "REPLACE-ME") {
			t.Errorf("the Secret template's %s is %q, want a REPLACE-ME placeholder", k, v)
		}
	}
	if _, err := loadKeys(config{SecretKey: env["ENLACE_SECRET_KEY"]}, false, io.Discard); err == nil {
		t.Error("the Secret template's ENLACE_SECRET_KEY placeholder parses as a key: serve would start with it")
	}
	// Several processes: one Redis (the embedded store is one process's
	// file), and Telegram's webhooks (Telegram lets one client poll).
	u, err := url.Parse(env["REDIS_URL"])
	if err != nil || u.Scheme != "redis" && u.Scheme != "rediss" {
		t.Errorf("the Secret template's REDIS_URL %q: want a redis:// URL", env["REDIS_URL"])
	}
	if env["TELEGRAM_MODE"] != "webhook" {
		t.Errorf("TELEGRAM_MODE: got %q, want webhook (only one process may long-poll a bot)", env["TELEGRAM_MODE"])
	}
	if _, err := loadConfig(func(k string) string { return env[k] }); err != nil {
		t.Errorf("the manifests' configuration: %v", err)
	}
}

// TestDeployKubernetesPod: the probes ask what serve answers on the port it
// listens on, the process is given the time its shutdown takes, runs as the
// image's non-root user on a read-only root, and the disruption budget, the
// Services and the Deployment select the same pods.
func TestDeployKubernetesPod(t *testing.T) {
	m := readK8sManifests(t)
	cfg, err := loadConfig(func(k string) string { return m.env()[k] })
	if err != nil {
		t.Fatal(err)
	}
	d := m.Deployment.Spec
	pod := d.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the pod has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("args: got %q, want [serve]", c.Args)
	}

	// Ports: the names the probes and Services use are serve's addresses.
	ports := map[string]string{}
	for _, p := range c.Ports {
		ports[p.Name] = strconv.Itoa(p.ContainerPort)
	}
	for name, addr := range map[string]string{"http": cfg.Addr, "metrics": cfg.MetricsAddr, "console": cfg.ConsoleAddr} {
		if got, want := ports[name], port(t, addr); got != want {
			t.Errorf("container port %s: got %q, want %s (from %s)", name, got, want, addr)
		}
	}
	image := stageEnv(dockerfileStages(t, "../../deploy/Dockerfile")[1])
	if port(t, image["ENLACE_ADDR"]) != ports["http"] {
		t.Errorf("the image's ENLACE_ADDR %s is not the http port %s", image["ENLACE_ADDR"], ports["http"])
	}

	// Probes: httpGet, readiness on /readyz (what `enlace healthcheck` asks),
	// liveness on /healthz (up while Redis is not: a Redis outage makes
	// pods unready, never restarts them); serve_test checks serve answers both.
	ready, err := readyzURL(cfg.Addr)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(ready)
	for _, p := range []struct {
		name  string
		probe k8sProbe
		path  string
	}{{"readinessProbe", c.ReadinessProbe, u.Path}, {"livenessProbe", c.LivenessProbe, "/healthz"}} {
		if p.probe.HTTPGet == nil || p.probe.HTTPGet.Path != p.path || p.probe.HTTPGet.Port != "http" {
			t.Errorf("%s: got %+v, want httpGet %s on port http", p.name, p.probe.HTTPGet, p.path)
		}
	}

	// Shutdown: the grace period covers the preStop pause and serve's own
	// ENLACE_SHUTDOWN_TIMEOUT, or the kubelet kills work in flight.
	grace := 30 * time.Second // Kubernetes' default
	if s := pod.TerminationGracePeriodSeconds; s != nil {
		grace = time.Duration(*s) * time.Second
	}
	need := time.Duration(c.Lifecycle.PreStop.Sleep.Seconds)*time.Second + cfg.ShutdownTimeout
	if grace <= need {
		t.Errorf("terminationGracePeriodSeconds: got %v, want more than the preStop pause and ENLACE_SHUTDOWN_TIMEOUT (%v)", grace, need)
	}

	// Security: the image's user, non-root, read-only, nothing to escalate.
	var uid int
	for _, in := range dockerfileStages(t, "../../deploy/Dockerfile")[1] {
		if in.Cmd == "USER" {
			uid, _ = strconv.Atoi(strings.Split(in.Args, ":")[0])
		}
	}
	sc, csc := pod.SecurityContext, c.SecurityContext
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != uid || uid == 0 {
		t.Errorf("pod securityContext: runAsNonRoot %v, runAsUser %v; want true and the image's user %d", sc.RunAsNonRoot, sc.RunAsUser, uid)
	}
	if csc.ReadOnlyRootFilesystem == nil || !*csc.ReadOnlyRootFilesystem {
		t.Error("the container's root filesystem is not read-only")
	}
	if csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || !slices.Contains(csc.Capabilities.Drop, "ALL") {
		t.Error("the container may escalate privileges or keeps capabilities")
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the pod mounts a service account token it never uses")
	}
	// No volume: with several processes the store is Redis, and a data
	// directory would invite the embedded store, which one process owns.
	if len(pod.Volumes) > 0 || len(c.VolumeMounts) > 0 {
		t.Errorf("the pod mounts volumes %v: want none (Redis holds everything)", pod.Volumes)
	}
	for _, res := range []string{"cpu", "memory"} {
		if c.Resources.Requests[res] == "" || c.Resources.Limits[res] == "" {
			t.Errorf("resources: %s needs a request and a limit", res)
		}
	}

	// Scale-out and disruptions.
	if d.Replicas == nil || *d.Replicas < 2 {
		t.Errorf("replicas: got %v, want at least 2", d.Replicas)
	}
	keys := map[string]bool{}
	for _, tsc := range pod.TopologySpreadConstraints {
		keys[tsc.TopologyKey] = true
	}
	if !keys["kubernetes.io/hostname"] || !keys["topology.kubernetes.io/zone"] {
		t.Errorf("topologySpreadConstraints: got %v, want nodes and zones", keys)
	}
	selector := d.Selector.MatchLabels
	if !subset(selector, d.Template.Metadata.Labels) || len(selector) == 0 {
		t.Errorf("the Deployment's selector %v does not select its pods %v", selector, d.Template.Metadata.Labels)
	}
	pdb := m.PDB.Spec
	if !maps.Equal(pdb.Selector.MatchLabels, selector) {
		t.Errorf("the PodDisruptionBudget selects %v, the Deployment %v", pdb.Selector.MatchLabels, selector)
	}
	switch {
	case pdb.MaxUnavailable != nil && pdb.MinAvailable == nil:
		if *pdb.MaxUnavailable < 1 || *pdb.MaxUnavailable >= *d.Replicas {
			t.Errorf("PodDisruptionBudget maxUnavailable %d of %d replicas", *pdb.MaxUnavailable, *d.Replicas)
		}
	case pdb.MinAvailable != nil && pdb.MaxUnavailable == nil:
		if *pdb.MinAvailable < 1 || *pdb.MinAvailable >= *d.Replicas {
			t.Errorf("PodDisruptionBudget minAvailable %d of %d replicas: a drain could never evict one", *pdb.MinAvailable, *d.Replicas)
		}
	default:
		t.Error("the PodDisruptionBudget wants exactly one of maxUnavailable and minAvailable")
	}

	// Services: they select the pods, and none publishes /metrics.
	if len(m.Services) == 0 {
		t.Fatal("no Service")
	}
	for _, s := range m.Services {
		var svc struct {
			Spec struct {
				Selector map[string]string `yaml:"selector"`
			} `yaml:"spec"`
		}
		if err := s.node.Decode(&svc); err != nil {
			t.Fatal(err)
		}
		if !subset(svc.Spec.Selector, d.Template.Metadata.Labels) || len(svc.Spec.Selector) == 0 {
			t.Errorf("Service %s selects %v, not the pods %v", s.Metadata.Name, svc.Spec.Selector, d.Template.Metadata.Labels)
		}
		for _, p := range s.Spec.Ports {
			if _, ok := ports[p.TargetPort]; !ok {
				t.Errorf("Service %s: targetPort %q is none of the container's ports", s.Metadata.Name, p.TargetPort)
			}
			if p.TargetPort == "metrics" {
				t.Errorf("Service %s publishes /metrics", s.Metadata.Name)
			}
		}
	}
}

func subset(a, b map[string]string) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
