#!/bin/sh
# Brings the docker-compose network up, waits for both edges to register (each did init → stake → run),
# allocates a session through the matchmaker, streams a few seconds to a werift receiver in Node, and
# brings everything down. Needs a running Docker engine (e.g. `dockerd --bridge=none --iptables=false`, so
# nothing leaves loopback), docker-compose and mmdebstrap. Not run in CI. Prints the figures at the end.
set -eu
cd "$(dirname "$0")/.."
COMPOSE="docker-compose -p farplay-smoke"
sh scripts/compose-build.sh
FARPLAY_MM_SESSION_PRIVATE_KEY=$(npx tsx scripts/keygen.ts | sed -n 's/^FARPLAY_MM_SESSION_PRIVATE_KEY=//p')
export FARPLAY_MM_SESSION_PRIVATE_KEY
cleanup() { $COMPOSE logs --no-color > .farplay/compose-smoke.log 2>&1 || true; $COMPOSE down -v >/dev/null 2>&1 || true; }
mkdir -p .farplay
trap cleanup EXIT
start=$(date +%s)
$COMPOSE up -d
npx tsx scripts/composeSmokePlayer.ts http://127.0.0.1:18080 5 > .farplay/compose-smoke.out
cat .farplay/compose-smoke.out
up=$(( $(date +%s) - start ))
$COMPOSE ps
echo "compose smoke: up and streamed in ${up} s (logs: .farplay/compose-smoke.log)"
