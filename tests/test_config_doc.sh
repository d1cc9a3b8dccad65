#!/bin/sh
# doc/config.md must list every key of common/tg_config_keys.def as it is now.
top=${TG_TOP_SRCDIR:-$(dirname "$0")/..}
cd "$top" || exit 99
command -v python3 >/dev/null || { echo "SKIP: python3 is not installed"; exit 77; }
if ! ./scripts/gen-config-doc common/tg_config_keys.def doc/config.intro.md | diff -u doc/config.md -; then
	echo "FAIL: doc/config.md is stale: run scripts/gen-config-doc > doc/config.md"
	exit 1
fi
echo "PASS: doc/config.md lists every config key"
