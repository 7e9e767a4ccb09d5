#!/usr/bin/env bash
# Installs what is needed, then runs the whole test suite inside a private D-Bus session
# with an unlocked gnome-keyring, so keyring tests hit a real Secret Service.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec dbus-run-session -- bash scripts/in-keyring-session.sh .venv/bin/python -m pytest "$@"
