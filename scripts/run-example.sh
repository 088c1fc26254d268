#!/usr/bin/env bash
# The example run on the embedded default (SQLite in $JIKIMI_HOME, default ~/.jikimi):
# benign synthetic media, a bank holding one of them, a scan that finds its copies, and a
# Telegram Desktop export in which the same picture was posted, forwarded and sent via a bot;
# then the first case exported as an evidence package and verified.
set -uo pipefail
cd "$(dirname "$0")/.."
jikimi=.venv/bin/jikimi
samples="${SAMPLES:-$(mktemp -d)/samples}"
.venv/bin/python scripts/make_samples.py "$samples" >/dev/null
$jikimi init
$jikimi bank show example-known >/dev/null 2>&1 || $jikimi bank create example-known
$jikimi bank add example-known "$samples/known.jpg" --note "benign stand-in for a known image"
$jikimi scan "$samples"
code=$?
echo "scan exit code $code (0 clean, 3 some files failed, 4 known-abuse match, 5 both)"
$jikimi scan "$(dirname "$samples")/telegram-export"
code=$?
echo "export scan exit code $code (each message an item; 4: the known picture is in it)"
$jikimi custody verify
# The first case as an evidence package, checked offline as a court would (no time-stamp
# authority is configured here, so the package says it is not time-stamped).
package="$(dirname "$samples")/case-1-evidence.zip"
$jikimi evidence export 1 --out "$package"
$jikimi evidence verify "$package" --allow-unstamped
