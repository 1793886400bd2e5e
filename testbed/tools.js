#!/usr/bin/env node
// The testbed's tools, built from Go modules at pinned versions into the user
// cache directory and reused when present:
//   pulumi                      the CLI, at the version of @pulumi/pulumi in package.json
//   pulumi-language-nodejs      the Node.js language host (ours; see tools/language-host/main.go)
//   pulumi-resource-kubernetes  the Kubernetes provider, installed as the plugin @pulumi/kubernetes asks for
//   pulumi-resource-pulumi-nodejs  the dynamic-provider launcher (a shell script, as upstream ships it)
//   promtool, amtool            at the versions the pinned kube-prometheus-stack chart deploys
//   plus the control plane's tools (lib/control-plane-tools.js), when asked for.
//
// `node testbed/tools.js [--quiet] [--only NAME,...] [--all]` builds what is
// missing, reports progress on stderr, and prints `export NAME=value` lines
// on stdout for a shell to eval. Exit 3: Go is missing; exit 1: a build failed.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn, spawnSync } = require("child_process");

const ROOT = path.resolve(__dirname, "..");
const TOOLS_DIR = path.join(__dirname, "tools");

function cacheRoot() {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), ".cache");
    return path.join(base, "candlefish-testbed");
}

function packageVersion(name) {
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8"));
    const v = (pkg.dependencies || {})[name] || (pkg.devDependencies || {})[name];
    if (!v || !/^\d+\.\d+\.\d+$/.test(v)) throw new Error(`package.json must pin ${name} to an exact version (found ${v})`);
    return v;
}

/** The version a go.mod requires a module at. */
function goModRequire(moduleDir, modulePath) {
    const text = fs.readFileSync(path.join(TOOLS_DIR, moduleDir, "go.mod"), "utf8");
    const re = new RegExp(`^\\s*(?:require\\s+)?${modulePath.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}\\s+(\\S+)`, "m");
    const m = re.exec(text);
    if (!m) throw new Error(`testbed/tools/${moduleDir}/go.mod does not require ${modulePath}`);
    return m[1];
}

const log = (msg) => process.stderr.write(`[testbed tools] ${msg}\n`);

function elapsed(t0) {
    const s = Math.round((Date.now() - t0) / 1000);
    return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Runs a command, printing a progress line every 20 s; rejects with its output's tail on failure. */
function run(cmd, args, opts, label) {
    return new Promise((resolve, reject) => {
        const t0 = Date.now();
        const child = spawn(cmd, args, { ...opts, stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        const keep = (d) => { out = (out + d.toString()).slice(-8000); };
        child.stdout.on("data", keep);
        child.stderr.on("data", keep);
        const timer = setInterval(() => log(`${label}: still building, ${elapsed(t0)} so far`), 20000);
        child.on("error", (e) => { clearInterval(timer); reject(e); });
        child.on("close", (code) => {
            clearInterval(timer);
            if (code === 0) resolve(out);
            else reject(new Error(`${label} failed (exit ${code}):\n${out}`));
        });
    });
}

function goEnv() {
    return {
        ...process.env,
        GOFLAGS: "-mod=mod -trimpath",
        CGO_ENABLED: "0",
        GOTOOLCHAIN: process.env.GOTOOLCHAIN || "local",
    };
}

function goModuleDir(moduleDir, modulePath) {
    const r = spawnSync("go", ["list", "-m", "-f", "{{.Dir}}", modulePath], { cwd: path.join(TOOLS_DIR, moduleDir), env: goEnv(), encoding: "utf8" });
    if (r.status !== 0) throw new Error(`go list ${modulePath}: ${r.stderr}`);
    return r.stdout.trim();
}

/** A Go build of one or more binaries from one tools module. */
function goTool(spec) {
    return {
        ...spec,
        async build(dir) {
            if (spec.prepare) await spec.prepare(dir);
            for (const [bin, pkg] of Object.entries(spec.binaries)) {
                await run("go", ["build", "-ldflags", ["-s", "-w", ...(spec.ldflags || [])].join(" "), "-o", path.join(dir, bin), pkg],
                    { cwd: path.join(TOOLS_DIR, spec.module), env: goEnv() }, `${spec.name} ${spec.version}: go build ${bin}`);
            }
        },
    };
}

const PULUMI_VERSION = packageVersion("@pulumi/pulumi");
const K8S_PROVIDER_VERSION = packageVersion("@pulumi/kubernetes");

/** Every tool: name, version (the cache key), the binaries it provides and how to build them. */
function toolSpecs() {
    const pulumiPin = goModRequire("pulumi", "github.com/pulumi/pulumi/pkg/v3");
    if (pulumiPin !== `v${PULUMI_VERSION}`) {
        throw new Error(`testbed/tools/pulumi/go.mod pins pkg/v3 ${pulumiPin}, package.json has @pulumi/pulumi ${PULUMI_VERSION}: keep them equal`);
    }
    const providerRev = goModRequire("kubernetes-provider", "github.com/pulumi/pulumi-kubernetes/provider/v4");
    const tools = [
        goTool({
            name: "pulumi", version: PULUMI_VERSION, module: "pulumi",
            binaries: { pulumi: "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi" },
            ldflags: [`-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}`],
        }),
        goTool({
            name: "pulumi-language-nodejs", version: `${PULUMI_VERSION}-candlefish.1`, module: "language-host",
            binaries: { "pulumi-language-nodejs": "." },
            ldflags: [`-X main.version=${PULUMI_VERSION}-candlefish.1`],
        }),
        goTool({
            // Keyed by the provider revision too: the same label from another source is another build.
            name: "pulumi-resource-kubernetes", version: `${K8S_PROVIDER_VERSION}+${providerRev.split("-").pop()}`, module: "kubernetes-provider",
            binaries: { "pulumi-resource-kubernetes": "." },
            ldflags: [`-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${K8S_PROVIDER_VERSION}`],
            async prepare() {
                // Upstream's generate.go: the schema with its version set, and the terraform mapping, compacted.
                const src = path.join(goModuleDir("kubernetes-provider", "github.com/pulumi/pulumi-kubernetes/provider/v4"), "cmd", "pulumi-resource-kubernetes");
                const schema = JSON.parse(fs.readFileSync(path.join(src, "schema.json"), "utf8"));
                schema.version = K8S_PROVIDER_VERSION;
                const mod = path.join(TOOLS_DIR, "kubernetes-provider");
                fs.writeFileSync(path.join(mod, "schema-embed.json"), JSON.stringify(schema));
                fs.writeFileSync(path.join(mod, "terraform-mapping-embed.json"),
                    JSON.stringify(JSON.parse(fs.readFileSync(path.join(src, "terraform-mapping.json"), "utf8"))));
            },
        }),
        {
            // The same three lines upstream ships as sdk/nodejs/dist/pulumi-resource-pulumi-nodejs.
            name: "pulumi-resource-pulumi-nodejs", version: "1", binaries: { "pulumi-resource-pulumi-nodejs": null },
            async build(dir) {
                const f = path.join(dir, "pulumi-resource-pulumi-nodejs");
                fs.writeFileSync(f, [
                    "#!/bin/sh",
                    "# Serves dynamic providers: runs the SDK's own entry point from the program's node_modules.",
                    "script=$(node -e \"console.log(require.resolve('@pulumi/pulumi/cmd/dynamic-provider'))\")",
                    "[ -n \"$script\" ] && exec node \"$script\" \"$@\"",
                    "",
                ].join("\n"));
                fs.chmodSync(f, 0o755);
            },
        },
        goTool({
            // recipe 2: `promtool --version` names the version (the upstream release stamps it the same way).
            name: "promtool", version: goModRequire("prometheus", "github.com/prometheus/prometheus").replace(/^v0\./, "2."), module: "prometheus", recipe: 2,
            binaries: { promtool: "github.com/prometheus/prometheus/cmd/promtool" },
            ldflags: [`-X github.com/prometheus/common/version.Version=${goModRequire("prometheus", "github.com/prometheus/prometheus").replace(/^v0\./, "2.")}`],
        }),
        goTool({
            name: "amtool", version: goModRequire("alertmanager", "github.com/prometheus/alertmanager").replace(/^v/, ""), module: "alertmanager", recipe: 2,
            binaries: { amtool: "github.com/prometheus/alertmanager/cmd/amtool" },
            ldflags: [`-X github.com/prometheus/common/version.Version=${goModRequire("alertmanager", "github.com/prometheus/alertmanager").replace(/^v/, "")}`],
        }),
    ];
    let controlPlane = [];
    const cpFile = path.join(__dirname, "lib", "control-plane-tools.js");
    if (fs.existsSync(cpFile)) controlPlane = require(cpFile).controlPlaneTools({ goTool, goModRequire, run, TOOLS_DIR });
    return { tools, controlPlane };
}

function toolDir(tool) {
    return path.join(cacheRoot(), `${tool.name}-${tool.version}`);
}

/** Built, with every binary, by the tool's current recipe (a spec's `recipe` bumps when its build changes, not its version). */
function isBuilt(tool) {
    const dir = toolDir(tool);
    const record = path.join(dir, "build.json");
    if (!fs.existsSync(record) || !Object.keys(tool.binaries).every((b) => fs.existsSync(path.join(dir, b)))) return false;
    return (JSON.parse(fs.readFileSync(record, "utf8")).recipe || 1) === (tool.recipe || 1);
}

function dirBytes(dir) {
    return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

async function ensure(tool) {
    const dir = toolDir(tool);
    if (isBuilt(tool)) return { tool, dir, built: false, record: JSON.parse(fs.readFileSync(path.join(dir, "build.json"), "utf8")) };
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { recursive: true });
    const t0 = Date.now();
    log(`building ${tool.name} ${tool.version} (first time on this machine: minutes, then cached in ${cacheRoot()})`);
    await tool.build(tmp);
    const record = { name: tool.name, version: tool.version, recipe: tool.recipe || 1, seconds: Math.round((Date.now() - t0) / 1000), bytes: dirBytes(tmp), builtAt: new Date().toISOString(), go: goVersion() };
    fs.writeFileSync(path.join(tmp, "build.json"), JSON.stringify(record, null, 2) + "\n");
    fs.rmSync(dir, { recursive: true, force: true });
    fs.renameSync(tmp, dir);
    log(`built ${tool.name} ${tool.version} in ${elapsed(t0)} (${(record.bytes / 1048576).toFixed(0)} MiB)`);
    return { tool, dir, built: true, record };
}

function goVersion() {
    const r = spawnSync("go", ["env", "GOVERSION"], { encoding: "utf8" });
    return r.status === 0 ? r.stdout.trim() : null;
}

/** The bin directory that holds a link to every tool binary, first on PATH. */
function linkBin(results) {
    const bin = path.join(cacheRoot(), "bin");
    fs.mkdirSync(bin, { recursive: true });
    for (const { tool, dir } of results) {
        for (const b of Object.keys(tool.binaries)) {
            const link = path.join(bin, b);
            fs.rmSync(link, { force: true });
            fs.symlinkSync(path.join(dir, b), link);
        }
    }
    return bin;
}

/** PULUMI_HOME for the testbed, with the Kubernetes provider installed as the plugin version the SDK requests. */
function pulumiHome(bin, providerDir) {
    const home = path.join(cacheRoot(), "pulumi-home");
    const pluginDir = path.join(home, "plugins", `resource-kubernetes-v${K8S_PROVIDER_VERSION}`);
    const target = path.join(providerDir, "pulumi-resource-kubernetes");
    const marker = path.join(pluginDir, ".installed-from");
    if (!fs.existsSync(marker) || fs.readFileSync(marker, "utf8") !== target) {
        const r = spawnSync(path.join(bin, "pulumi"), ["plugin", "install", "resource", "kubernetes", K8S_PROVIDER_VERSION, "--file", target, "--reinstall"],
            { env: { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true" }, encoding: "utf8" });
        if (r.status !== 0) throw new Error(`pulumi plugin install resource kubernetes ${K8S_PROVIDER_VERSION}: ${r.stderr || r.stdout}`);
        fs.writeFileSync(marker, target);
    }
    return home;
}

function exportsFor(bin, home) {
    return {
        PATH: `${bin}:${process.env.PATH}`,
        PULUMI_HOME: home,
        PULUMI_SKIP_UPDATE_CHECK: "true",
        // No telemetry or update checks: the testbed has no network.
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    };
}

const shellQuote = (v) => `'${String(v).replace(/'/g, "'\\''")}'`;

/** Builds what is missing; returns { env, results }. */
async function ensureTools({ only, all } = {}) {
    const { tools, controlPlane } = toolSpecs();
    let wanted = all ? [...tools, ...controlPlane] : tools;
    if (only) wanted = [...tools, ...controlPlane].filter((t) => only.includes(t.name));
    // Go is needed only to build: a warm cache serves without it.
    const missing = wanted.filter((t) => !isBuilt(t));
    if (missing.length > 0 && spawnSync("go", ["version"], { encoding: "utf8" }).status !== 0) {
        const e = new Error(
            `Go is not installed: the testbed's tools are built from Go modules (Go >= 1.25.11, with the Go module proxy reachable), ` +
                `and ${missing.map((t) => `${t.name} ${t.version}`).join(", ")} ${missing.length === 1 ? "is" : "are"} not built yet. ` +
                "Install Go, then run `npm run testbed -- tools`.",
        );
        e.exitCode = 3;
        throw e;
    }
    const results = [];
    for (const t of wanted) results.push(await ensure(t));
    const bin = linkBin(results);
    const provider = results.find((r) => r.tool.name === "pulumi-resource-kubernetes");
    const home = provider && results.some((r) => r.tool.name === "pulumi") ? pulumiHome(bin, provider.dir) : path.join(cacheRoot(), "pulumi-home");
    return { env: exportsFor(bin, home), results, bin };
}

module.exports = { ensureTools, cacheRoot, toolSpecs, shellQuote, PULUMI_VERSION, K8S_PROVIDER_VERSION };

if (require.main === module) {
    const argv = process.argv.slice(2);
    const opt = { all: argv.includes("--all") };
    const i = argv.indexOf("--only");
    if (i >= 0) opt.only = (argv[i + 1] || "").split(",");
    const t0 = Date.now();
    ensureTools(opt).then(({ env, results }) => {
        for (const r of results) log(`${r.tool.name} ${r.tool.version}: ${r.built ? "built" : "cached"} (${r.dir})`);
        log(`ready in ${elapsed(t0)}`);
        for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${shellQuote(v)}\n`);
    }).catch((e) => {
        process.stderr.write(`[testbed tools] ${e.message}\n`);
        process.exit(e.exitCode || 1);
    });
}
