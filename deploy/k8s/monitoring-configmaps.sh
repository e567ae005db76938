#!/bin/sh
# Loads the repository's alert rules, Grafana provisioning and dashboards into the ConfigMaps
# the monitoring component mounts (components/monitoring). Run from the repository's root by
# the deploy workflows and docs/deployment.md:
#   deploy/k8s/monitoring-configmaps.sh NAMESPACE
set -eu
namespace=$1
load() { # NAME DIRECTORY: every file directly in DIRECTORY, applied (created or replaced)
    if [ -d "$2" ]; then
        kubectl create configmap "$1" --namespace "$namespace" --from-file="$2" \
            --dry-run=client -o yaml | kubectl apply --namespace "$namespace" -f -
    else
        echo "monitoring-configmaps: $2 is missing; $1 not loaded" >&2
    fi
}
load matchday-prometheus-rules deploy/prometheus/rules
load matchday-grafana-datasources deploy/grafana/provisioning/datasources
load matchday-grafana-providers deploy/grafana/provisioning/dashboards
load matchday-grafana-dashboards deploy/grafana/dashboards
