#!/usr/bin/env bash
# Regenerates the settings table of every plugin README from the plugin's own schema: the Markdown
# between "<!-- settings-table NAME -->" and "<!-- /settings-table -->" becomes the output of
# `wva plugins --describe NAME --markdown`. cli_tests (EveryPluginReadmeSettingsTableIsTheGeneratedOne)
# fails when a table is stale.
#   scripts/gen-settings-tables.sh [BUILD_DIR]   (default: build)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-build}"
[[ "$build" = /* ]] || build="$root/$build"
wva="$build/bin/wva"
[[ -x "$wva" ]] || { echo "no $wva: build the wva target first" >&2; exit 1; }
while IFS= read -r readme; do
  name="$(sed -n 's/^<!-- settings-table \(.*\) -->$/\1/p' "$readme" | head -n1)"
  [[ -n "$name" ]] || continue
  table="$(mktemp)"
  "$wva" plugins --plugin-path "$build/plugins" --describe "$name" --markdown >"$table"
  python3 - "$readme" "$name" "$table" <<'PY'
import sys
readme, name, table = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
text = open(readme).read()
start_marker, end_marker = f"<!-- settings-table {name} -->\n", "<!-- /settings-table -->"
start = text.index(start_marker) + len(start_marker)
end = text.index(end_marker, start)
open(readme, "w").write(text[:start] + table + text[end:])
PY
  rm -f "$table"
  echo "$readme: $name"
done < <(find "$root/plugins" -name README.md | sort)
