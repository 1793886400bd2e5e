// npm run switch: the sequencing and its decisions (switch/core.ts), driven
// with a fake workspace (a real stack file, the real atomic writer, an `up`
// that moves a fake cluster) and a fake Prometheus, a real HTTP server on
// 127.0.0.1 queried by the switch's own client. Each case checks the ordered
// log (set -> up -> bake -> [set back -> up] -> result), the exit code, what
// the stack file and the cluster end with, and what was printed.
import { strict as assert } from "assert";
import * as fs from "fs";
import { EXIT, JournalEntry, SwitchOptions, runSwitch } from "../switch/core";
import { StackFile, effectiveColors } from "../switch/stackfile";
import { Rig, failingFs, healthy, rig, teardown } from "./switch-fakes";

const SERVICES = ["candlefish-website", "rtpm-api", "nanda-api", "otter-gateway"];
const opts = (o: Partial<SwitchOptions> = {}): SwitchOptions => ({
    stack: "production",
    to: "green",
    services: [],
    bakeSeconds: 60,
    dryRun: false,
    keepOnInterrupt: false,
    namespace: "production",
    ...o,
});

/** The journal as the steps the issue names, in order. */
const steps = (j: readonly JournalEntry[]) =>
    j.filter((e) => ["set", "up", "bake", "breach", "set-back", "interrupt", "reconcile", "result"].includes(e.step)).map((e) => `${e.step}${e.step === "bake" && /^\d+s$/.test(e.detail) ? "" : ` ${e.detail}`}`);

const liveOf = (r: Rig) => ({ ...r.cluster.live });
const fileColors = (r: Rig) => effectiveColors(new StackFile(r.dir, "production").read());
const all = (c: string) => Object.fromEntries(SERVICES.map((s) => [s, c]));
const noTempFiles = (r: Rig) => assert.deepEqual(fs.readdirSync(r.dir).filter((f) => f.endsWith(".tmp")), [], "no temp file left behind");

describe("switch: sequencing against a fake workspace and a fake Prometheus on loopback", function () {
    this.timeout(30000);
    let r: Rig | undefined;
    afterEach(async () => {
        await teardown(r);
        r = undefined;
    });

    it("healthy switch: set -> up -> bake -> switched, exit 0; the stack file and the cluster say green", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "bake healthy", "result switched"]);
        assert.equal(res.code, EXIT.ok);
        assert.equal(res.outcome, "switched");
        assert.deepEqual(liveOf(r), all("green"));
        assert.deepEqual(fileColors(r), all("green"));
        // Only the one line changed; every comment is still there.
        const now = fs.readFileSync(r.file, "utf8");
        assert.equal(now, r.original.replace("candlefish-maturity-map:activeColor: blue", "candlefish-maturity-map:activeColor: green"));
        noTempFiles(r);
        // The one-line summary: what moved and how long each phase took.
        assert.match(res.summary, /^switch production: candlefish-website, rtpm-api, nanda-api, otter-gateway blue -> green; set \d\.\ds, up 30s, bake 1m; green is live and the stack file says so$/);
        // The bake polled every 5 s for 60 s: 13 polls, each a status line with the phase, elapsed time and values.
        const bakeLines = r.out.statuses.filter((l) => / bake /.test(l));
        assert.equal(bakeLines.length, 13);
        assert.match(bakeLines[0], /^\[switch 30s\] bake green 0s\/1m: candlefish-website: errors 0\.5%, p95 0\.3s, 20 req\/s, endpoints 2\/2; rtpm-api: /);
        assert.match(bakeLines[12], /^\[switch 1m30s\] bake green 1m\/1m: /);
        // Every query of the bake named the new color.
        const bakeQueries = r.prom.queries.filter((q) => q.query !== "vector(1)");
        assert.equal(bakeQueries.length, 13 * 4 * 3);
        for (const q of bakeQueries) assert.match(q.query, /version="green"/);
        assert.equal(r.workspace.ups, 1);
        // Pulumi's output, indented; while it is quiet, a status line every 5 s.
        assert.ok(r.out.lines.includes("    Updating (staging):"));
        assert.deepEqual(r.out.statuses.filter((l) => / up \(switch\) /.test(l)), [5, 10, 15, 20, 25, 30].map((t) => `[switch ${t}s] up (switch) ${t}s; last: Updating (staging):`));
        assert.deepEqual(r.annotations, [
            "switch production: candlefish-website, rtpm-api, nanda-api, otter-gateway blue -> green",
            "switch production done: candlefish-website, rtpm-api, nanda-api, otter-gateway blue -> green",
        ]);
    });

    it("error-ratio breach: set -> up -> bake -> breach -> set back -> up -> rolled back, exit 1; prints the query, value and threshold", async () => {
        r = await rig({
            stack: "production",
            script: (q) => (q.kind === "errors" && q.app === "rtpm-api" && q.version === "green" && q.t >= 50_000 ? 0.072 : healthy(q)),
        });
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), [
            "set activeColor=green",
            "up switch",
            "bake",
            "breach rtpm-api error ratio (HighErrorRate) 7.2% > 5%",
            "bake breach",
            "set-back activeColor=blue",
            "up rollback",
            "result rolled-back",
        ]);
        assert.equal(res.code, EXIT.rolledBack);
        assert.deepEqual(liveOf(r), all("blue"));
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original, "the stack file is back to exactly what it was");
        const printed = r.out.text;
        assert.match(printed, /BREACH rtpm-api: error ratio \(HighErrorRate\) is 7\.2%, threshold > 5%/);
        assert.match(
            printed,
            /query: sum by \(namespace, app\) \(rate\(http_requests_total\{namespace="production", app=~"rtpm-api", version="green", code=~"5\.\."\}\[5m\]\)\) \/ sum by \(namespace, app\) \(rate\(http_requests_total\{namespace="production", app=~"rtpm-api", version="green"\}\[5m\]\)\) > 0\.05/,
        );
        assert.match(res.summary, /ROLLED BACK \(rtpm-api error ratio \(HighErrorRate\) 7\.2% > 5%\); set \d\.\ds, up 30s, bake 20s, set back \d\.\ds, up \(rollback\) 30s; blue is live/);
        assert.match(r.workspace.upMessages[1], /^roll back .* to blue: rtpm-api error ratio/);
        assert.equal(r.annotations.length, 2);
        assert.match(r.annotations[1], /^rollback production: .* back to blue/);
    });

    it("latency breach: P95 over 2 s rolls back", async () => {
        r = await rig({ stack: "production", script: (q) => (q.kind === "p95" && q.app === "nanda-api" && q.version === "green" && q.t >= 40_000 ? 2.4 : healthy(q)) });
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "breach nanda-api P95 latency (HighLatencyP95) 2.4s > 2s", "bake breach", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.equal(res.code, EXIT.rolledBack);
        assert.match(r.out.text, /query: histogram_quantile\(0\.95, sum by \(namespace, app, le\) \(rate\(http_request_duration_seconds_bucket\{namespace="production", app=~"nanda-api", version="green"\}\[5m\]\)\)\) > 2/);
        assert.deepEqual(liveOf(r), all("blue"));
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
    });

    it("exactly at the threshold is not a breach (the rule's `>`)", async () => {
        r = await rig({ stack: "production", script: (q) => (q.kind === "errors" ? 0.05 : q.kind === "p95" ? 2 : healthy(q)) });
        const res = await runSwitch(opts({ bakeSeconds: 20 }), r.deps);
        assert.equal(res.outcome, "switched");
    });

    it("lost endpoint: one of the new color's two ready endpoints goes away -> rolls back", async () => {
        r = await rig({ stack: "production" });
        const cluster = r.cluster;
        cluster.endpoints = (svc, color, t) => (cluster.live[svc] !== color ? 0 : svc === "otter-gateway" && t >= 45_000 ? 1 : 2);
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "breach otter-gateway ready endpoints 1 < 2 (the count when the bake started)", "bake breach", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.equal(res.code, EXIT.rolledBack);
        assert.deepEqual(liveOf(r), all("blue"));
    });

    it("Prometheus down before the switch: refuses, nothing changed (no write, no up), exit 2", async () => {
        r = await rig({ stack: "production" });
        await r.prom.stop();
        const before = fs.statSync(r.file).mtimeMs;
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["result refused"]);
        assert.equal(res.code, EXIT.unchanged);
        assert.match(res.summary, /refused before the switch \(Prometheus is unreachable \(http:\/\/127\.0\.0\.1:\d+\): .*ECONNREFUSED.*\); nothing changed/);
        assert.equal(r.workspace.ups, 0);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
        assert.equal(fs.statSync(r.file).mtimeMs, before);
    });

    it("Prometheus down during the bake: 3 failed polls in a row roll back (fail closed)", async () => {
        r = await rig({ stack: "production" });
        r.prom.down = (t) => t >= 45_000;
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "bake blind", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.match(res.summary, /cannot watch the new color: 3 polls in a row failed \(Prometheus: HTTP 503/);
        assert.equal((r.out.text.match(/poll failed \(\d of 3 in a row allowed\)/g) ?? []).length, 3);
        assert.deepEqual(liveOf(r), all("blue"));
    });

    it("one failed poll is tolerated when the next one answers", async () => {
        r = await rig({ stack: "production" });
        r.prom.down = (t) => t >= 45_000 && t < 50_000;
        const res = await runSwitch(opts(), r.deps);
        assert.equal(res.outcome, "switched");
        assert.match(r.out.text, /poll failed \(1 of 3 in a row allowed\): Prometheus: HTTP 503/);
    });

    it("no data for the new color by the end of the bake: rolls back (its health is unknown)", async () => {
        r = await rig({ stack: "production", script: (q) => (q.kind !== "vector" && q.app === "rtpm-api" && q.version === "green" ? undefined : healthy(q)) });
        const res = await runSwitch(opts({ bakeSeconds: 30 }), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "bake blind", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.match(res.summary, /no data for rtpm-api version="green" during the 30s bake/);
        assert.equal(res.code, EXIT.rolledBack);
    });

    it("traffic without any 5xx series counts as a 0% error ratio, not as no data", async () => {
        r = await rig({ stack: "production", script: (q) => (q.kind === "errors" ? undefined : healthy(q)) });
        const res = await runSwitch(opts({ bakeSeconds: 10 }), r.deps);
        assert.equal(res.outcome, "switched");
        assert.match(r.out.statuses.at(-1)!, /rtpm-api: errors 0%, p95 0\.3s/);
    });

    it("Ctrl-C during the bake rolls back (exit 130)", async () => {
        r = await rig({ stack: "production" });
        r.clock.at(52_000, () => r!.interrupts.fire());
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "interrupt bake", "bake interrupt", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.equal(res.code, EXIT.interrupted);
        assert.deepEqual(liveOf(r), all("blue"));
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
        assert.match(r.out.text, /interrupt: rolling back\. Press Ctrl-C again to exit at once\./);
    });

    it("--keep-on-interrupt: Ctrl-C during the bake keeps the new color (exit 130), the file says green", async () => {
        r = await rig({ stack: "production" });
        r.clock.at(52_000, () => r!.interrupts.fire());
        const res = await runSwitch(opts({ keepOnInterrupt: true }), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "bake", "interrupt bake", "bake interrupt", "result kept"]);
        assert.equal(res.code, EXIT.interrupted);
        assert.deepEqual(liveOf(r), all("green"));
        assert.deepEqual(fileColors(r), all("green"));
        assert.match(res.summary, /bake interrupted, kept \(--keep-on-interrupt\)/);
    });

    it("Ctrl-C during the switch's up: the up finishes, then it rolls back", async () => {
        r = await rig({ stack: "production" });
        r.clock.at(10_000, () => r!.interrupts.fire());
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "interrupt switching", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.equal(r.workspace.lastSignal?.aborted, false, "the first Ctrl-C never cancels the up in flight");
        assert.equal(res.code, EXIT.interrupted);
        assert.deepEqual(liveOf(r), all("blue"));
    });

    it("a second Ctrl-C exits at once (exitNow(130)) and sends the up in flight its SIGINT", async () => {
        let release: () => void = () => undefined;
        const held = new Promise<void>((res) => (release = res));
        r = await rig({ stack: "production", up: { hold: (n) => (n === 2 ? held : undefined) } });
        r.clock.at(52_000, () => r!.interrupts.fire());
        const running = runSwitch(opts(), r.deps);
        // Wait for the rollback's up to start, then press Ctrl-C again.
        for (let i = 0; i < 500 && r.workspace.ups < 2; i++) await new Promise((res) => setTimeout(res, 5));
        assert.equal(r.workspace.ups, 2);
        r.interrupts.fire();
        assert.deepEqual(r.exits, [EXIT.interrupted]);
        assert.equal(r.workspace.lastSignal?.aborted, true);
        assert.match(r.out.text, /second interrupt: exiting now\. Pulumi\.production\.yaml says blue for candlefish-website, rtpm-api, nanda-api, otter-gateway/);
        // The file was written atomically before the up: it says blue whole, never half.
        assert.deepEqual(fileColors(r), all("blue"));
        release();
        await running;
    });

    it("stack-file write failure on the switch: nothing deployed, file untouched, no temp file, exit 2", async () => {
        r = await rig({ stack: "production", wfs: failingFs((n) => n === 1) });
        const res = await runSwitch(opts(), r.deps);
        assert.equal(steps(res.journal).length, 2);
        assert.equal(steps(res.journal)[1], "result refused");
        assert.match(steps(res.journal)[0], /^set failed: EIO: i\/o error, rename '.*\.Pulumi\.production\.yaml\.\d+\.\w+\.tmp' -> '.*Pulumi\.production\.yaml'$/);
        assert.equal(res.code, EXIT.unchanged);
        assert.equal(r.workspace.ups, 0);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
        assert.deepEqual(liveOf(r), all("blue"));
        noTempFiles(r);
    });

    it("stack-file write failure on the set back: no rollback up; file and cluster both still say green; exit 4", async () => {
        r = await rig({ stack: "production", wfs: failingFs((n) => n === 2), script: (q) => (q.kind === "errors" && q.version === "green" && q.t >= 40_000 ? 0.2 : healthy(q)) });
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal).map((s) => s.replace(/: EIO.*/, "")), [
            "set activeColor=green",
            "up switch",
            "bake",
            ...SERVICES.map((s) => `breach ${s} error ratio (HighErrorRate) 20% > 5%`),
            "bake breach",
            "set-back failed",
            "result rollback-failed",
        ]);
        assert.equal(res.code, EXIT.rollbackFailed);
        assert.equal(r.workspace.ups, 1);
        assert.deepEqual(liveOf(r), all("green"));
        assert.deepEqual(fileColors(r), all("green"));
        assert.match(res.summary, /the rollback could not write the stack file .*; green is still live and the file says so/);
        noTempFiles(r);
    });

    it("the switch's up fails (e.g. the promotion gate): set back -> up -> exit 1", async () => {
        r = await rig({ stack: "production", up: { fail: (n) => (n === 1 ? "promotion gate: rtpm-api cannot go green (not ready within 180s)" : undefined) } });
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "set-back activeColor=blue", "up rollback", "result rolled-back"]);
        assert.equal(res.code, EXIT.rolledBack);
        assert.match(res.summary, /ROLLED BACK \(the switch's pulumi up failed: .*promotion gate: rtpm-api cannot go green/);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
    });

    it("the rollback's up fails too: the stack file is rewritten to what the Services select, exit 4", async () => {
        r = await rig({
            stack: "production",
            script: (q) => (q.kind === "p95" && q.app === "rtpm-api" && q.version === "green" ? 3 : healthy(q)),
            // The rollback's up fails after moving only two Services back.
            up: { fail: (n) => (n === 2 ? "timeout" : undefined), leaves: () => ({ "candlefish-website": "blue", "rtpm-api": "blue" }) },
        });
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), [
            "set activeColor=green",
            "up switch",
            "bake",
            "breach rtpm-api P95 latency (HighLatencyP95) 3s > 2s",
            "bake breach",
            "set-back activeColor=blue",
            "up rollback",
            "reconcile services.nanda-api.activeColor=green, services.otter-gateway.activeColor=green",
            "result rollback-failed",
        ]);
        assert.equal(res.code, EXIT.rollbackFailed);
        const live = liveOf(r);
        assert.deepEqual(live, { "candlefish-website": "blue", "rtpm-api": "blue", "nanda-api": "green", "otter-gateway": "green" });
        assert.deepEqual(fileColors(r), live, "the stack file says what the Services select");
    });

    it("a Service that ends on another color than the stack file says is written into the file (exit 4)", async () => {
        r = await rig({ stack: "production", up: { after: (n, live) => n === 1 && (live["nanda-api"] = "blue") } });
        const res = await runSwitch(opts({ bakeSeconds: 0 }), { ...r.deps, metrics: undefined });
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "reconcile services.nanda-api.activeColor=blue", "result inconsistent"]);
        assert.equal(res.code, EXIT.rollbackFailed);
        assert.deepEqual(fileColors(r), liveOf(r));
        assert.match(res.summary, /but nanda-api-service selects blue \(now written to the stack file\)/);
    });

    it("--service: only services.<name>.activeColor changes; the rollback removes the key it added", async () => {
        r = await rig({ stack: "production", script: (q) => (q.kind === "errors" && q.version === "green" && q.t >= 40_000 ? 0.3 : healthy(q)) });
        const res = await runSwitch(opts({ services: ["rtpm-api"] }), r.deps);
        assert.deepEqual(steps(res.journal), ["set services.rtpm-api.activeColor=green", "up switch", "bake", "breach rtpm-api error ratio (HighErrorRate) 30% > 5%", "bake breach", "set-back services.rtpm-api.activeColor (removed)", "up rollback", "result rolled-back"]);
        // Only rtpm-api was watched.
        assert.ok(r.prom.queries.filter((q) => q.query !== "vector(1)").every((q) => /app=~"rtpm-api"/.test(q.query)));
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
    });

    it("--service healthy: the file gets the override and the other services stay blue", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts({ services: ["rtpm-api", "nanda-api"], bakeSeconds: 10 }), r.deps);
        assert.equal(res.outcome, "switched");
        assert.deepEqual(fileColors(r), { "candlefish-website": "blue", "rtpm-api": "green", "nanda-api": "green", "otter-gateway": "blue" });
        assert.deepEqual(liveOf(r), fileColors(r));
        const text = fs.readFileSync(r.file, "utf8");
        assert.match(text, /\n    rtpm-api:\n(      .*\n)*      activeColor: green\n    nanda-api:\n/);
    });

    it("without --service, a service with its own override keeps it, and is said so", async () => {
        r = await rig({ stack: "production" });
        new StackFile(r.dir, "production").write({ overrides: { "nanda-api": "blue" } });
        r.cluster.live["nanda-api"] = "blue";
        const res = await runSwitch(opts({ bakeSeconds: 10 }), r.deps);
        assert.equal(res.outcome, "switched");
        assert.match(r.out.text, /nanda-api keeps blue \(its own services\.nanda-api\.activeColor=blue; name it with --service to move it\)/);
        assert.equal(fileColors(r)["nanda-api"], "blue");
        assert.ok(!r.prom.queries.some((q) => /nanda-api/.test(q.query)), "nanda-api is not baked");
    });

    it("--dry-run: preflight and the plan (the queries it would run), then nothing changes, exit 0", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts({ dryRun: true }), r.deps);
        assert.deepEqual(steps(res.journal), ["result dry-run"]);
        assert.equal(res.code, EXIT.ok);
        assert.equal(r.workspace.ups, 0);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
        assert.match(r.out.text, /rtpm-api: histogram_quantile\(0\.95, .*version="green".*\) > 2/);
        assert.match(res.summary, /dry run\): would set activeColor=green and move .* blue -> green, then bake 1m; nothing changed/);
    });

    it("already on the color: nothing to do, no write, no up, exit 0", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts({ to: "blue" }), r.deps);
        assert.deepEqual(steps(res.journal), ["result nothing-to-do"]);
        assert.equal(res.code, EXIT.ok);
        assert.equal(r.workspace.ups, 0);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
    });

    it("--bake 0: set -> up -> switched without asking Prometheus at all", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts({ bakeSeconds: 0 }), { ...r.deps, metrics: undefined });
        assert.deepEqual(steps(res.journal), ["set activeColor=green", "up switch", "result switched"]);
        assert.equal(r.prom.queries.length, 0);
    });

    it("the cluster unreachable before the switch: refuses (the bake could not count endpoints), nothing changed", async () => {
        r = await rig({ stack: "production" });
        r.cluster.unreachable = true;
        const res = await runSwitch(opts(), r.deps);
        assert.deepEqual(steps(res.journal), ["result refused"]);
        assert.match(res.summary, /the cluster is unreachable: connect ECONNREFUSED/);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
    });

    it("a Grafana that cannot be reached never fails the switch", async () => {
        r = await rig({ stack: "production", annotateFails: true });
        const res = await runSwitch(opts({ bakeSeconds: 10 }), r.deps);
        assert.equal(res.outcome, "switched");
        assert.match(r.out.text, /Grafana annotation skipped \(best effort\): connect ECONNREFUSED \(Grafana\)/);
    });
});
