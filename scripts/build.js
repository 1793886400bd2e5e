#!/usr/bin/env node
// Transpile-only build: every .ts source to dist/ as CommonJS, with source
// maps, in well under a second. Type-checking is `tsc --noEmit`, run once by
// `npm test`, never on the plan's hot path. Rebuilds only when a source is
// newer than the last build.
"use strict";
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..");
const OUT = path.join(ROOT, "dist");
const STAMP = path.join(OUT, ".build-stamp");
const SOURCES = ["index.ts", "config", "platforms", "components", "policies", "plan", "switch", "test", "bench"];

function walk(rel, files) {
    const abs = path.join(ROOT, rel);
    if (!fs.existsSync(abs)) return files;
    const st = fs.statSync(abs);
    if (st.isDirectory()) {
        for (const e of fs.readdirSync(abs)) walk(path.join(rel, e), files);
    } else if (rel.endsWith(".ts") && !rel.endsWith(".d.ts")) {
        files.push({ rel, mtime: st.mtimeMs });
    }
    return files;
}

function walkOut(dir, out = []) {
    if (!fs.existsSync(dir)) return out;
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) walkOut(p, out);
        else if (p.endsWith(".js")) out.push(p);
    }
    return out;
}

function sources() {
    return SOURCES.flatMap((s) => walk(s, []));
}

function isStale(files) {
    if (!fs.existsSync(STAMP)) return true;
    const stamp = fs.readFileSync(STAMP, "utf8");
    const list = files.map((f) => f.rel).sort().join("\n");
    if (stamp !== list) return true; // a file was added or removed
    const built = fs.statSync(STAMP).mtimeMs;
    return files.some((f) => f.mtime > built);
}

function build({ force = false } = {}) {
    const files = sources();
    if (!force && !isStale(files)) return false;
    const esbuild = require("esbuild");
    // No wholesale delete: another process may be running from dist/. Outputs
    // whose source is gone are removed one by one below.
    const expected = new Set(files.map((f) => path.join(OUT, f.rel.replace(/\.ts$/, ".js"))));
    for (const old of walkOut(OUT)) if (!expected.has(old)) fs.rmSync(old, { force: true });
    for (const f of files) {
        const src = fs.readFileSync(path.join(ROOT, f.rel), "utf8");
        const out = esbuild.transformSync(src, {
            loader: "ts",
            format: "cjs",
            target: "node20",
            sourcemap: "inline",
            sourcefile: path.join(ROOT, f.rel),
        });
        const dest = path.join(OUT, f.rel.replace(/\.ts$/, ".js"));
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        const tmp = `${dest}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, out.code);
        fs.renameSync(tmp, dest); // atomic: a concurrent reader never sees half a file
    }
    fs.writeFileSync(STAMP, files.map((f) => f.rel).sort().join("\n"));
    return true;
}

module.exports = { build, ROOT, OUT };

if (require.main === module) {
    const t0 = process.hrtime.bigint();
    const built = build({ force: process.argv.includes("--force") });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    process.stderr.write(built ? `build: transpiled to dist/ in ${ms.toFixed(0)} ms\n` : "build: dist/ is up to date\n");
}
