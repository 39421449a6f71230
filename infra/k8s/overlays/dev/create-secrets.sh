#!/bin/sh
# Creates the Secrets of the dev overlay with fresh random passwords (nothing is stored in Git).
#   infra/k8s/overlays/dev/create-secrets.sh SERVER_CERT.pem SERVER_KEY.pem [SERVER_CA.pem]
# The broker's server certificate and key come from `twoway pki` (or your own CA); SERVER_CA.pem, the CA
# that issued it, becomes the ConfigMap server-ca the console offers devices (public). Re-running keeps the
# existing database passwords: PostgreSQL was initialised with them.
set -eu
NS=twoway-dev
CERT=${1:?usage: $0 SERVER_CERT.pem SERVER_KEY.pem [SERVER_CA.pem]}
KEY=${2:?usage: $0 SERVER_CERT.pem SERVER_KEY.pem [SERVER_CA.pem]}
CA=${3:-}
kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS"
rand() { openssl rand -hex 24; }
apply() { kubectl -n "$NS" apply -f -; }

if ! kubectl -n "$NS" get secret postgres-credentials >/dev/null 2>&1; then
  AS=$(rand); CR=$(rand); AU=$(rand)
  kubectl -n "$NS" create secret generic postgres-credentials \
    --from-literal=superuser-password="$(rand)" \
    --from-literal=account-settings-password="$AS" \
    --from-literal=cert-registry-password="$CR" \
    --from-literal=audit-password="$AU" --dry-run=client -o yaml | apply
  for pair in "account-settings:account_settings:$AS" "cert-registry:cert_registry:$CR" "audit:audit:$AU"; do
    svc=${pair%%:*}; rest=${pair#*:}; db=${rest%%:*}; pw=${rest#*:}
    kubectl -n "$NS" create secret generic "twoway-db-$svc" \
      --from-literal=url="postgres://$db:$pw@postgres:5432/$db" --dry-run=client -o yaml | apply
  done
fi
if ! kubectl -n "$NS" get secret twoway-bootstrap >/dev/null 2>&1; then
  kubectl -n "$NS" create secret generic twoway-bootstrap --from-literal=token="$(openssl rand -hex 32)" --dry-run=client -o yaml | apply
  echo "provider-admin token: kubectl -n $NS get secret twoway-bootstrap -o jsonpath='{.data.token}' | base64 -d"
fi
kubectl -n "$NS" create secret tls broker-tls --cert="$CERT" --key="$KEY" --dry-run=client -o yaml | apply
if [ -n "$CA" ]; then
  kubectl -n "$NS" create configmap server-ca --from-file=ca.crt="$CA" --dry-run=client -o yaml | apply
fi
