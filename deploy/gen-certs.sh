#!/usr/bin/env bash
# Makes a development CA, the certificates reactord's NATS cluster and processes use,
# and the deployment's secrets, with openssl. For development and trials: in production
# use your own CA (or cert-manager) with the same subjects, since NATS maps a client
# certificate's subject to its user (nats/accounts.conf).
#
#   deploy/gen-certs.sh [OUT_DIR]        default OUT_DIR: deploy/certs
#
# Environment: NAMESPACE (Kubernetes namespace for the service names, default reactord),
# DAYS (validity, default 365), EXTRA_SANS (comma-separated DNS names added to the
# NATS and HTTP server certificates). Existing files are kept: delete OUT_DIR to renew.
#
# Writes (PEM):
#   ca.pem ca-key.pem                      the CA (keep ca-key.pem offline)
#   nats-server.pem nats-server-key.pem    NATS client port (serverAuth)
#   nats-route.pem nats-route-key.pem      NATS cluster routes, CN=nats-route,O=reactord
#   reactord-gateway.pem/-key.pem          client CN=reactord-gateway,O=reactord
#   reactord-worker.pem/-key.pem           client CN=reactord-worker,O=reactord
#   nats-admin.pem nats-admin-key.pem      client CN=nats-admin,O=reactord (system account)
#   reactord-http.pem reactord-http-key.pem  the gateways' HTTPS listener (--tls-cert)
# and the secrets (mode 0600):
#   keys.env    REACTORD_ENCRYPTION_KEY and REACTORD_MANAGEMENT_KEY (gateways only)
#   minio.env   MinIO's root credentials (compose's MinIO and its setup job only)
#   s3-gateway.env, s3-worker.env   bucket credentials: read-write, read-only
set -euo pipefail

out=${1:-$(dirname "$0")/certs}
ns=${NAMESPACE:-reactord}
days=${DAYS:-365}
mkdir -p "$out"
chmod 700 "$out"
cd "$out"
umask 077

sans="DNS:localhost,IP:127.0.0.1,DNS:nats,DNS:nats-1,DNS:nats-2,DNS:nats-3"
sans+=",DNS:nats.$ns,DNS:nats.$ns.svc,DNS:nats.$ns.svc.cluster.local"
sans+=",DNS:*.nats-headless,DNS:*.nats-headless.$ns,DNS:*.nats-headless.$ns.svc,DNS:*.nats-headless.$ns.svc.cluster.local"
http_sans="DNS:localhost,IP:127.0.0.1,DNS:gateway-1,DNS:gateway-2,DNS:reactord-gateway,DNS:reactord-gateway.$ns.svc,DNS:reactord-gateway.$ns.svc.cluster.local"
if [[ -n ${EXTRA_SANS:-} ]]; then
  for n in ${EXTRA_SANS//,/ }; do sans+=",DNS:$n"; http_sans+=",DNS:$n"; done
fi

if [[ ! -f ca.pem ]]; then
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout ca-key.pem -out ca.pem -days "$days" -subj "/O=reactord/CN=reactord development CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

# cert NAME SUBJECT EXTENDED_KEY_USAGE [SANS]
cert() {
  local name=$1 subj=$2 eku=$3 san=${4:-}
  [[ -f $name.pem ]] && return
  local ext
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    if [[ -n $san ]]; then echo "subjectAltName=$san"; fi
  } > "$ext"
  openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -keyout "$name-key.pem" -out "$name.csr" -subj "$subj" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -out "$name.pem" -days "$days" -extfile "$ext" 2>/dev/null
  rm -f "$name.csr" "$ext"
}

cert nats-server "/O=reactord/CN=nats" serverAuth "$sans"
cert nats-route "/O=reactord/CN=nats-route" serverAuth,clientAuth "$sans"
# Client certificates carry no alternative names: NATS maps the subject to the user.
cert reactord-gateway "/O=reactord/CN=reactord-gateway" clientAuth
cert reactord-worker "/O=reactord/CN=reactord-worker" clientAuth
cert nats-admin "/O=reactord/CN=nats-admin" clientAuth
cert reactord-http "/O=reactord/CN=reactord" serverAuth "$http_sans"
rm -f ca.srl

if [[ ! -f keys.env ]]; then
  {
    echo "REACTORD_ENCRYPTION_KEY=$(openssl rand -base64 32)"
    echo "REACTORD_MANAGEMENT_KEY=key_$(openssl rand -hex 24)"
  } > keys.env
fi
if [[ ! -f minio.env ]]; then
  {
    echo "MINIO_ROOT_USER=admin"
    echo "MINIO_ROOT_PASSWORD=$(openssl rand -hex 24)"
    echo "GATEWAY_S3_SECRET=$(openssl rand -hex 24)"
    echo "WORKER_S3_SECRET=$(openssl rand -hex 24)"
  } > minio.env
fi
# The bucket credentials reactord reads from the AWS environment, one pair per role.
# shellcheck disable=SC1091
. ./minio.env
printf 'AWS_ACCESS_KEY_ID=reactord-gateway\nAWS_SECRET_ACCESS_KEY=%s\n' "$GATEWAY_S3_SECRET" > s3-gateway.env
printf 'AWS_ACCESS_KEY_ID=reactord-worker\nAWS_SECRET_ACCESS_KEY=%s\n' "$WORKER_S3_SECRET" > s3-worker.env
# Containers run as unprivileged users that must read the certificates and keys they
# mount (development only; env files are read by compose or kubectl, on the host).
chmod 644 ./*.pem
chmod 600 ./*.env
chmod 600 ca-key.pem
echo "wrote $(pwd)"
