#!/bin/sh
# Put LocalKB in this user's applications menu (no root): a desktop entry pointing at this folder,
# the icon, and a `localkb` command in ~/.local/bin.  The app runs from where this folder is, so
# unpack it where it should stay (e.g. ~/.local/opt) first; after moving the folder, run this again.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
BIN=$HOME/.local/bin
if [ ! -x "$HERE/localkb" ]; then
    echo "install.sh: $HERE/localkb is missing; unpack the whole LocalKB archive again" >&2
    exit 1
fi
mkdir -p "$DATA/applications" "$DATA/icons/hicolor/scalable/apps" "$BIN"
cp "$HERE/_internal/assets/icons/localkb.svg" "$DATA/icons/hicolor/scalable/apps/localkb.svg"
# Exec and TryExec are absolute (quoted: the folder may have spaces); %F hands files chosen with
# "Open with LocalKB" to the window, which adds them to the current knowledge base.
sed -e "s|^Exec=.*|Exec=\"$HERE/localkb\" --gui %F|" -e "/^TryExec=/d" \
    -e "/^Exec=/a TryExec=$HERE/localkb" \
    "$HERE/_internal/assets/localkb.desktop" > "$DATA/applications/localkb.desktop.tmp"
mv "$DATA/applications/localkb.desktop.tmp" "$DATA/applications/localkb.desktop"
ln -sf "$HERE/localkb" "$BIN/localkb"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$DATA/icons/hicolor" || true
echo "LocalKB is in your applications menu (and \`localkb\` in $BIN)."
echo "It runs from $HERE; to remove it: $HERE/uninstall.sh"
