# Sourced by scripts/serve and scripts/test: makes .venv with Python ≥ 3.11 and installs the
# project into it (again only when pyproject.toml changed). Extras: $1 (e.g. "test").
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
stamp=".venv/.cunzhan-installed-${extras:-base}"
wanted="$(sha256sum pyproject.toml | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "• installing dependencies${extras:+ ($extras)}"
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$target" \
      > .venv/pip-install.log 2>&1; then
    cat .venv/pip-install.log >&2
    exit 1
  fi
  echo "$wanted" > "$stamp"
fi
