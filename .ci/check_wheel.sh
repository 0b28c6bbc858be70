#!/usr/bin/env bash
# The package a user installs: build the sdist and the wheel (the wheel from the sdist, as `python -m build`
# does), `twine check --strict` both, install the wheel into a fresh virtualenv (torch pinned first: an
# unpinned one pulls a multi-GB CUDA build) and run the installed `interbank` from a folder that is not the
# repository: `simulate` on a named scenario and on the default one (both from the package's own configs),
# and `serve`, whose page, static files and scenario list must come from the wheel. About 3-5 minutes on
# 2 cores, most of it the dependencies' install (`make wheel-check`; .ci/run runs it after `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
PYTHON=${PYTHON:-python3}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/interbank-wheel.XXXXXX")
SERVER=
# setuptools writes interbank.egg-info into the tree while it builds: leave the tree as it was found
EGG_INFO_BEFORE=$([ -e interbank.egg-info ] && echo yes || echo no)
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; fi
  rm -rf "$WORK"
  if [ "$EGG_INFO_BEFORE" = no ]; then rm -rf "$REPO/interbank.egg-info"; fi
}
trap cleanup EXIT
say() { echo "wheel-check: $*"; }

say "build tools"
"$PYTHON" -m venv "$WORK/tools"
"$WORK/tools/bin/pip" install -q build twine
say "python -m build"
"$WORK/tools/bin/python" -m build -o "$WORK/dist" "$REPO" > "$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
ls -l "$WORK/dist"
"$WORK/tools/bin/twine" check --strict "$WORK"/dist/*
WHEEL=$(ls "$WORK"/dist/interbank-*.whl)
# what the wheel must carry besides the code: the page and the scenarios
for f in interbank/interactive/web/index.html interbank/interactive/web/app.js interbank/interactive/web/style.css \
         interbank/configs/default.yaml interbank/configs/stress.yaml interbank/configs/train/smoke.yaml; do
  "$WORK/tools/bin/python" -c "import sys, zipfile; sys.exit('$f' not in zipfile.ZipFile('$WHEEL').namelist())" \
    || { echo "wheel-check: $f is missing from $WHEEL" >&2; exit 1; }
done

say "install into a fresh virtualenv"
"$PYTHON" -m venv "$WORK/venv"
BIN=$WORK/venv/bin
"$BIN/pip" install -q torch==2.13.0
"$BIN/pip" install -q "$WHEEL"

mkdir "$WORK/elsewhere"
cd "$WORK/elsewhere"  # no configs/ and no interbank/ here: everything comes from the installed wheel
say "interbank simulate --config stress (from $PWD)"
"$BIN/interbank" simulate --config stress --steps 20 --no-progress
"$BIN/interbank" simulate --steps 5 --no-progress --json > summary.json
"$BIN/python" - "$WORK/venv" <<'EOF'
import json, sys
from importlib import resources
from pathlib import Path

venv = Path(sys.argv[1]).resolve()
summary = json.load(open("summary.json"))
assert summary["banks"] == 20 and summary["steps"] == 5, summary
assert Path(summary["scenario"]).resolve().is_relative_to(venv), summary["scenario"]  # the package's default.yaml
web = resources.files("interbank.interactive") / "web"
assert (web / "index.html").is_file() and (web / "app.js").is_file(), web
from interbank.interactive import server
assert (server.WEB / "index.html").is_file() and server.WEB.resolve().is_relative_to(venv), server.WEB
import interbank
assert Path(interbank.__file__).resolve().is_relative_to(venv), interbank.__file__  # not the repository's
print("wheel-check: the page and the scenarios resolve inside", venv)
EOF

say "interbank serve"
PORT=$("$BIN/python" -c "import socket; s = socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
"$BIN/interbank" serve --port "$PORT" > serve.log 2>&1 &
SERVER=$!
"$BIN/python" - "$PORT" <<'EOF' || { cat serve.log; exit 1; }
import json, sys, time, urllib.request

base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.monotonic() + 60
while True:
    try:
        page = urllib.request.urlopen(base + "/", timeout=5).read().decode()
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
assert "<html" in page.lower(), page[:200]
assert urllib.request.urlopen(base + "/static/app.js", timeout=5).status == 200
scenarios = json.load(urllib.request.urlopen(base + "/api/scenarios", timeout=5))["scenarios"]
assert {"default", "stress"} <= set(scenarios), scenarios
print(f"wheel-check: serve answered /, /static/app.js and /api/scenarios ({', '.join(scenarios)})")
EOF
say "passed"
