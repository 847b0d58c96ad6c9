// Command generate writes the JSON schemas that kubeconform checks Enlace's
// Kubernetes manifests against (deploy/kubernetes/schemas), or with -check
// makes sure the committed ones are exactly what it would write.
//
// kubeconform downloads its schemas from GitHub by default, which CI cannot
// reach. These come instead from the OpenAPI (Swagger 2.0) definitions that one
// pinned Kubernetes release publishes in its source, api/openapi-spec/swagger.json,
// taken from the Go module proxy as the module k8s.io/kubernetes: the go command
// checks the download against the checksum database, and this command checks it
// against the checksum pinned below, so the same input always gives the same
// files. The release is an older one on purpose: a manifest its schemas accept
// uses no field that clusters of that release, or later ones, lack.
//
// Each schema is one file, named as kubeconform looks it up
// ({{.ResourceKind}}{{.KindSuffix}}.json: deployment-apps-v1.json), holding the
// kind's definition and, under "definitions", every definition it refers to.
// The definitions are made strict and faithful to what the API server parses,
// the way kubeconform's own schemas are:
//   - every object that lists its properties gets additionalProperties: false,
//     so an unknown or misspelt field is an error, as with `kubectl apply
//     --validate=strict`;
//   - an int-or-string (a port name or number, "25%" or 1) is a string or an integer;
//   - a quantity ("256Mi", "0.5", 1) is a number or a string in the quantity
//     syntax (a unit like "MB", which the API server refuses, is an error);
//   - apiVersion and kind must be the kind's own;
//   - descriptions and x-kubernetes-* annotations are dropped: validation never
//     reads them, and the files stay small.
//
// Run from the repository root:
//
//	go run ./deploy/kubernetes/schemas/generate          # rewrite the schemas
//	go run ./deploy/kubernetes/schemas/generate -check   # fail if they differ
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// The source: one Kubernetes release, by module version and checksum (the
// "h1:" hash of the module zip that go.sum files and the checksum database
// hold).
const (
	sourceModule  = "k8s.io/kubernetes"
	sourceVersion = "v1.35.4"
	sourceSum     = "h1:o/8dBC/pHVpYoGV4OAIytAlNPZbdYVTXJHoYvXC4qzM="
	sourceSpec    = "api/openapi-spec/swagger.json"
)

// kinds are the definitions the manifests in deploy/kubernetes use.
var kinds = []string{
	"io.k8s.api.apps.v1.Deployment",
	"io.k8s.api.core.v1.ConfigMap",
	"io.k8s.api.core.v1.Secret",
	"io.k8s.api.core.v1.Service",
	"io.k8s.api.policy.v1.PodDisruptionBudget",
}

// quantityPattern is the syntax of a resource.Quantity as a string: a signed
// decimal number, then a binary (Ki..Ei) or decimal (n u m k M G T P E) suffix
// or an exponent.
const quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`

const (
	quantityDef    = "io.k8s.apimachinery.pkg.api.resource.Quantity"
	intOrStringDef = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
	refPrefix      = "#/definitions/"
)

func main() {
	dir := flag.String("dir", "deploy/kubernetes/schemas", "directory the schemas are written to")
	check := flag.Bool("check", false, "write nothing; fail if a schema in -dir differs from what would be written")
	flag.Parse()
	if err := run(*dir, *check); err != nil {
		fmt.Fprintln(os.Stderr, "generate:", err)
		os.Exit(1)
	}
}

func run(dir string, check bool) error {
	moduleDir, err := download()
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(filepath.Join(moduleDir, sourceSpec))
	if err != nil {
		return err
	}
	files, err := schemas(raw)
	if err != nil {
		return err
	}
	license, err := os.ReadFile(filepath.Join(moduleDir, "LICENSE"))
	if err != nil {
		return err
	}
	files["LICENSE"] = license
	var stale []string
	for _, name := range slices.Sorted(maps.Keys(files)) {
		path := filepath.Join(dir, name)
		if check {
			if old, err := os.ReadFile(path); err != nil || !bytes.Equal(old, files[name]) {
				stale = append(stale, path)
			}
			continue
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
		fmt.Println("wrote", path)
	}
	// A schema left over from a kind no longer listed would still be used.
	old, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	for _, path := range old {
		if _, ok := files[filepath.Base(path)]; !ok {
			stale = append(stale, path+" (no longer made: remove it)")
		}
	}
	if len(stale) > 0 {
		return fmt.Errorf("not what %s@%s makes (run go run ./deploy/kubernetes/schemas/generate):\n  %s",
			sourceModule, sourceVersion, strings.Join(stale, "\n  "))
	}
	if check {
		fmt.Printf("schemas in %s are what %s@%s makes\n", dir, sourceModule, sourceVersion)
	}
	return nil
}

// download fetches the source module through the go command (the module proxy,
// checked against the checksum database) and returns its directory, once its
// checksum is the pinned one.
func download() (string, error) {
	tmp, err := os.MkdirTemp("", "schemas")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "mod", "download", "-json", sourceModule+"@"+sourceVersion)
	cmd.Dir = tmp // outside any module, so no go.sum is touched
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GO111MODULE=on")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	var info struct{ Dir, Sum, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("download %s@%s: %s", sourceModule, sourceVersion, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("download %s@%s: %w", sourceModule, sourceVersion, err)
	}
	if info.Sum != sourceSum {
		return "", fmt.Errorf("%s@%s has checksum %s, want %s", sourceModule, sourceVersion, info.Sum, sourceSum)
	}
	return info.Dir, nil
}

// schemas makes one schema file for each of kinds from a swagger.json.
func schemas(swagger []byte) (map[string][]byte, error) {
	var spec struct {
		Definitions map[string]any `json:"definitions"`
	}
	if err := json.Unmarshal(swagger, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", sourceSpec, err)
	}
	defs := spec.Definitions
	files := map[string][]byte{}
	for _, name := range kinds {
		root, ok := defs[name].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s: no definition %s", sourceSpec, name)
		}
		group, version, kind, err := groupVersionKind(root)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		used := map[string]any{}
		if err := collect(defs, root, used); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		schema := transform(root).(map[string]any)
		apiVersion := version
		if group != "" {
			apiVersion = group + "/" + version
		}
		props := schema["properties"].(map[string]any)
		props["apiVersion"] = map[string]any{"type": "string", "enum": []any{apiVersion}}
		props["kind"] = map[string]any{"type": "string", "enum": []any{kind}}
		schema["required"] = appendMissing(schema["required"], "apiVersion", "kind")
		schema["$schema"] = "http://json-schema.org/draft-04/schema#"
		schema["description"] = fmt.Sprintf("%s %s, from %s of %s@%s, made strict by deploy/kubernetes/schemas/generate.",
			apiVersion, kind, sourceSpec, sourceModule, sourceVersion)
		definitions := map[string]any{}
		for ref, def := range used {
			definitions[ref] = transformDef(ref, def)
		}
		schema["definitions"] = definitions
		out, err := json.MarshalIndent(schema, "", "  ")
		if err != nil {
			return nil, err
		}
		// kubeconform's file name: the kind, then the group's first label
		// (none for the core group), then the version, in lower case.
		file := strings.ToLower(kind)
		if group != "" {
			file += "-" + strings.ToLower(strings.Split(group, ".")[0])
		}
		files[file+"-"+strings.ToLower(version)+".json"] = append(out, '\n')
	}
	return files, nil
}

func groupVersionKind(def map[string]any) (group, version, kind string, err error) {
	gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
	if len(gvks) != 1 {
		return "", "", "", errors.New("want exactly one x-kubernetes-group-version-kind")
	}
	gvk, _ := gvks[0].(map[string]any)
	group, _ = gvk["group"].(string)
	version, _ = gvk["version"].(string)
	kind, _ = gvk["kind"].(string)
	if version == "" || kind == "" {
		return "", "", "", errors.New("x-kubernetes-group-version-kind lacks a version or kind")
	}
	return group, version, kind, nil
}

// collect adds to used every definition v refers to, directly or not.
func collect(defs map[string]any, v any, used map[string]any) error {
	switch v := v.(type) {
	case map[string]any:
		if ref, ok := v["$ref"].(string); ok {
			name, ok := strings.CutPrefix(ref, refPrefix)
			if !ok {
				return fmt.Errorf("reference %q is not to a definition", ref)
			}
			if _, seen := used[name]; !seen {
				def, ok := defs[name]
				if !ok {
					return fmt.Errorf("reference to a missing definition %s", name)
				}
				used[name] = def
				if err := collect(defs, def, used); err != nil {
					return err
				}
			}
		}
		for _, w := range v {
			if err := collect(defs, w, used); err != nil {
				return err
			}
		}
	case []any:
		for _, w := range v {
			if err := collect(defs, w, used); err != nil {
				return err
			}
		}
	}
	return nil
}

// transformDef is transform, and for the two definitions that the API server
// parses more widely than their swagger type says, what it accepts.
func transformDef(name string, def any) any {
	switch name {
	case quantityDef:
		return map[string]any{"oneOf": []any{
			map[string]any{"type": "string", "pattern": quantityPattern},
			map[string]any{"type": "number"},
		}}
	case intOrStringDef:
		return intOrString()
	}
	return transform(def)
}

func intOrString() map[string]any {
	return map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "integer"}}}
}

// transform returns a copy of a swagger schema made strict (see the package
// comment), without descriptions and x- annotations.
func transform(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if v["format"] == "int-or-string" {
			return intOrString()
		}
		out := map[string]any{}
		for k, w := range v {
			switch {
			case k == "description" || strings.HasPrefix(k, "x-"):
				continue
			case k == "properties":
				// Property names are not keywords: keep every one, even
				// one called "description".
				props := map[string]any{}
				for name, p := range w.(map[string]any) {
					props[name] = transform(p)
				}
				out[k] = props
			default:
				out[k] = transform(w)
			}
		}
		if _, ok := out["properties"]; ok {
			if _, ok := out["additionalProperties"]; !ok {
				out["additionalProperties"] = false
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, w := range v {
			out[i] = transform(w)
		}
		return out
	}
	return v
}

func appendMissing(list any, names ...string) []any {
	out, _ := list.([]any)
	for _, n := range names {
		if !slices.Contains(out, any(n)) {
			out = append(out, n)
		}
	}
	return out
}
