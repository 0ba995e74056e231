#!/usr/bin/env bash
# Takes the README's screenshots (docs/screenshots/*.png) with Playwright against a
# release build: run after a change to how the page looks.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. scripts/setup.sh
# Fonts for the pictures: Korean and colour emoji (the tests do not need them).
apt_install fonts-noto-cjk fonts-noto-color-emoji
scripts/release.sh
cd end2end && npx tsc -p . && npx playwright test --config screenshots.config.ts
