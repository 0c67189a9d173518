# Sourced by scripts/serve and scripts/test: makes .venv with Python ≥ 3.11 and installs the
# locked dependencies into it (again only when the lock or pyproject.toml changed), then the
# project itself. Extras: $1 ("test" installs requirements/test.lock, else requirements/app.lock;
# scripts/lock regenerates both from pyproject.toml).
set -euo pipefail
extras="${1:-}"
find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "Cunzhan needs Python 3.11 or newer; none found on PATH." >&2
  return 1
}
if [ ! -x .venv/bin/python ]; then
  echo "• creating .venv"
  "$(find_python)" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
lock="requirements/${extras:-app}.lock"
stamp=".venv/.cunzhan-installed-${extras:-base}"
wanted="$(cat pyproject.toml "$lock" | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "• installing dependencies from $lock (hashes checked)"
  # pip runs in the background; its log is counted so the first start is never silent.
  (.venv/bin/python -m pip install --disable-pip-version-check --progress-bar off \
      --require-hashes --no-deps -r "$lock" &&
   .venv/bin/python -m pip install --disable-pip-version-check --no-deps -e .) \
      > .venv/pip-install.log 2>&1 &
  pip_pid=$!
  started=$SECONDS
  while kill -0 "$pip_pid" 2>/dev/null; do
    fetched=$(grep -c '^Collecting\|^Requirement already' .venv/pip-install.log 2>/dev/null || true)
    if [ -t 1 ]; then
      printf '\r  %3ds  %3d packages' "$((SECONDS - started))" "${fetched:-0}"
    elif [ $(((SECONDS - started) % 10)) = 0 ]; then
      echo "  ${SECONDS}s: ${fetched:-0} packages"
    fi
    sleep 1
  done
  if ! wait "$pip_pid"; then
    printf '\n'
    cat .venv/pip-install.log >&2
    exit 1
  fi
  printf '\r  ✓ dependencies installed in %ds%-30s\n' "$((SECONDS - started))" ""
  echo "$wanted" > "$stamp"
fi
