#!/usr/bin/env bash
# Build LocalKB.app and a .dmg on macOS (not built or tested by LocalKB's CI, which runs on Linux).
# Needs Python 3.11, Xcode command-line tools and CMake (llama-cpp-python compiles, with Metal).
# Run from the repository root: packaging/macos/build_macos.sh   -> build/LocalKB-<version>.dmg
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
python3.11 -m venv build/venv && . build/venv/bin/activate
pip install -q -e ".[package]"
mkdir -p build/models
LOCALKB_MODELS_DIR=build/models/.join python -c "
import shutil, pathlib
from app.llm import builtin
for key, m in builtin.MODELS.items():
    shutil.copyfile(builtin.ensure(key), pathlib.Path('build/models') / m.file_name)"
rm -rf build/models/.join
python -m ingest.onnx_export  # the embedder's ONNX export: the bundle leaves torch out
# The .icns Finder shows, from the SVG (librsvg's rsvg-convert and iconutil).
if [ ! -f packaging/localkb.icns ]; then
    mkdir -p build/localkb.iconset
    for size in 16 32 128 256 512; do
        rsvg-convert -w $size -h $size assets/icons/localkb.svg > build/localkb.iconset/icon_${size}x${size}.png
        rsvg-convert -w $((size * 2)) -h $((size * 2)) assets/icons/localkb.svg > build/localkb.iconset/icon_${size}x${size}@2x.png
    done
    iconutil -c icns build/localkb.iconset -o packaging/localkb.icns
fi
LOCALKB_BUNDLE_MODELS="$PWD/build/models" pyinstaller --noconfirm --distpath build/dist --workpath build/pyinstaller packaging/localkb.spec
build/dist/LocalKB.app/Contents/MacOS/localkb --self-test
# Unsigned: Gatekeeper asks users to right-click > Open the first time.  Sign and notarise with a
# Developer ID (codesign --deep, xcrun notarytool) before giving it to others.
hdiutil create -volname LocalKB -srcfolder build/dist/LocalKB.app -ov -format UDZO "build/LocalKB-$VERSION.dmg"
