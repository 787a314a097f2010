#!/usr/bin/env bash
# Make (once) an isolated virtual environment with the pinned checkov and print the path of its executable.
# Isolated because checkov 3.3.30 pins packaging<24, which conflicts with pytest in the project's .venv.
# Re-creates the environment when infra/requirements-checkov.txt changes. Usage: infra/scripts/ensure-checkov.sh
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
requirements="$repo_root/infra/requirements-checkov.txt"
tool_dir="${GREENLIGHT_CHECKOV_VENV:-$repo_root/.local/tools/checkov}"
stamp="$tool_dir/.installed"
python="${PYTHON:-python3}"

wanted="$(sha256sum "$requirements" | cut -d' ' -f1)"
mkdir -p "$(dirname "$tool_dir")"
# Several test runs may start at once on a shared machine: one installs, the others wait and reuse it.
exec 9>"$tool_dir.lock"
flock 9
if [[ -x "$tool_dir/bin/checkov" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
  echo "$tool_dir/bin/checkov"
  exit 0
fi

rm -rf "$tool_dir"
"$python" -m venv "$tool_dir" >&2
# pip's output goes to stderr so that stdout carries only the path.
"$tool_dir/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements" >&2
echo "$wanted" > "$stamp"
echo "$tool_dir/bin/checkov"
