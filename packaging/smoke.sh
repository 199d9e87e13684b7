#!/usr/bin/env bash
# Smoke test of the installed Linux app, as a user gets it: build the archive (or take an existing
# one), unpack it into a temporary folder, then with a fresh, empty home:
#   1. `localkb --self-test` with no network at all (a network namespace without interfaces, when
#      `unshare -n` is allowed here), which ingests the bundled sample and answers with a citation;
#   2. `localkb --screenshot` offscreen, with the window's start-up time;
#   3. install.sh / uninstall.sh into a throw-away $HOME: the menu entry points at the app.
#
#   packaging/smoke.sh                       # build first (packaging/build_linux.sh), then check
#   packaging/smoke.sh build/LocalKB-*.tar.gz   # check an archive already built
#
# Exit 0 only when every check passed.  Output lands in build/smoke/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
ARCHIVE=${1:-}
if [ -z "$ARCHIVE" ]; then
    packaging/build_linux.sh
    ARCHIVE=$(ls -t build/LocalKB-*-linux-*.tar.gz | head -1)
fi
OUT="$ROOT/build/smoke"
rm -rf "$OUT" && mkdir -p "$OUT"
TMP=$(mktemp -d /tmp/localkb-smoke.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "smoke: FAILED: $*" >&2; exit 1; }

echo "smoke: unpacking $ARCHIVE"
tar -C "$TMP" -xzf "$ARCHIVE"
APP=$(ls -d "$TMP"/LocalKB-*)
[ -x "$APP/localkb" ] || fail "no executable in the archive"
# Nothing of this machine's Python may help the bundle: no venv, no PYTHONPATH, no user site.
CLEAN_ENV=(env -i HOME="$TMP/home" PATH=/usr/bin:/bin LANG=C.UTF-8 QT_QPA_PLATFORM=offscreen
           LOCALKB_HOME="$TMP/data")
mkdir -p "$TMP/home"

echo "smoke: self-test, offline"
NO_NET=()
if unshare -n true 2>/dev/null; then
    NO_NET=(unshare -n)
    echo "smoke: running inside a network namespace with no interfaces (unshare -n)"
else
    echo "smoke: unshare -n is not allowed here; running with the network present" >&2
fi
if ! "${NO_NET[@]}" "${CLEAN_ENV[@]}" "$APP/localkb" --self-test 2>&1 | tee "$OUT/self-test.txt"; then
    fail "the self-test did not pass (build/smoke/self-test.txt)"
fi
grep -q "self-test: OK" "$OUT/self-test.txt" || fail "the self-test did not report OK"
# The embedder falls back to onnxruntime when the bundle lacks OpenVINO's CPU plugin or ONNX reader.
grep -q "self-test: embedder: .*(openvino" "$OUT/self-test.txt" \
    || fail "the embedder did not run on OpenVINO: a library under _internal/openvino/libs is missing (localkb.spec)"

echo "smoke: window, offscreen (cold start: page cache dropped when allowed)"
sync
{ echo 3 > /proc/sys/vm/drop_caches; } 2>/dev/null && echo "smoke: page cache dropped" || true
"${NO_NET[@]}" "${CLEAN_ENV[@]}" "$APP/localkb" --screenshot "$OUT/window.png" 2>&1 | tee "$OUT/screenshot.txt"
[ -s "$OUT/window.png" ] || fail "no screenshot was written"
[ "$(stat -c %s "$OUT/window.png")" -gt 20000 ] || fail "the screenshot is nearly empty"
grep -q "window shown" "$OUT/screenshot.txt" || fail "the window did not report being shown"
grep -qi "traceback\|unexpected error" "$OUT/screenshot.txt" && fail "the window reported an error"
# The window's first run again, warm, for comparison.
"${NO_NET[@]}" "${CLEAN_ENV[@]}" "$APP/localkb" --screenshot "$OUT/window-warm.png" 2>&1 | grep "window shown" \
    | sed 's/^/warm: /' | tee -a "$OUT/screenshot.txt"

echo "smoke: install.sh and uninstall.sh into a throw-away home"
HOME="$TMP/home" XDG_DATA_HOME="$TMP/home/.local/share" "$APP/install.sh"
DESKTOP="$TMP/home/.local/share/applications/localkb.desktop"
[ -f "$DESKTOP" ] || fail "install.sh wrote no desktop entry"
grep -q "^Exec=\"$APP/localkb\" --gui %F" "$DESKTOP" || fail "the desktop entry does not start this app"
[ -f "$TMP/home/.local/share/icons/hicolor/scalable/apps/localkb.svg" ] || fail "no icon installed"
if command -v desktop-file-validate >/dev/null 2>&1; then
    desktop-file-validate "$DESKTOP" || fail "the desktop entry is not valid"
fi
HOME="$TMP/home" XDG_DATA_HOME="$TMP/home/.local/share" "$APP/uninstall.sh"
[ ! -e "$DESKTOP" ] || fail "uninstall.sh left the desktop entry"

du -sh "$APP" | tee "$OUT/size.txt"
echo "smoke: OK (self-test offline, window, menu entry); output in build/smoke/"
