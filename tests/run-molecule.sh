#!/usr/bin/env bash
# Run Molecule scenarios one after the other (all of them when none is named). A scenario whose
# verifier found no tests fails here: Molecule itself would only log "no tests found" and pass.
set -euo pipefail
cd "$(dirname "$0")/.."
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for d in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$d")")
    [ "$s" = shared ] || scenarios+=("$s")
  done
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for s in "${scenarios[@]}"; do
  echo "=== molecule test -s $s"
  start=$SECONDS
  molecule test -s "$s" 2>&1 | tee "$log"
  echo "=== scenario $s took $((SECONDS - start)) s"
  if grep -qiE 'no tests found|no tests ran' "$log" || ! grep -qE '[0-9]+ passed' "$log"; then
    echo "ERROR: scenario $s ran no verifier tests" >&2
    exit 1
  fi
done
echo "=== ${#scenarios[@]} scenarios passed: ${scenarios[*]}"
