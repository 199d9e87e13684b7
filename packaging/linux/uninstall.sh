#!/bin/sh
# Take LocalKB out of the applications menu.  Your knowledge bases and settings stay in
# ~/.local/share/LocalKB and ~/.config/LocalKB (delete those folders to remove them too); delete
# this folder to remove the app itself.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
rm -f "$DATA/applications/localkb.desktop" "$DATA/icons/hicolor/scalable/apps/localkb.svg"
if [ "$(readlink "$HOME/.local/bin/localkb" 2>/dev/null)" = "$HERE/localkb" ]; then
    rm -f "$HOME/.local/bin/localkb"
fi
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$DATA/applications" || true
echo "LocalKB is out of the menu. To delete the app: rm -rf \"$HERE\""
echo "Your data stays in $DATA/LocalKB and ${XDG_CONFIG_HOME:-$HOME/.config}/LocalKB."
