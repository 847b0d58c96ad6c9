#!/usr/bin/env bash
# Checks the Kubernetes manifests in deploy/kubernetes against the Kubernetes
# API's schemas with kubeconform (pinned in tools/go.mod), strictly: an unknown
# or misspelt field, a wrong type, a duplicated key, a kind or apiVersion the
# API does not have are errors. The schemas are the ones committed in
# deploy/kubernetes/schemas (kubeconform's default download from GitHub is
# never used). Then proves the check bites: every manifest in
# testdata/invalid must be rejected for the reason its "# want:" line names,
# and accepted once its "# fix:" sed expression is applied. Last, makes sure
# the committed schemas are exactly what their generator makes from the
# pinned Kubernetes release (fetched through the Go module proxy).
# .ci/run runs it; run it from anywhere: bash deploy/kubernetes/check.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=deploy/kubernetes

kubeconform() {
	go tool -modfile=tools/go.mod kubeconform -strict -summary \
		-schema-location "$dir/schemas/{{.ResourceKind}}{{.KindSuffix}}.json" "$@"
}

# The manifests: every .yaml file but the kustomization (not a Kubernetes
# object), and the Secret template, whose name keeps `kubectl apply -f` off it
# and which kubeconform therefore reads from standard input. kubeconform skips
# files it does not take for YAML without a word, so the count of valid
# objects must be the count of objects.
manifests=()
for f in "$dir"/*.yaml; do
	[ "$(basename "$f")" = kustomization.yaml ] || manifests+=("$f")
done
want=$(cat "${manifests[@]}" "$dir/secret.yaml.example" | grep -c '^kind:')
out=$(kubeconform "${manifests[@]}" && kubeconform - <"$dir/secret.yaml.example") || {
	echo "$out"; echo "k8s: the manifests in $dir do not validate"; exit 1
}
echo "$out"
got=$(grep -o 'Valid: [0-9]*' <<<"$out" | awk '{n += $2} END {print n}')
if [ "$got" != "$want" ]; then
	echo "k8s: $got objects validated, want $want (the number of kind: lines)"; exit 1
fi

# The check must reject what is wrong, for the right reason.
n=0
for f in "$dir"/testdata/invalid/*.yaml; do
	reason=$(sed -n 's/^# want: //p' "$f")
	fix=$(sed -n 's/^# fix: //p' "$f")
	if [ -z "$reason" ] || [ -z "$fix" ]; then
		echo "k8s: $f needs a '# want: ' and a '# fix: ' line"; exit 1
	fi
	if out=$(kubeconform "$f" 2>&1); then
		echo "$out"; echo "k8s: kubeconform accepted $f, want it rejected: $reason"; exit 1
	fi
	if ! grep -qF -- "$reason" <<<"$out"; then
		echo "$out"; echo "k8s: kubeconform rejected $f, but not for: $reason"; exit 1
	fi
	fixed=$(sed -e "$fix" "$f")
	if [ "$fixed" = "$(cat "$f")" ]; then
		echo "k8s: $f: its fix $fix changes nothing"; exit 1
	fi
	if ! out=$(kubeconform - <<<"$fixed" 2>&1); then
		echo "$out"; echo "k8s: $f fixed ($fix) is still rejected: it is wrong in more than one way"; exit 1
	fi
	n=$((n + 1))
done
echo "k8s: kubeconform rejected each of the $n broken manifests in $dir/testdata/invalid for its reason"

go run ./deploy/kubernetes/schemas/generate -check
