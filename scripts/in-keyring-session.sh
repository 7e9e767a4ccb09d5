#!/usr/bin/env bash
# Runs a command with a throwaway, unlocked gnome-keyring on the current D-Bus session.
# Its keyring lives in a temporary XDG_DATA_HOME that is removed afterwards, so tests
# never touch a real user's keyring.
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_DATA_HOME="$tmp/data" XDG_CONFIG_HOME="$tmp/config" XDG_CACHE_HOME="$tmp/cache"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
# The password only protects this temporary keyring; it unlocks the "login" collection.
eval "$(printf 'foureyes-test-keyring' | gnome-keyring-daemon --unlock --components=secrets 2>/dev/null)"
export GNOME_KEYRING_CONTROL FOUREYES_TEST_KEYRING=1
export QT_QPA_PLATFORM=offscreen
set +e
"$@"
rc=$?
set -e
# pytest exit 5 means "no tests ran": that must never pass silently.
if [ "$rc" -eq 5 ]; then echo "test: no tests ran" >&2; exit 1; fi
exit "$rc"
