#!/usr/bin/env bash
# Installs what `make run` and `make test` need, on a fresh machine: PostgreSQL's server
# binaries, Java and Chromium (Debian packages, when missing), then a virtualenv with the pinned
# Python dependencies and the project's packages. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v pg_dump >/dev/null 2>&1 || missing+=(postgresql-client)
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jre-headless)
# The browser the tests drive through Playwright (mercado_devtools/testing/browser.py).
[[ -x /usr/lib/chromium/chromium ]] || command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "install: apt-get install ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  else
    echo "install: please install ${missing[*]} (e.g. sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
fi

emulator=/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator
if [[ -z ${PUBSUB_EMULATOR_BIN:-} && ! -x $emulator ]] && ! command -v cloud-pubsub-emulator >/dev/null 2>&1; then
  echo "install: the Pub/Sub emulator is missing: install google-cloud-cli-pubsub-emulator" \
       "from Google Cloud's apt repository, or set PUBSUB_EMULATOR_BIN" >&2
  exit 1
fi

python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt -e shared -e devtools
python3 -m venv .venv/tools
.venv/tools/bin/pip install -q --disable-pip-version-check -r requirements-tools.txt
touch .venv/.installed
