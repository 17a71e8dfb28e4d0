#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# check-readme-files.sh: the README's source walk names every file of the
# tree (service/, include/, sql/, migrations/, tests/ but the fuzz corpus),
# and names no file that is not there. Run by `make check` (doccheck).
set -euo pipefail
cd "$(dirname "$0")/../.."
status=0
while IFS= read -r f; do
    grep -qF -- "\`$f\`" README.md || { echo "README names no $f"; status=1; }
done < <(git ls-files service include sql migrations tests | grep -v '^tests/fuzz/corpus/')
# Paths the README names in backquotes that do not exist (a renamed file left behind).
while IFS= read -r f; do
    [ -e "$f" ] || { echo "README names $f, which is not in the tree"; status=1; }
done < <(grep -o '`\(service\|include\|sql\|migrations\|tests\)/[A-Za-z0-9_./-]*`' README.md |
         tr -d '`' | grep -v '[*<>]' | sort -u)
[ $status -eq 0 ] && echo "doccheck: the README names every file of the tree"
exit $status
