#!/usr/bin/env node
// `npm run scan-check`: the image-scan gate deploy.yml runs before `pulumi up`
// (switch/scan-check.ts, docs/SWITCH.md "Image scans"). Transpiles to dist/
// only when a source changed, then runs dist/switch/scan-check.js in this same
// process.
"use strict";
const path = require("path");
const { build, OUT } = require("./build");

try {
    if (build()) process.stderr.write("scan-check: sources changed; rebuilt dist/\n");
} catch (e) {
    process.stderr.write(`scan-check: build failed: ${e && e.message ? e.message : e}\n`);
    process.exit(3);
}
require(path.join(OUT, "switch", "scan-check.js")).run(process.argv.slice(2));
