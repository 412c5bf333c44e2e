#!/bin/sh
# Run once by compose's minio-setup service: the bundle bucket and one MinIO user per
# role. Gateways (and `reactord publish`) read and write bundles; workers only read
# them. Bundles are addressed by sha256 and checked on load, so a read-only worker
# cannot swap one.
set -eu
mc alias set local http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD"
mc mb --ignore-existing local/reactord-bundles
mc admin policy create local reactord-bundles-readwrite /setup/bundles-readwrite.json
mc admin policy create local reactord-bundles-readonly /setup/bundles-readonly.json
mc admin user add local reactord-gateway "$GATEWAY_S3_SECRET"
mc admin user add local reactord-worker "$WORKER_S3_SECRET"
# Attaching an already attached policy fails; a re-run must not.
mc admin policy attach local reactord-bundles-readwrite --user reactord-gateway || true
mc admin policy attach local reactord-bundles-readonly --user reactord-worker || true
