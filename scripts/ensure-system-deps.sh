#!/usr/bin/env bash
# Brings a fresh machine to the point where the service can be built, run and tested:
# system packages (redis-server, BLAS/LAPACK, ffmpeg, espeak-ng), npm packages, then the build.
# Idempotent and silent when everything is already in place; `npm start`, `npm test`
# and .ci/run call it first. `--tests` (npm test, CI) adds what only the test suite uses:
# promtool to lint /metrics and chromium for the Swagger UI browser test.
set -euo pipefail

for_tests=false
[ "${1:-}" = --tests ] && for_tests=true

cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf 'ensure-system-deps: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Runs a command as root: directly when we are root, through sudo when it is there.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' (not root and no sudo); run it as root, then retry"
  fi
}

dpkg_installed() {
  [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

ensure_debian_packages() {
  local missing=()
  # A redis-server or promtool built by hand is as good as the packaged one.
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  # ffmpeg decodes uploaded audio for /v1/audio; espeak-ng speaks the test suite's audio.
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  if $for_tests; then
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    # The Swagger UI browser test drives Debian's chromium (playwright-core never downloads one).
    command -v chromium >/dev/null 2>&1 || missing+=(chromium)
  fi
  # The bundled Linux MLX binary links libblas.so.3 and liblapack.so.3; with OpenBLAS
  # installed the alternatives system points libblas.so.3 at it (about 25x faster prefill).
  local lib
  for lib in libopenblas0-pthread libblas3 liblapack3; do
    dpkg_installed "$lib" || missing+=("$lib")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  say "installing ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

ensure_macos_packages() {
  # MLX uses Accelerate and Metal on macOS; Redis, ffmpeg (audio uploads) and espeak-ng (test speech) come from
  # Homebrew (the browser test needs Debian's chromium and skips itself here).
  local missing=()
  command -v redis-server >/dev/null 2>&1 || missing+=(redis)
  command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
  command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
  [ "${#missing[@]}" -eq 0 ] && return 0
  command -v brew >/dev/null 2>&1 \
    || die "${missing[*]} missing and Homebrew is not installed (https://brew.sh); install them (or set REDIS_URL for Redis)"
  say "installing ${missing[*]} with Homebrew"
  brew install "${missing[@]}"
}

ensure_node() {
  command -v node >/dev/null 2>&1 || die "Node.js 20.19 or newer is required (https://nodejs.org)"
  node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
    || die "Node.js 20.19 or newer is required, found $(node -v)"
}

# True when the macOS MLX binary is the Metal build that @frost-beta/mlx's install
# script downloads, rather than the Linux binary the tarball ships with.
has_metal_mlx() {
  local dir=node_modules/@frost-beta/mlx/build/Release
  [ -f "$dir/mlx.metallib" ] && file -b "$dir/mlx.node" 2>/dev/null | grep -q 'Mach-O.*arm64'
}

ensure_npm_packages() {
  local marker=node_modules/.package-lock.json
  if [ ! -f "$marker" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$marker" ]; }; then
    say "installing npm packages"
    # Scripts are skipped for every npm version: npm 11 would honour package.json's
    # allowScripts, npm 10 ignores it, and @frost-beta/mlx's script downloads a binary,
    # which fails offline and would replace the bundled Linux one. The other install
    # scripts in the tree are not needed: @swc/core's only checks its binary,
    # msgpackr-extract falls back to JS, @scarf/scarf is telemetry.
    if [ -f package-lock.json ]; then
      npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    else
      npm install --ignore-scripts --no-audit --no-fund --loglevel=error
    fi
    # npm leaves the marker alone when the tree was already right; stamp it so the
    # comparison above stays quiet until the lock file changes again.
    touch "$marker"
  fi

  if [ "$(uname -s)" = Darwin ] && [ "$(uname -m)" = arm64 ] && ! has_metal_mlx; then
    say "fetching the Metal build of MLX"
    node node_modules/@frost-beta/mlx/install.js
  fi
}

ensure_node
case "$(uname -s)" in
  Linux)
    if command -v apt-get >/dev/null 2>&1; then
      ensure_debian_packages
    else
      for tool in redis-server ffmpeg espeak-ng; do
        command -v "$tool" >/dev/null 2>&1 \
          || say "warning: $tool is missing and this is not Debian/Ubuntu; install it with your package manager"
      done
    fi
    ;;
  Darwin) ensure_macos_packages ;;
  *) die "unsupported system $(uname -s); Linux (Debian/Ubuntu) and macOS are supported" ;;
esac
ensure_npm_packages
# tsc is incremental (dist/.tsbuildinfo), so an up-to-date build costs a few seconds.
npm run --silent build
