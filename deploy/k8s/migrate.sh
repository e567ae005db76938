#!/bin/sh
# The migration step of every rollout (deploy workflows, docs/deployment.md), from the
# repository's root:
#   deploy/k8s/migrate.sh NAMESPACE OVERLAY_DIR                 # upgrade to the overlay's image
#   deploy/k8s/migrate.sh NAMESPACE OVERLAY_DIR --rollback-to REV
# Applies what the Job needs and the Job itself (label matchday.io/rollout=pre: namespace,
# service account, configuration), waits until it completes or fails, prints its log, and exits
# non-zero if it failed. `--rollback-to` runs the same Job with `matchday migrate --rollback-to`
# (the image's code knows the revisions it would undo).
set -eu
namespace=$1
overlay=$2
shift 2
job=matchday-migrate
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The overlay as it is, or with the Job's arguments replaced by an overlay of the overlay.
if [ "${1:-}" = "--rollback-to" ]; then
    cat >"$work/kustomization.yaml" <<YAML
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - $(realpath --relative-to="$work" "$overlay")
patches:
  - target: {kind: Job, name: $job}
    patch: |-
      - op: replace
        path: /spec/template/spec/containers/0/args
        value: [migrate, --rollback-to, "$2"]
YAML
    overlay=$work
fi
kubectl kustomize "$overlay" >"$work/manifests.yaml"

kubectl -n "$namespace" delete job "$job" --ignore-not-found --wait=true
kubectl apply -l matchday.io/rollout=pre -f "$work/manifests.yaml"

status=""
for _ in $(seq 180); do # up to 15 minutes (the Job's activeDeadlineSeconds)
    status=$(kubectl -n "$namespace" get job "$job" \
        -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type} {end}')
    case "$status" in
        *Complete*|*Failed*) break ;;
    esac
    sleep 5
done
kubectl -n "$namespace" logs "job/$job" --all-containers --tail=200 || true
case "$status" in
    *Complete*) echo "migrate.sh: $job completed" ;;
    *) echo "migrate.sh: $job did not complete (${status:-no condition})" >&2; exit 1 ;;
esac
