#!/usr/bin/env bash
# Every C++ source is laid out as .clang-format says (Google base, 120
# columns). Fix with: clang-format -i FILE...
set -euo pipefail
ROOT=$1
cd "$ROOT"
mapfile -t files < <(find common ledger orderer peer-sim tools tests fuzz -name '*.cc' -o -name '*.h' | sort)
((${#files[@]} > 100)) || { echo "format_check: found only ${#files[@]} sources under $ROOT" >&2; exit 1; }
if ! clang-format --dry-run --Werror "${files[@]}"; then
  echo "format_check: run clang-format -i on the files above" >&2
  exit 1
fi
echo "format_check: ${#files[@]} files laid out as .clang-format says"
