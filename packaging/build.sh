#!/usr/bin/env bash
# Builds dist/foureyes-<version>-linux-x86_64.tar.gz and dist/SHA256SUMS, as reproducibly
# as PyInstaller allows: fixed hash seed, SOURCE_DATE_EPOCH from the last commit, sorted
# tar members with fixed mtimes and numeric owner 0, gzip without a name or timestamp.
# Usage: bash packaging/build.sh [OUTDIR]   (FOUREYES_BUILD_TARGETS=cli for the CLI only)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-dist}
PY=${PYTHON:-.venv/bin/python}
VERSION=$("$PY" -c "import core; print(core.__version__)")
export PYTHONHASHSEED=0
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
# A fixed work path: PyInstaller records build paths, so a random one changes the output.
WORK="$PWD/build/pyinstaller"
rm -rf "$WORK"
mkdir -p "$WORK"
echo "build: PyInstaller for foureyes $VERSION (${FOUREYES_BUILD_TARGETS:-cli,app}); this takes a few minutes"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath "$WORK/dist" \
    --workpath "$WORK/build" packaging/foureyes.spec
mkdir -p "$OUT"
NAME="foureyes-$VERSION-linux-x86_64.tar.gz"
echo "build: packing the reproducible tarball"
cp resources/foureyes.desktop resources/icons/foureyes.svg "$WORK/dist/foureyes/"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
    --mode='go-w' -C "$WORK/dist" -cf - foureyes | gzip -n -9 > "$OUT/$NAME"
(cd "$OUT" && sha256sum "$NAME" > SHA256SUMS)
echo "built $OUT/$NAME"
cat "$OUT/SHA256SUMS"
