#!/usr/bin/env bash
# Installs everything Outgrow needs and builds it. Safe to run again: it only installs what is missing.
#   - Debian/Ubuntu: PostgreSQL server binaries, redis-server, redis-sentinel, pgbouncer, etcd, Patroni (the anchor
#     of the failover benchmark) and a C compiler via apt (as root, or with sudo); prometheus for `up --prometheus`.
#   - Elsewhere: says exactly what to install.
#   - npm packages (npm ci) and the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  say "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none)). Install it from your distribution or nodejs.org."
  exit 1
fi
case "$node_major" in
  20|22|24) ;;
  *) say "Node $(node --version) is not a tested release (20, 22, 24; see README). The gateway checks Node's internal HTTP parser at start and falls back to node:http if it fails." ;;
esac

have_postgres() {
  [ -n "${OUTGROW_PG_BIN:-}" ] && [ -x "$OUTGROW_PG_BIN/initdb" ] && return 0
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null && return 0
  command -v initdb >/dev/null 2>&1 && return 0
  command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ] && return 0
  return 1
}
have_redis() { command -v redis-server >/dev/null 2>&1 || [ -n "${OUTGROW_REDIS_SERVER:-}" ]; }
have_sentinel() { command -v redis-sentinel >/dev/null 2>&1 || [ -x /usr/bin/redis-sentinel ] || [ -n "${OUTGROW_REDIS_SENTINEL:-}" ]; }
have_pgbouncer() {
  [ -n "${OUTGROW_PGBOUNCER:-}" ] && [ -x "$OUTGROW_PGBOUNCER" ] && return 0
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]
}
have_etcd() {
  [ -n "${OUTGROW_ETCD:-}" ] && [ -x "$OUTGROW_ETCD" ] && return 0
  command -v etcd >/dev/null 2>&1
}
have_nats() {
  [ -n "${OUTGROW_NATS_SERVER:-}" ] && [ -x "$OUTGROW_NATS_SERVER" ] && return 0
  command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]
}
have_patroni() { command -v patroni >/dev/null 2>&1; }
have_prometheus() {
  [ -n "${OUTGROW_PROMETHEUS:-}" ] && [ -x "$OUTGROW_PROMETHEUS" ] && return 0
  command -v prometheus >/dev/null 2>&1
}
have_setpriv() { command -v setpriv >/dev/null 2>&1; }
have_cc() { command -v cc >/dev/null 2>&1; }
have_ip() { command -v ip >/dev/null 2>&1; }
# The browser tests drive Debian's Chromium through playwright-core (never Playwright's own downloads).
have_chromium() {
  [ -n "${OUTGROW_CHROMIUM:-}" ] && [ -x "$OUTGROW_CHROMIUM" ] && return 0
  command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1
}

missing=()
have_postgres || missing+=(postgresql)
have_redis || missing+=(redis-server)
have_sentinel || missing+=(redis-sentinel)
have_pgbouncer || missing+=(pgbouncer)
have_etcd || missing+=(etcd-server)
# The event bus's NATS JetStream adapter and its tests.
have_nats || missing+=(nats-server)
# Only the failover benchmark needs it: it does not hold up a setup without apt.
have_patroni || ! command -v apt-get >/dev/null 2>&1 || missing+=(patroni)
have_setpriv || missing+=(util-linux)
# The gateway's multi-host tests build hosts from network namespaces.
have_ip || missing+=(iproute2)
have_cc || missing+=(gcc libc6-dev)
have_chromium || missing+=(chromium)
# `outgrow up --prometheus` and its test.
have_prometheus || missing+=(prometheus)

if [ "${#missing[@]}" -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
      if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
        say "missing: ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}"
        exit 1
      fi
    fi
    say "installing with apt: ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Outgrow runs its own PgBouncers on ports it picks; the package's system service would hold 6432.
    if [[ " ${missing[*]} " == *" pgbouncer "* ]] && command -v systemctl >/dev/null 2>&1; then
      $sudo systemctl disable --now pgbouncer >/dev/null 2>&1 || true
    fi
    # Likewise Sentinel: the package's system Sentinel would hold 26379 and watch a master of its own.
    if [[ " ${missing[*]} " == *" redis-sentinel "* ]] && command -v systemctl >/dev/null 2>&1; then
      $sudo systemctl disable --now redis-sentinel >/dev/null 2>&1 || true
    fi
    # Likewise NATS: a system nats-server would hold 4222; Outgrow's tests run their own.
    if [[ " ${missing[*]} " == *" nats-server "* ]] && command -v systemctl >/dev/null 2>&1; then
      $sudo systemctl disable --now nats-server >/dev/null 2>&1 || true
    fi
    # Likewise etcd: the package's system member would hold 2379/2380; Outgrow runs its own members.
    if [[ " ${missing[*]} " == *" etcd-server "* ]] && command -v systemctl >/dev/null 2>&1; then
      $sudo systemctl disable --now etcd >/dev/null 2>&1 || true
    fi
    # Likewise Prometheus: the package's system server would hold 9090; `up --prometheus` runs its own.
    if [[ " ${missing[*]} " == *" prometheus "* ]] && command -v systemctl >/dev/null 2>&1; then
      $sudo systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
    fi
  else
    say "missing: ${missing[*]}. Install PostgreSQL >= 13 (server binaries: initdb, postgres, pg_basebackup),"
    say "Redis >= 7 (redis-server and redis-sentinel), PgBouncer, etcd >= 3.4, NATS Server >= 2.9, util-linux (setpriv) and a C compiler (cc) with your package manager, e.g."
    say "  Fedora: dnf install postgresql-server redis pgbouncer etcd util-linux   Alpine: apk add postgresql redis pgbouncer etcd util-linux"
    say "  macOS:  brew install postgresql@16 redis pgbouncer etcd   (then set OUTGROW_PG_BIN to its bin directory)"
    say "and, for the browser tests, Chromium (or set OUTGROW_CHROMIUM to a Chromium binary)"
    say "and, for the failover benchmark only, Patroni >= 3 with its etcd3 DCS (e.g. pip install 'patroni[etcd3,psycopg2]')"
    say "and, for outgrow up --prometheus, Prometheus >= 2.30 (or set OUTGROW_PROMETHEUS to its binary)"
    exit 1
  fi
fi

# PostgreSQL and PgBouncer refuse to run as root; as root, Outgrow runs them as the 'postgres' OS user.
if [ "$(id -u)" -eq 0 ] && ! id -u "${OUTGROW_PG_USER:-postgres}" >/dev/null 2>&1; then
  say "creating the system user ${OUTGROW_PG_USER:-postgres} to run PostgreSQL"
  useradd --system --home-dir /var/lib/postgresql --shell /usr/sbin/nologin "${OUTGROW_PG_USER:-postgres}"
fi

stamp=node_modules/.outgrow-installed
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

say "building"
npx --no-install tsc -p tsconfig.json
# The benchmarks' fixed-rate load generator is C (bench/fixed-rate/fixed-rate.c says why).
cc -O2 -Wall -o dist/bench/fixed-rate bench/fixed-rate/*.c
