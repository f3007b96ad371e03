#!/usr/bin/env bash
# Installs the Debian packages tony's tests and demo need, where missing: a C++ toolchain (llama-cpp-python
# builds from source), PostgreSQL server binaries (store tests), WordNet (the synonym perturbation and
# class hierarchies built from WordNet), Chromium (the site's browser tests), and espeak-ng and sox (speech
# synthesis and audio conditions of tony.voice). Does nothing when everything is there. Without root or sudo
# it says what is missing and goes on: the tests that need a missing package skip.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo"; else SUDO="none"; fi
fi

have_initdb() {
    command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

missing=()
command -v make >/dev/null 2>&1 || missing+=(make)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || missing+=(python3-venv)
command -v g++ >/dev/null 2>&1 || missing+=(g++)
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
have_initdb || missing+=(postgresql)
[ -f /usr/share/wordnet/data.noun ] || missing+=(wordnet-base)
[ -f /usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz ] || missing+=(dataset-fashion-mnist)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v espeak-ng >/dev/null 2>&1 || missing+=(espeak-ng)
command -v sox >/dev/null 2>&1 || missing+=(sox)

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$SUDO" = "none" ]; then
    echo "tony: missing Debian packages ${missing[*]} (no root or sudo to install them; tests that need them skip)" >&2
    exit 0
fi

echo "== installing ${missing[*]}"
# Create no stock 'main' PostgreSQL cluster and start no service while installing: the tests start their own.
$SUDO mkdir -p /etc/postgresql-common/createcluster.d
echo "create_main_cluster = false" | $SUDO tee /etc/postgresql-common/createcluster.d/tony-ci.conf >/dev/null
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
    $SUDO chmod +x "$policy"
    trap '$SUDO rm -f "$policy"' EXIT
fi
$SUDO apt-get update -qq
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
have_initdb || { echo "postgresql is installed but initdb was not found" >&2; exit 1; }
