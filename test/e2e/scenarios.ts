// The e2e scenarios (issue 11's list, with issue 16's checks), run in order on
// one local stack: each starts from the state the previous one left. Colors
// are taken from that state: "the inactive color" is whichever is not live.
import * as fs from "fs";
import * as path from "path";
import { allAvailable, finalLive, generationChanges, jobsCreated, liveNeverColor, liveOneReadyColor, liveOnlyReadyPods, previewNeverMovesOntoLive, sharedColorSeconds, steps } from "./checks";
import { Kube } from "./kube";
import { MeasuredUp, endpointChanges, measureSwitch, measuredUp } from "./measure";
import { CliResult, LocalProject, RunOptions } from "./stack";
import { Color, Snapshot, snapshot } from "./timeline";

export const other = (c: Color): Color => (c === "blue" ? "green" : "blue");

/** The promotion gate's settings in the copy, lowered for speed (README: promotion.*). */
export const GATE = { timeoutSeconds: 60, settleSeconds: 10 };
/** A failed switch must end within the gate's timeout plus this: the program's start-up and the engine around the gate. */
export const FAIL_MARGIN_SECONDS = 90;
/** services.<name>.drain.minReadySeconds in the copy (default 10). */
export const DRAIN_MIN_READY_SECONDS = 0;

export interface ScenarioRecord {
    readonly n: number;
    readonly name: string;
    pass: boolean;
    seconds: number;
    readonly failures: string[];
    readonly notes: string[];
    /** Figures worth reporting: seconds unless the name says otherwise. */
    readonly figures: Record<string, number | string | undefined>;
    readonly ups: { label: string; code: number | null; seconds: number; stoppedBy?: string }[];
}

export interface Ctx {
    readonly project: LocalProject;
    readonly kube: Kube;
    readonly namespace: string;
    readonly services: readonly string[];
    /** The color every live Service selects, as far as the scenarios know. */
    live: Color;
    /** Image tag per service and color, as deployed (read from the Deployments after the first up). */
    readonly tags: Record<string, Record<Color, string>>;
    readonly log: (msg: string) => void;
    /** Set when the run is interrupted: the scenario stops at its next step. */
    aborted: boolean;
}

export interface Scenario {
    readonly name: (ctx: Ctx) => string;
    readonly run: (ctx: Ctx, rec: ScenarioRecord) => Promise<void>;
}

// ---------------------------------------------------------------- helpers

function expect(rec: ScenarioRecord, ok: boolean, failure: string): boolean {
    if (!ok) rec.failures.push(failure);
    return ok;
}

function expectNone(rec: ScenarioRecord, what: string, violations: string[]): void {
    for (const v of violations) rec.failures.push(`${what}: ${v}`);
}

const tail = (r: CliResult, n = 12) => r.output.trimEnd().split("\n").slice(-n).map((l) => `    | ${l}`).join("\n");
const s1 = (x: number | undefined) => (x === undefined ? undefined : Math.round(x * 10) / 10);

/** The error lines of a failed `up` (the engine's diagnostics), for the report. */
function errorLines(r: CliResult): string[] {
    return r.output
        .split("\n")
        .filter((l) => /error:|promotion gate:/i.test(l))
        .map((l) => l.trim())
        .filter((l, i, a) => a.indexOf(l) === i)
        .slice(0, 8);
}

/** Writes the timeline as JSON lines, one per poll that differs from the one before (less the time). */
function saveTimeline(ctx: Ctx, label: string, m: MeasuredUp): string {
    const file = path.join(ctx.project.logDir, `${label}.timeline.jsonl`);
    let prev = "";
    const lines: string[] = [];
    for (const s of m.timeline) {
        const { t, at, ...rest } = s;
        const key = JSON.stringify(rest);
        if (key === prev) continue;
        prev = key;
        lines.push(JSON.stringify({ t: t / 1000, ...compact(rest) }));
    }
    fs.writeFileSync(file, lines.join("\n") + "\n");
    return file;
}

function compact(s: Omit<Snapshot, "t" | "at">) {
    const eps = (r: Snapshot["live"]) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.map((e) => `${e.pod}${e.ready ? "" : "!unready"}${e.terminating ? "!terminating" : ""}`)]));
    return {
        live: eps(s.live),
        preview: eps(s.preview),
        selectors: s.selectors,
        deployments: Object.fromEntries(Object.entries(s.deployments).map(([k, d]) => [k, `gen ${d.generation}/${d.observedGeneration} ${d.updated}u/${d.ready}r/${d.available}a of ${d.replicas} ${d.image.split("/").pop()}`])),
        jobs: Object.fromEntries(Object.entries(s.jobs).map(([k, j]) => [k, `${j.condition || "running"} ${j.succeeded}s/${j.failed}f/${j.active}a`])),
        pods: Object.fromEntries(Object.entries(s.pods).map(([k, p]) => [k, `${p.phase}${p.ready ? " Ready" : ""}${p.restarts ? ` restarts=${p.restarts}` : ""}${p.deleting ? " deleting" : ""}`])),
    };
}

export interface UpChecks {
    /** The edit may run a migration (it gives rtpm-api a new tag); otherwise no Job may be created or re-created. */
    readonly migrates?: boolean;
}

/**
 * A measured `up`, recorded on the scenario, with its timeline saved. Every
 * run that was not killed is also checked for: no migration Job created or
 * re-created unless the edit gives rtpm-api a new tag (issue 16: an edit that
 * does not change an image tag never re-runs a migration), and the stack
 * output liveColors saying what the cluster's live Services select.
 */
async function up(ctx: Ctx, rec: ScenarioRecord, label: string, opts: RunOptions & UpChecks = {}): Promise<MeasuredUp> {
    if (ctx.aborted) throw new Error("interrupted");
    ctx.log(`  pulumi up (${label})…`);
    const m = await measuredUp(ctx.project, ctx.kube, ctx.namespace, ctx.services, { label: `up-${label}`, onTick: ticker(ctx, label), ...opts });
    record(ctx, rec, label, m);
    await afterUp(ctx, rec, label, m, opts);
    return m;
}

async function afterUp(ctx: Ctx, rec: ScenarioRecord, label: string, m: MeasuredUp, checks: UpChecks): Promise<void> {
    if (m.result.stoppedBy?.startsWith("kill")) return;
    if (!checks.migrates) {
        const jobs = jobsCreated(m.timeline);
        expect(rec, jobs.length === 0, `${label}: a migration Job ran although the edit gives rtpm-api no new tag: ${jobs.map((j) => `${j.name} (${j.image.split("/").pop()}) created at ${j.t.toFixed(1)} s`).join(", ")}`);
    }
    // README, runbook Step 1: the stack output liveColors is the color each <name>-service selects.
    const out = await ctx.project.pulumi(["stack", "output", "--json", "--stack", "local", "liveColors"], { timeoutMs: 120_000, label: "stack-output" });
    let said: Record<string, string> = {};
    try {
        said = JSON.parse(out.output.slice(out.output.indexOf("{")));
    } catch {
        rec.failures.push(`${label}: pulumi stack output liveColors gave no JSON (exit ${out.code}): ${out.output.trim().slice(0, 300)}`);
        return;
    }
    const last = m.timeline[m.timeline.length - 1];
    const wrong = ctx.services.filter((s) => said[s] !== last.selectors[`${s}-service`]);
    expect(
        rec,
        wrong.length === 0,
        `${label}: after this ${m.ok ? "" : "failed "}up the stack output liveColors says ${wrong.map((s) => `${s}=${said[s]}`).join(", ")} while ${wrong.map((s) => `${s}-service selects ${last.selectors[`${s}-service`]}`).join(", ")} ` +
            `(the transition rules judge the next edit against this stack's outputs)`,
    );
}

function record(ctx: Ctx, rec: ScenarioRecord, label: string, m: MeasuredUp): MeasuredUp {
    rec.ups.push({ label, code: m.result.code, seconds: s1(m.seconds)!, stoppedBy: m.result.stoppedBy });
    const file = saveTimeline(ctx, `up-${label}`, m);
    ctx.log(
        `  pulumi up (${label}): ${m.ok ? "succeeded" : `FAILED (exit ${m.result.code ?? m.result.signal})`} after ${m.seconds.toFixed(1)} s` +
            `${m.lastEndpointChange !== undefined ? `; last live endpoint change at ${m.lastEndpointChange.toFixed(1)} s` : "; no live endpoint changed"}` +
            `${m.pollErrors ? `; ${m.pollErrors} failed poll(s) (${m.lastPollError})` : ""}; ${m.timeline.length} polls (${path.basename(file)})`,
    );
    const st = steps(m.result.output).filter((x) => x.type !== "pulumi:pulumi:Stack" && !x.type.startsWith("candlefish:"));
    if (st.length) ctx.log(`    steps: ${st.map((x) => `${x.op} ${x.type.split(":").pop()} ${x.name}`).join(", ")}`);
    if (!m.ok) for (const l of errorLines(m.result)) ctx.log(`    ${l}`);
    return m;
}

/** A progress line every 30 s while the CLI runs. */
function ticker(ctx: Ctx, label: string, also?: RunOptions["onTick"]): RunOptions["onTick"] {
    let next = 30_000;
    return (t) => {
        if (t >= next) {
            ctx.log(`  … pulumi up (${label}) still running, ${Math.round(t / 1000)} s`);
            next += 30_000;
        }
        return also?.(t);
    };
}

async function setConfig(ctx: Ctx, values: Record<string, string | number | boolean>): Promise<void> {
    ctx.log(`  pulumi config set ${Object.entries(values).map(([k, v]) => `${k}=${v}`).join(" ")}`);
    await ctx.project.configSet(values);
}

/** Tags in use, the newest (by semver) first. */
function semver(tag: string): [number, number, number] | undefined {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

let bumps = 0;
/** A release tag newer than every tag deployed so far: the newest's minor + 1 (+ a counter). */
export function newerTag(ctx: Ctx, suffix = ""): string {
    const all = Object.values(ctx.tags).flatMap((c) => Object.values(c)).map(semver).filter((v): v is [number, number, number] => !!v);
    const max = all.reduce((a, b) => (a[0] - b[0] || a[1] - b[1] || a[2] - b[2]) >= 0 ? a : b, [1, 0, 0] as [number, number, number]);
    bumps++;
    return `v${max[0]}.${max[1] + bumps}.0${suffix}`;
}

function tagOf(image: string): string {
    const at = image.indexOf("@");
    if (at >= 0) return image.slice(at + 1);
    return image.slice(image.lastIndexOf(":") + 1);
}

/** Reads each Deployment's image tag into ctx.tags. */
function learnTags(ctx: Ctx, s: Snapshot): void {
    for (const svc of ctx.services) {
        for (const c of ["blue", "green"] as Color[]) {
            const d = s.deployments[`${svc}-${c}`];
            if (d) (ctx.tags[svc] ??= { blue: "", green: "" })[c] = tagOf(d.image);
        }
    }
}

/** The common invariants of any `up` once traffic is on a color: one ready color per live Service, the preview never moving onto it. */
function invariants(ctx: Ctx, rec: ScenarioRecord, m: MeasuredUp, label: string): void {
    expectNone(rec, `${label}: live Service not on one ready color`, liveOneReadyColor(m.timeline, ctx.services, true));
    expectNone(rec, `${label}: live Service held a pod that was not Ready`, liveOnlyReadyPods(m.timeline, ctx.services));
    expectNone(rec, `${label}: preview moved onto the live color`, previewNeverMovesOntoLive(m.timeline, ctx.services));
}

function fmtGens(g: Map<string, { from: number; to: number; t: number }>): string {
    return [...g.entries()].map(([k, v]) => `${k} ${v.from}->${v.to} at ${v.t.toFixed(1)}s`).join(", ") || "(none)";
}

/** Waits until check() holds on a fresh snapshot, up to timeoutMs; returns the snapshot or undefined. */
async function waitFor(ctx: Ctx, check: (s: Snapshot) => boolean, timeoutMs: number): Promise<Snapshot | undefined> {
    const t0 = Date.now();
    while (Date.now() - t0 < timeoutMs) {
        if (ctx.aborted) throw new Error("interrupted");
        const s = await snapshot(ctx.kube, ctx.namespace, ctx.services, t0);
        if (check(s)) return s;
        await new Promise((r) => setTimeout(r, 500));
    }
    return undefined;
}

/** A failed switch: error text, time bound, traffic never moved to `to` for `services`. */
function refusedSwitch(ctx: Ctx, rec: ScenarioRecord, m: MeasuredUp, label: string, bad: string, to: Color, moving: readonly string[], refusedBy: "gate" | "rollout" = "gate"): void {
    const bound = GATE.timeoutSeconds + FAIL_MARGIN_SECONDS;
    expect(rec, !m.ok, `${label}: pulumi up succeeded, but ${bad} ${to} is not ready and must be refused`);
    // The gate's own message; or, when the target's earlier rollout failed, the provider's
    // re-await of that Deployment (bounded by promotion.timeoutSeconds in a flip), which
    // names the Deployment <svc>-<color> and what was not ready (docs/PROMOTION.md).
    const want = refusedBy === "gate" ? `promotion gate: ${bad} cannot go ${to}` : `/${bad}-${to}" failed to fully initialize or become live`;
    expect(rec, m.result.output.includes(want), `${label}: the error does not name the service ("${want}" not in the output); it ends:\n${tail(m.result)}`);
    if (refusedBy === "rollout") {
        expect(rec, new RegExp(`containers with unready status: \\[${bad}\\]`).test(m.result.output), `${label}: the error does not say what was not ready; it ends:\n${tail(m.result)}`);
        expect(rec, m.seconds <= GATE.timeoutSeconds + 30, `${label}: the re-awaited rollout took ${m.seconds.toFixed(1)} s to fail: the flip's target is bounded by promotion.timeoutSeconds (${GATE.timeoutSeconds} s)`);
    }
    expect(rec, m.seconds <= bound, `${label}: pulumi up took ${m.seconds.toFixed(1)} s to fail, more than the gate's timeout ${GATE.timeoutSeconds} s + ${FAIL_MARGIN_SECONDS} s`);
    expectNone(rec, `${label}: a live Service moved to ${to}`, liveNeverColor(m.timeline, moving, to));
    expectNone(rec, `${label}: live Service not on one ready color`, liveOneReadyColor(m.timeline, ctx.services, true));
    expectNone(rec, `${label}: preview moved onto the live color`, previewNeverMovesOntoLive(m.timeline, ctx.services));
    const moved = endpointChanges(m.timeline, ctx.services);
    expect(rec, moved.length === 0, `${label}: live endpoints changed during a refused switch: ${moved.map((c) => `${c.service} at ${c.t.toFixed(1)}s`).join(", ")}`);
    const gens = generationChanges(m.timeline);
    expect(rec, gens.size === 0, `${label}: a refused switch changed Deployments: ${fmtGens(gens)}`);
}

/** Puts the stack back to a known-good state after a scenario staged something broken. */
async function restore(ctx: Ctx, rec: ScenarioRecord, label: string, values: Record<string, string | number | boolean>): Promise<boolean> {
    await setConfig(ctx, values);
    const m = await up(ctx, rec, label);
    expect(rec, m.ok, `${label}: restoring up failed:\n${tail(m.result)}`);
    if (m.ok) learnTags(ctx, m.timeline[m.timeline.length - 1]);
    invariants(ctx, rec, m, label);
    return m.ok;
}

// ---------------------------------------------------------------- the scenarios

const gateLine = (svc: string, color: Color) => new RegExp(`${svc}-gate-${color}\\b.*(creating|updating)`);

export const SCENARIOS: Scenario[] = [
    {
        name: () => "first up of the local stack from nothing",
        async run(ctx, rec) {
            await setConfig(ctx, {
                "promotion.timeoutSeconds": GATE.timeoutSeconds,
                "promotion.settleSeconds": GATE.settleSeconds,
                // A color counts as rolled out once Ready: a -crashes color then deploys before it crashes (scenario 8).
                ...Object.fromEntries(ctx.services.map((s) => [`services.${s}.drain.minReadySeconds`, DRAIN_MIN_READY_SECONDS])),
            });
            const m = await up(ctx, rec, "first", { migrates: true });
            rec.figures.firstUp = s1(m.seconds);
            expect(rec, m.ok, `pulumi up failed:\n${tail(m.result, 30)}`);
            const last = m.timeline[m.timeline.length - 1];
            learnTags(ctx, last);
            const live = ctx.live;
            expectNone(rec, "not available", allAvailable(m.timeline));
            const colorDeployments = ctx.services.flatMap((s) => [`${s}-blue`, `${s}-green`]);
            const missing = colorDeployments.filter((d) => !last.deployments[d]);
            expect(rec, missing.length === 0, `Deployments missing at the end: ${missing.join(", ")} (found ${Object.keys(last.deployments).join(", ")})`);
            expectNone(rec, "live endpoints", finalLive(m.timeline, ctx.services, live));
            expectNone(rec, "preview endpoints", finalLive(m.timeline, ctx.services, other(live), "preview"));
            expectNone(rec, `live Service held ${other(live)}`, liveNeverColor(m.timeline, ctx.services, other(live)));
            expectNone(rec, "live Service not on one ready color", liveOneReadyColor(m.timeline, ctx.services));
            expectNone(rec, "preview moved onto the live color", previewNeverMovesOntoLive(m.timeline, ctx.services));
            const ready = m.timeline.find((s) => ctx.services.every((svc) => (s.live[svc] ?? []).length > 0));
            rec.figures.toAllLiveEndpoints = s1(ready && ready.t / 1000);
            rec.notes.push(`tags: ${ctx.services.map((s) => `${s} blue ${ctx.tags[s]?.blue} / green ${ctx.tags[s]?.green}`).join("; ")}`);
        },
    },
    {
        name: (ctx) => `new ${other(ctx.live)} image tags (rtpm-api, nanda-api): only those ${other(ctx.live)} Deployments roll, migration first`,
        async run(ctx, rec) {
            const target = other(ctx.live);
            const tag = newerTag(ctx);
            const rolled = ["rtpm-api", "nanda-api"];
            await setConfig(ctx, Object.fromEntries(rolled.map((s) => [`services.${s}.${target}.imageTag`, tag])));
            const m = await up(ctx, rec, `deploy-${target}-${tag}`, { migrates: true });
            rec.figures.deploy = s1(m.seconds);
            expect(rec, m.ok, `pulumi up failed:\n${tail(m.result, 30)}`);
            const gens = generationChanges(m.timeline);
            const want = rolled.map((s) => `${s}-${target}`).sort();
            expect(rec, JSON.stringify([...gens.keys()].sort()) === JSON.stringify(want), `Deployments whose generation changed: ${fmtGens(gens)}; expected exactly ${want.join(", ")}`);
            // The migration Job of the new tag completed before rtpm-api-<target> changed.
            const jobName = Object.keys(m.timeline[m.timeline.length - 1].jobs).find((j) => m.timeline[m.timeline.length - 1].jobs[j].image.endsWith(`:${tag}`));
            if (expect(rec, !!jobName, `no migration Job runs rtpm-api:${tag}; Jobs: ${Object.keys(m.timeline[m.timeline.length - 1].jobs).join(", ")}`)) {
                const g = gens.get(`rtpm-api-${target}`);
                const completeAt = m.timeline.find((s) => s.jobs[jobName!]?.condition === "Complete");
                rec.figures.migrationComplete = s1(completeAt && completeAt.t / 1000);
                rec.figures.rtpmGenerationChange = s1(g?.t);
                if (g) {
                    const atChange = m.timeline.find((s) => s.t / 1000 === g.t)!;
                    expect(rec, atChange.jobs[jobName!]?.condition === "Complete", `rtpm-api-${target}'s generation changed at ${g.t.toFixed(1)} s while its migration Job ${jobName} was ${atChange.jobs[jobName!]?.condition || "not complete"}`);
                }
            }
            const last = m.timeline[m.timeline.length - 1];
            for (const s of rolled) expect(rec, last.deployments[`${s}-${target}`]?.image.endsWith(`:${tag}`), `${s}-${target} does not run ${tag} at the end: ${last.deployments[`${s}-${target}`]?.image}`);
            expectNone(rec, `live Service held ${target}`, liveNeverColor(m.timeline, ctx.services, target));
            invariants(ctx, rec, m, "deploy");
            // The provider's Deployment await can end a moment before the last old pod is
            // replaced (seen: 1 of 2 updated at the CLI's exit, all 2 a poll later). The
            // flip does not rely on it (its gate checks updated = ready = available), so
            // the rollout must complete within a few seconds of the up, and the lag is noted.
            const settled = allAvailable(m.timeline).length === 0 ? last : await waitFor(ctx, (s) => allAvailable([s]).length === 0, 15_000);
            if (settled !== last) rec.notes.push(`the Deployments were all available ${settled ? "within 15 s after" : "not even 15 s after"} pulumi up ended (provider await ended early)`);
            expectNone(rec, "not available", allAvailable([settled ?? last]));
            expectNone(rec, "preview endpoints", finalLive(settled ? [settled] : m.timeline, ctx.services, target, "preview"));
            learnTags(ctx, last);
        },
    },
    {
        name: (ctx) => `flip to ${other(ctx.live)}`,
        async run(ctx, rec) {
            await flip(ctx, rec, "flip");
        },
    },
    {
        name: (ctx) => `rollback to ${other(ctx.live)} (warm)`,
        async run(ctx, rec) {
            await flip(ctx, rec, "rollback");
        },
    },
    {
        name: (ctx) => `flip to a color staged -unready (nanda-api ${other(ctx.live)}): refused, traffic never moves`,
        async run(ctx, rec) {
            const live = ctx.live;
            const target = other(live);
            const good = ctx.tags["nanda-api"][target];
            const bad = "v9.9.9-unready";
            // Stage it: the deploy of the inactive color fails on the Deployment's await.
            await setConfig(ctx, { [`services.nanda-api.${target}.imageTag`]: bad });
            const staged = await up(ctx, rec, `stage-nanda-${target}-unready`);
            rec.figures.stageUnready = s1(staged.seconds);
            expect(rec, !staged.ok, `staging ${bad} succeeded, but its pods never become Ready`);
            const sg = generationChanges(staged.timeline);
            expect(rec, sg.has(`nanda-api-${target}`) && sg.size === 1, `staging rolled ${fmtGens(sg)}; expected only nanda-api-${target}`);
            expectNone(rec, "stage: a live Service moved", liveNeverColor(staged.timeline, ctx.services, target));
            invariants(ctx, rec, staged, "stage");

            // One service flips alone.
            await setConfig(ctx, { "services.nanda-api.activeColor": target });
            const one = await up(ctx, rec, `flip-nanda-only-${target}`);
            rec.figures.failedFlipOne = s1(one.seconds);
            rec.figures.failedFlipOneGateWait = gateWait(one, "nanda-api", target);
            refusedSwitch(ctx, rec, one, "nanda-api alone", "nanda-api", target, ["nanda-api"], "rollout");

            // Four services flip, one of them bad: none moves.
            await ctx.project.configRm("services.nanda-api.activeColor");
            await setConfig(ctx, { activeColor: target });
            const four = await up(ctx, rec, `flip-all-${target}-one-bad`);
            rec.figures.failedFlipFour = s1(four.seconds);
            rec.figures.failedFlipFourGateWait = gateWait(four, "nanda-api", target);
            refusedSwitch(ctx, rec, four, "four services", "nanda-api", target, ctx.services, "rollout");

            await restore(ctx, rec, "restore-after-unready", { activeColor: live, [`services.nanda-api.${target}.imageTag`]: good });
        },
    },
    {
        name: (ctx) => `kill pulumi up (SIGKILL) while the gate waits in a flip to ${other(ctx.live)}; the next up converges`,
        async run(ctx, rec) {
            const target = other(ctx.live);
            // A fresh nanda-api target first (a new tag on the inactive color), then the flip with
            // a settle window longer than its pods have been Ready: its gate waits, and the
            // run is killed (its whole process group, SIGKILL) while it does.
            const fresh = newerTag(ctx);
            await setConfig(ctx, { [`services.nanda-api.${target}.imageTag`]: fresh });
            const dep = await up(ctx, rec, `deploy-nanda-${target}-${fresh}`);
            expect(rec, dep.ok, `deploying nanda-api ${target} ${fresh} failed:\n${tail(dep.result)}`);
            invariants(ctx, rec, dep, "deploy");
            learnTags(ctx, dep.timeline[dep.timeline.length - 1]);
            const settle = 90;
            await setConfig(ctx, { activeColor: target, "promotion.settleSeconds": settle, "promotion.timeoutSeconds": settle + 90 });
            let gateAt: number | undefined;
            let waitingAt: number | undefined;
            let passedAt: number | undefined;
            let killedAt: number | undefined;
            const waiting = new RegExp(`nanda-api: ${target} not ready yet`);
            const passed = new RegExp(`nanda-api-gate-${target}\\s+created`);
            const m = await up(ctx, rec, `flip-${target}-killed`, {
                onLine: (text, t) => {
                    if (gateAt === undefined && gateLine("nanda-api", target).test(text)) gateAt = t;
                    if (waitingAt === undefined && waiting.test(text)) waitingAt = t;
                    if (passedAt === undefined && passed.test(text)) passedAt = t;
                },
                onTick: ticker(ctx, "killed flip", (t) => {
                    const from = waitingAt ?? (gateAt !== undefined ? gateAt + 5000 : undefined);
                    if (from !== undefined && t > from + 3000 && killedAt === undefined) {
                        killedAt = t;
                        return "kill";
                    }
                    return undefined;
                }),
            });
            rec.figures.killedAt = s1(killedAt && killedAt / 1000);
            rec.figures.gateWaitingAt = s1(waitingAt && waitingAt / 1000);
            if (expect(rec, killedAt !== undefined, `the run was never killed: nanda-api-gate-${target} never started; it ended ${m.ok ? "successfully" : "with a failure"}:\n${tail(m.result)}`)) {
                expect(rec, waitingAt !== undefined && (passedAt === undefined || passedAt > killedAt!), `the kill did not land while nanda-api's gate waited (gate started ${gateAt}, waiting line ${waitingAt}, passed ${passedAt}, killed ${killedAt} ms)`);
            }
            rec.notes.push(`killed ${killedAt !== undefined ? `${(killedAt / 1000).toFixed(1)} s into the up, ${((killedAt - (gateAt ?? 0)) / 1000).toFixed(1)} s after nanda-api's gate started` : "never"}`);
            await new Promise((r) => setTimeout(r, 1000));
            expect(rec, ctx.project.survivors().length === 0, `processes of the killed run survived: ${ctx.project.survivors().join(", ")}`);
            invariantsAllowSplit(ctx, rec, m, "killed up");
            // Every live Service waits for every gate: while one gate waits, none has moved.
            expectNone(rec, `killed up: a live Service moved to ${target} while a gate waited`, liveNeverColor(m.timeline, ctx.services, target));

            // Recover: what an operator does after a CI runner died mid-deploy.
            const locks = ctx.project.lockFiles();
            rec.notes.push(`lock files left by the killed run: ${locks.length}`);
            const cancel = await ctx.project.pulumi(["cancel", "--yes", "--stack", "local"], { timeoutMs: 120_000, label: "cancel" });
            rec.notes.push(`pulumi cancel: exit ${cancel.code}: ${cancel.output.trim().split("\n").slice(-2).join(" / ")}`);
            for (const f of ctx.project.lockFiles()) {
                rec.notes.push(`removed lock ${path.relative(ctx.project.backendDir, f)}`);
                fs.rmSync(f, { force: true });
            }
            await setConfig(ctx, { "promotion.settleSeconds": GATE.settleSeconds, "promotion.timeoutSeconds": GATE.timeoutSeconds });
            let next = await up(ctx, rec, `flip-${target}-after-kill`);
            if (!next.ok && /pending operation|interrupted while/i.test(next.result.output)) {
                rec.notes.push("the next up refused the pending operations of the killed run; ran pulumi refresh --clear-pending-creates");
                const refresh = await ctx.project.pulumi(["refresh", "--yes", "--skip-preview", "--non-interactive", "--clear-pending-creates", "--stack", "local"], { timeoutMs: 600_000, label: "refresh" });
                rec.notes.push(`pulumi refresh --clear-pending-creates: exit ${refresh.code}`);
                next = await up(ctx, rec, `flip-${target}-after-refresh`);
            }
            rec.figures.convergeUp = s1(next.seconds);
            expect(rec, next.ok, `the next up did not converge:\n${tail(next.result, 20)}`);
            invariantsAllowSplit(ctx, rec, next, "next up");
            expectNone(rec, "after the next up", finalLive(next.timeline, ctx.services, target));
            if (next.ok) ctx.live = target;
        },
    },
    {
        name: (ctx) => `a failing migration (rtpm-api ${other(ctx.live)} -fails) blocks the rollout; traffic stays`,
        async run(ctx, rec) {
            const target = other(ctx.live);
            const good = ctx.tags["rtpm-api"][target];
            const bad = newerTag(ctx, "-fails");
            await setConfig(ctx, { [`services.rtpm-api.${target}.imageTag`]: bad });
            const m = await up(ctx, rec, `deploy-rtpm-${target}-fails`, { migrates: true });
            rec.figures.failedMigrationUp = s1(m.seconds);
            expect(rec, !m.ok, `pulumi up succeeded although the migration of ${bad} fails`);
            const gens = generationChanges(m.timeline);
            expect(rec, !gens.has(`rtpm-api-${target}`), `rtpm-api-${target}'s generation changed although its migration failed: ${fmtGens(gens)}`);
            expect(rec, gens.size === 0, `Deployments changed: ${fmtGens(gens)}`);
            const last = m.timeline[m.timeline.length - 1];
            const job = Object.entries(last.jobs).find(([, j]) => j.image.endsWith(`:${bad}`));
            if (expect(rec, !!job, `no Job runs rtpm-api:${bad}; Jobs: ${Object.keys(last.jobs).join(", ")}`)) {
                expect(rec, job![1].condition === "Failed", `Job ${job![0]} is ${job![1].condition || "still running"} at the end, not Failed`);
                const failedAt = m.timeline.find((s) => s.jobs[job![0]]?.condition === "Failed");
                rec.figures.jobFailedAt = s1(failedAt && failedAt.t / 1000);
            }
            expect(rec, /rtpm-api-migrate/.test(errorLines(m.result).join("\n")) || /rtpm-api-migrate/.test(m.result.output), `the error does not name the migration Job:\n${tail(m.result)}`);
            expectNone(rec, `a live Service moved to ${target}`, liveNeverColor(m.timeline, ctx.services, target));
            const moved = endpointChanges(m.timeline, ctx.services);
            expect(rec, moved.length === 0, `live endpoints changed: ${moved.map((c) => `${c.service} at ${c.t.toFixed(1)}s`).join(", ")}`);
            const previewBefore = m.timeline[0].preview["rtpm-api"].map((e) => e.pod).join(",");
            const previewAfter = last.preview["rtpm-api"].map((e) => e.pod).join(",");
            expect(rec, previewBefore === previewAfter, `rtpm-api-preview's pods changed (${previewBefore} -> ${previewAfter}): the ${target} pods were replaced although the migration failed`);
            invariants(ctx, rec, m, "failed migration");
            await restore(ctx, rec, "restore-after-fails", { [`services.rtpm-api.${target}.imageTag`]: good });
        },
    },
    {
        name: (ctx) => `a healthy-deployed color that starts crash-looping (otter-gateway ${other(ctx.live)} -crashes): the flip is refused`,
        async run(ctx, rec) {
            const live = ctx.live;
            const target = other(live);
            const good = ctx.tags["otter-gateway"][target];
            const bad = newerTag(ctx, "-crashes");
            await setConfig(ctx, { [`services.otter-gateway.${target}.imageTag`]: bad });
            const dep = await up(ctx, rec, `deploy-otter-${target}-crashes`);
            rec.figures.deployCrashing = s1(dep.seconds);
            expect(rec, dep.ok, `deploying ${bad} failed, but its pods are Ready for about 15 s before they crash:\n${tail(dep.result)}`);
            invariants(ctx, rec, dep, "deploy");
            // The flip comes once the crash shows (a restart), as it would minutes after a deploy.
            const crashed = await waitFor(ctx, (s) => Object.entries(s.pods).some(([n, p]) => n.startsWith(`otter-gateway-${target}-`) && p.restarts > 0), 90_000);
            expect(rec, !!crashed, `no otter-gateway-${target} pod restarted within 90 s of the deploy`);
            await setConfig(ctx, { activeColor: target });
            const m = await up(ctx, rec, `flip-${target}-crashing`);
            rec.figures.refusedFlip = s1(m.seconds);
            rec.figures.refusedFlipGateWait = gateWait(m, "otter-gateway", target);
            refusedSwitch(ctx, rec, m, "flip", "otter-gateway", target, ctx.services);
            await restore(ctx, rec, "restore-after-crashes", { activeColor: live, [`services.otter-gateway.${target}.imageTag`]: good });
        },
    },
];

/** Seconds from the gate's "creating" line to the end of the run. */
function gateWait(m: MeasuredUp, svc: string, color: Color): number | undefined {
    const l = m.result.lines.find((x) => gateLine(svc, color).test(x.text));
    return l ? s1(m.seconds - l.t / 1000) : undefined;
}

/** A flip or a rollback: only selectors move, all live Services end on the target, timed to the last endpoint change. */
async function flip(ctx: Ctx, rec: ScenarioRecord, label: string): Promise<void> {
    const to = other(ctx.live);
    ctx.log(`  pulumi config set activeColor ${to}`);
    const sw = await measureSwitch(ctx.project, ctx.kube, ctx.namespace, ctx.services, to, { label: `up-${label}-${to}`, onTick: ticker(ctx, label) });
    const m = record(ctx, rec, `${label}-${to}`, sw.measured);
    await afterUp(ctx, rec, `${label}-${to}`, m, {});
    rec.figures.upSeconds = s1(sw.upSeconds);
    rec.figures.toLastEndpointChange = s1(sw.toLastEndpointChange);
    rec.figures.toFirstEndpointChange = s1(m.firstEndpointChange);
    const by = Object.values(m.lastEndpointChangeBy);
    rec.figures.spreadAcrossServices = by.length ? s1(Math.max(...by) - Math.min(...by)) : undefined;
    expect(rec, m.ok, `pulumi up failed:\n${tail(m.result, 30)}`);
    const gens = generationChanges(m.timeline);
    expect(rec, gens.size === 0, `Deployments changed during the ${label}: ${fmtGens(gens)}`);
    invariants(ctx, rec, m, label);
    expectNone(rec, "live endpoints", finalLive(m.timeline, ctx.services, to));
    expectNone(rec, "preview endpoints", finalLive(m.timeline, ctx.services, ctx.live, "preview"));
    // README: a flip changes only Service selectors (and, since issue 16, creates the gates and deletes the old ones).
    const others = steps(m.result.output).filter((st) => !(st.type === "kubernetes:core/v1:Service" && /-(service|preview)$/.test(st.name)) && !/-gate-(blue|green)$/.test(st.name));
    expect(rec, others.length === 0, `the ${label} took steps on more than Services and gates: ${others.map((st) => `${st.op} ${st.type} ${st.name}`).join("; ")}`);
    const shared = sharedColorSeconds(m.timeline, ctx.services);
    rec.figures.previewOnLiveColor = s1(Math.max(...Object.values(shared)));
    rec.notes.push(`seconds each <svc>-preview still held the color its live Service had just moved to: ${Object.entries(shared).map(([k, v]) => `${k} ${v}`).join(", ")}`);
    expect(rec, Object.keys(m.lastEndpointChangeBy).length === ctx.services.length, `only ${Object.keys(m.lastEndpointChangeBy).join(", ") || "no service"} changed endpoints`);
    if (m.ok) ctx.live = to;
}

/**
 * For a run that may stop between two live Services' patches (a killed `up`):
 * each live Service may be on either color, but only on one, only ready pods,
 * never shared with its preview.
 */
function invariantsAllowSplit(ctx: Ctx, rec: ScenarioRecord, m: MeasuredUp, label: string): void {
    invariants(ctx, rec, m, label);
    const last = m.timeline[m.timeline.length - 1];
    rec.notes.push(`${label}: at its end the live Services selected ${ctx.services.map((s) => `${s}=${last.selectors[`${s}-service`]}`).join(", ")}`);
}
