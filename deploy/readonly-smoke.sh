#!/usr/bin/env bash
# Runs the static binary the Dockerfile builds the way the images run it, without a
# container engine: as uid 10001, with the root file system read-only (a private
# mount namespace) and tmpfs only where the images have volumes and /tmp. Then it
# invokes a node-bt reactor and builds and invokes a node22 reactor (npm on PATH, as
# in the gateway image). Needs root (unshare, mount, setpriv), curl, jq, npm.
#
#   deploy/readonly-smoke.sh [PORT]
set -euo pipefail
cd "$(dirname "$0")/.."
port=${1:-18089}
work=$(mktemp -d)
chmod 0755 "$work" # the unprivileged user reaches the binary and volumes through it
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$work/reactord" ./cmd/reactord
file "$work/reactord" | grep -q 'statically linked' || { echo "not a static binary" >&2; exit 1; }

cat > "$work/inner.sh" <<INNER
set -e
mount --make-rprivate /
mount -t tmpfs tmpfs "$work/vols" 2>/dev/null || { mkdir -p "$work/vols"; mount -t tmpfs tmpfs "$work/vols"; }
mkdir -p "$work/vols/lib" "$work/vols/cache" "$work/vols/tmp"
chown -R 10001:10001 "$work/vols"
mount -o remount,bind,ro /
if touch /.reactord-rw-probe 2>/dev/null; then echo "root is writable" >&2; exit 1; fi
export REACTORD_DATA_DIR=$work/vols/lib REACTORD_CACHE_DIR=$work/vols/cache HOME=$work/vols/tmp TMPDIR=$work/vols/tmp
export REACTORD_ADDR=127.0.0.1:$port REACTORD_MANAGEMENT_KEY=key_smoke
exec setpriv --reuid=10001 --regid=10001 --clear-groups "$work/reactord" serve
INNER
mkdir -p "$work/vols"
unshare -m bash "$work/inner.sh" > "$work/log" 2>&1 &
pid=$!

b=http://127.0.0.1:$port
for _ in $(seq 120); do curl -sf "$b/healthz" >/dev/null && break; sleep 0.5; done
curl -sf "$b/healthz" >/dev/null || { cat "$work/log"; exit 1; }
h=(-H 'Content-Type: application/json')
key=$(curl -sf "$b/applications" -H 'BT-API-KEY: key_smoke' "${h[@]}" \
  -d '{"name":"smoke","type":"private","permissions":["token:use"]}' | jq -r .key)
id=$(curl -sf "$b/reactors" -H 'BT-API-KEY: key_smoke' "${h[@]}" \
  -d "{\"name\":\"mask\",\"code\":$(jq -Rs . < functions/mask-card/index.js)}" | jq -r .id)
out=$(curl -sf "$b/reactors/$id/react" -H "BT-API-KEY: $key" "${h[@]}" -d '{"args":{"card_number":"4242424242424242"}}')
echo "node-bt: $out"
[[ $out == *'************4242'* ]]
id=$(curl -sf "$b/reactors" -H 'BT-API-KEY: key_smoke' "${h[@]}" \
  -d '{"name":"n22","code":"module.exports = async () => ({ raw: { v: require(\"is-number\")(5) } });","runtime":{"image":"node22","dependencies":{"is-number":"7.0.0"}}}' | jq -r .id)
for _ in $(seq 240); do
  state=$(curl -sf "$b/reactors/$id" -H 'BT-API-KEY: key_smoke' | jq -r .state)
  [[ $state == creating ]] || break
  sleep 0.5
done
[[ $state == active ]] || { echo "node22 build: $state" >&2; tail -5 "$work/log" >&2; exit 1; }
out=$(curl -sf "$b/reactors/$id/react" -H "BT-API-KEY: $key" "${h[@]}" -d '{"args":{}}')
echo "node22: $out"
[[ $out == *'"v":true'* ]]
echo "read-only root, uid 10001: ok"
