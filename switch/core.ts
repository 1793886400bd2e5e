// The switch's sequencing and decisions, with every outside effect injected:
// the stack file and `pulumi up` (workspace), the API server (cluster),
// Prometheus (metrics), Grafana (annotate), time (clock), Ctrl-C (interrupts)
// and the terminal (out). switch/cli.ts wires the real ones; the tests drive
// it with a fake workspace and cluster and a fake Prometheus on loopback.
//
//   plan -> preflight -> set -> up -> bake -> result
//                          \-> (breach, failed up, interrupt, lost watch)
//                               -> set back -> up -> result
//
// The stack file always ends holding the color the Services select: the set is
// undone before the rollback's up, and if that up fails too the colors are read
// back from the live Services and written to the file.
import { formatDuration } from "./args";
import { Breach, MAX_FAILED_POLLS, Sample, ServiceReading, TargetQueries, bakeQueries, breaches, describeReading, hasData, reading } from "./bake";
import { ImageScans, checkImageScans, errText } from "./scans";
import { Color, ColorEdit, StackColors, effectiveColors } from "./stackfile";

export interface SwitchOptions {
    /** The stack (as given; for messages). */
    readonly stack: string;
    readonly to: Color;
    /** Named services (per-service overrides); empty: the global activeColor. */
    readonly services: readonly string[];
    readonly bakeSeconds: number;
    readonly dryRun: boolean;
    readonly keepOnInterrupt: boolean;
    readonly namespace: string;
    readonly message?: string;
    /** Seconds between bake polls (5). */
    readonly pollSeconds?: number;
    /** Per service, the image tag of the color switched to (the stack file's services.<svc>.<to>.imageTag). */
    readonly imageTags?: Readonly<Record<string, string | undefined>>;
    /** Critical scan findings (or a scan that cannot be read) are printed and accepted instead of refusing. */
    readonly acceptScanFindings?: boolean;
    /** `<service>:<tag>` images whose scan findings the stack file accepts (imageScan.acceptCriticalFindings). */
    readonly acceptedImages?: readonly string[];
}

export interface UpOptions {
    readonly message: string;
    /** Called with each line the engine prints. */
    readonly onOutput: (line: string) => void;
    /** Aborted on a second Ctrl-C: the CLI is sent SIGINT (Pulumi cancels gracefully). */
    readonly signal: AbortSignal;
}

export interface Workspace {
    /** Where the colors live, for messages (the stack file's path). */
    readonly describe: string;
    read(): StackColors | Promise<StackColors>;
    /** Writes the edit atomically; throws with the file untouched on failure. */
    write(edit: ColorEdit): void | Promise<void>;
    /** The gated `pulumi up`; throws when it fails. */
    up(opts: UpOptions): Promise<void>;
}

export interface Cluster {
    /** Ready endpoints of the color behind `<svc>-service`. */
    readyEndpoints(service: string, color: Color): Promise<number>;
    /** The color `<svc>-service` selects now; undefined when there is no such Service. */
    liveColor(service: string): Promise<Color | undefined>;
}

export interface Metrics {
    readonly describe: string;
    /** An instant query; throws when Prometheus cannot be asked or answers with an error. */
    query(promql: string): Promise<Sample[]>;
}

export interface Clock {
    now(): number;
    sleep(ms: number): Promise<void>;
    /** Calls fn every ms until the returned stop is called. */
    every(ms: number, fn: () => void): () => void;
}

export interface Interrupts {
    /** Calls handler on each Ctrl-C (SIGINT); returns the unsubscribe. */
    subscribe(handler: () => void): () => void;
}

export interface Out {
    /** A permanent line. */
    line(text: string): void;
    /** The live status: rewritten in place on a terminal, a plain line otherwise. */
    status(text: string): void;
}

export interface Deps {
    readonly workspace: Workspace;
    readonly cluster: Cluster;
    /** Absent only when the bake is 0 (nothing to watch). */
    readonly metrics?: Metrics;
    /** Best effort: a failure is printed and ignored. */
    readonly annotate?: (text: string, tags: string[]) => Promise<void>;
    /** Absent: images are not checked (the local platform has no registry scans). */
    readonly imageScans?: ImageScans;
    readonly clock: Clock;
    readonly interrupts: Interrupts;
    readonly out: Out;
    /** A second Ctrl-C: leave now (process.exit in the CLI). */
    readonly exitNow: (code: number) => void;
}

export type Outcome = "switched" | "nothing-to-do" | "dry-run" | "refused" | "rolled-back" | "kept" | "rollback-failed" | "inconsistent" | "interrupted";

export interface JournalEntry {
    readonly step: "plan" | "preflight" | "set" | "up" | "bake" | "breach" | "interrupt" | "set-back" | "reconcile" | "annotate" | "result";
    readonly detail: string;
    /** Milliseconds since the start. */
    readonly at: number;
}

export interface SwitchResult {
    readonly code: number;
    readonly outcome: Outcome;
    /** The one-line summary (the CLI prints it on stdout). */
    readonly summary: string;
    readonly journal: readonly JournalEntry[];
    /** What broke the bake, if anything. */
    readonly breaches: readonly Breach[];
    /** Per moved service, the color it ended on (as the stack file now says). */
    readonly live: Readonly<Record<string, Color>>;
}

export const EXIT = { ok: 0, rolledBack: 1, unchanged: 2, rollbackFailed: 4, interrupted: 130 } as const;

/** The colors after an edit (pure). */
export function applyEditToColors(c: StackColors, edit: ColorEdit): StackColors {
    const overrides = { ...c.overrides };
    for (const [s, v] of Object.entries(edit.overrides ?? {})) overrides[s] = v ?? undefined;
    return { services: c.services, overrides, global: edit.global === undefined ? c.global : (edit.global ?? undefined) };
}

/** The edit that makes the switch, and the one that undoes it exactly (a key that was absent is removed again). */
export function switchEdits(c: StackColors, to: Color, services: readonly string[]): { forward: ColorEdit; back: ColorEdit } {
    if (services.length === 0) return { forward: { global: to }, back: { global: c.global ?? null } };
    return {
        forward: { overrides: Object.fromEntries(services.map((s) => [s, to])) },
        back: { overrides: Object.fromEntries(services.map((s) => [s, c.overrides[s] ?? null])) },
    };
}

/** `activeColor=green` / `services.rtpm-api.activeColor=green` / `services.x.activeColor (removed)`. */
export function describeEdit(edit: ColorEdit): string {
    const parts: string[] = [];
    if (edit.global !== undefined) parts.push(edit.global === null ? "activeColor (removed)" : `activeColor=${edit.global}`);
    for (const [s, v] of Object.entries(edit.overrides ?? {})) parts.push(v === null ? `services.${s}.activeColor (removed)` : `services.${s}.activeColor=${v}`);
    return parts.join(", ");
}

const secs = (ms: number) => (ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : formatDuration(ms / 1000));

export async function runSwitch(opts: SwitchOptions, deps: Deps): Promise<SwitchResult> {
    const { workspace, cluster, metrics, clock, out } = deps;
    const t0 = clock.now();
    const journal: JournalEntry[] = [];
    const phases: [string, number][] = [];
    const note = (step: JournalEntry["step"], detail: string) => journal.push({ step, detail, at: clock.now() - t0 });
    const elapsed = () => formatDuration((clock.now() - t0) / 1000);
    const say = (text: string) => out.line(`[switch ${elapsed()}] ${text}`);
    const pollMs = (opts.pollSeconds ?? 5) * 1000;
    const allBreaches: Breach[] = [];

    // ------------------------------------------------------------- interrupts
    let phase: "preflight" | "switching" | "bake" | "rolling-back" | "done" = "preflight";
    let interrupted = false;
    let wake: () => void = () => undefined;
    let onInterrupt = new Promise<void>((r) => (wake = r));
    const upAbort = new AbortController();
    let fileSays = "";
    const unsubscribe = deps.interrupts.subscribe(() => {
        if (phase === "done") return;
        if (interrupted) {
            note("interrupt", "second: exit now");
            upAbort.abort();
            out.line(`[switch ${elapsed()}] second interrupt: exiting now. ${workspace.describe} says ${fileSays || "what it said before"}; a pulumi up in flight was sent SIGINT and cancels on its own (check with pulumi stack --show-urns / npm run switch again).`);
            deps.exitNow(EXIT.interrupted);
            return;
        }
        interrupted = true;
        note("interrupt", phase);
        const what =
            phase === "bake"
                ? opts.keepOnInterrupt
                    ? `stopping the bake; ${opts.to} stays live (--keep-on-interrupt)`
                    : "rolling back"
                : phase === "switching"
                  ? `the switch's pulumi up finishes first (a cancelled up can leave Services half moved), then ${opts.keepOnInterrupt ? "the new color is kept (--keep-on-interrupt)" : "it rolls back"}`
                  : phase === "rolling-back"
                    ? "the rollback continues"
                    : "nothing has changed; stopping";
        out.line(`[switch ${elapsed()}] interrupt: ${what}. Press Ctrl-C again to exit at once.`);
        wake();
    });
    const sleepOrInterrupt = (ms: number) => Promise.race([clock.sleep(ms), onInterrupt]);

    const finish = (code: number, outcome: Outcome, summary: string, live: Record<string, Color>): SwitchResult => {
        phase = "done";
        unsubscribe();
        note("result", outcome);
        return { code, outcome, summary, journal, breaches: allBreaches, live };
    };
    const timed = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
        const start = clock.now();
        try {
            return await fn();
        } finally {
            phases.push([name, clock.now() - start]);
        }
    };
    const phaseText = () => phases.map(([n, ms]) => `${n} ${secs(ms)}`).join(", ");
    const annotate = async (text: string, tags: string[]) => {
        if (!deps.annotate) return;
        try {
            await deps.annotate(text, tags);
            note("annotate", text);
        } catch (e) {
            say(`Grafana annotation skipped (best effort): ${errText(e)}`);
        }
    };

    // ------------------------------------------------------------------- plan
    const before = await workspace.read();
    for (const s of opts.services) {
        if (!before.services.includes(s)) throw new Error(`--service ${s}: no such service in ${workspace.describe}`);
    }
    const { forward, back } = switchEdits(before, opts.to, opts.services);
    const from = effectiveColors(before);
    const after = effectiveColors(applyEditToColors(before, forward));
    const moved = before.services.filter((s) => from[s] !== after[s]);
    const stay = (opts.services.length ? opts.services : before.services).filter((s) => !moved.includes(s));
    const fromColors = [...new Set(moved.map((s) => from[s]))];
    const movedText = moved.length ? `${moved.join(", ")} ${fromColors.join("/")} -> ${opts.to}` : "nothing";
    note("plan", `${describeEdit(forward)}; moves ${moved.join(", ") || "nothing"}`);
    say(`plan for ${opts.stack}: set ${describeEdit(forward)} in ${workspace.describe}; moves ${movedText}`);
    for (const s of stay) {
        const own = before.overrides[s];
        say(
            after[s] === opts.to
                ? `${s} already selects ${opts.to}; unchanged`
                : `${s} keeps ${after[s]} (its own services.${s}.activeColor=${own}; name it with --service to move it)`,
        );
    }
    if (moved.length === 0) {
        return finish(EXIT.ok, "nothing-to-do", `switch ${opts.stack}: nothing to do; ${stay.join(", ")} already on ${opts.to} or kept by their own override; nothing changed`, after);
    }
    const queries: TargetQueries[] = moved.map((service) => bakeQueries({ namespace: opts.namespace, service, color: opts.to }));
    if (opts.bakeSeconds > 0) {
        say(`bake: ${formatDuration(opts.bakeSeconds)} on ${opts.to}, a poll every ${formatDuration(pollMs / 1000)}; rolls back when any of these is over its threshold (the runbook alerts' own expressions, version="${opts.to}"):`);
        for (const q of queries) for (const o of q.objectives) out.line(`    ${q.target.service}: ${o.alertExpr.replace(/\n/g, " ")}`);
        say(`and when ${moved.map((s) => `${s}-service`).join(", ")} lose a ready endpoint of ${opts.to}`);
    } else {
        say("bake: 0 (--bake 0 or promotion.bakeSeconds 0): nothing is watched after the up");
    }

    // -------------------------------------------------------------- preflight
    // Fail closed before anything changes: a bake that cannot read Prometheus or
    // the API server could not see a breach.
    const problems: string[] = [];
    if (opts.bakeSeconds > 0) {
        if (!metrics) problems.push("no Prometheus to watch the bake with");
        else {
            try {
                const r = await metrics.query("vector(1)");
                if (r.length !== 1 || r[0].value !== 1) throw new Error(`vector(1) returned ${JSON.stringify(r)}`);
                say(`Prometheus answers (${metrics.describe})`);
            } catch (e) {
                problems.push(`Prometheus is unreachable (${metrics.describe}): ${errText(e)}`);
            }
        }
    }
    // A color whose image has critical findings in its registry scan never takes
    // traffic; a scan that is missing or unreadable refuses too (fail closed).
    // --accept-scan-findings, or the image in the stack file's reviewed
    // imageScan.acceptCriticalFindings, turns a refusal into a printed warning
    // (an emergency rollback to an image that passed before). switch/scans.ts
    // judges; deploy.yml's scan-check runs the same check before its pulumi up.
    if (deps.imageScans) {
        const images = moved.map((service) => ({ service, color: opts.to, tag: opts.imageTags?.[service] }));
        const accept = { all: opts.acceptScanFindings ? "--accept-scan-findings" : undefined, images: opts.acceptedImages };
        for (const v of await checkImageScans(images, deps.imageScans, { where: workspace.describe, accept })) {
            if (!v.finding) say(v.text);
            else if (v.acceptedBy) say(`accepted (${v.acceptedBy}): ${v.text}`);
            else problems.push(v.text);
        }
    }
    const liveBefore: Record<string, Color | undefined> = {};
    try {
        for (const s of moved) liveBefore[s] = await cluster.liveColor(s);
        const drift = moved.filter((s) => liveBefore[s] !== undefined && liveBefore[s] !== from[s]);
        say(`cluster: ${moved.map((s) => `${s}-service selects ${liveBefore[s] ?? "(no such Service yet)"}`).join(", ")}`);
        if (drift.length) say(`note: ${drift.map((s) => `${s}-service selects ${liveBefore[s]} but the stack file says ${from[s]}`).join("; ")}`);
    } catch (e) {
        const msg = `the cluster is unreachable: ${errText(e)}`;
        if (opts.bakeSeconds > 0) problems.push(msg);
        else say(`${msg} (no bake, so not needed)`);
    }
    note("preflight", problems.length ? problems.join("; ") : "ok");
    if (problems.length) {
        for (const p of problems) say(`refused: ${p}`);
        return finish(EXIT.unchanged, "refused", `switch ${opts.stack}: refused before the switch (${problems.join("; ")}); nothing changed`, from);
    }
    if (opts.dryRun) {
        return finish(EXIT.ok, "dry-run", `switch ${opts.stack} (dry run): would set ${describeEdit(forward)} and move ${movedText}, then bake ${formatDuration(opts.bakeSeconds)}; nothing changed`, from);
    }
    if (interrupted) return finish(EXIT.interrupted, "interrupted", `switch ${opts.stack}: interrupted before the switch; nothing changed`, from);

    // ---------------------------------------------------------------- switch
    phase = "switching";
    const why = opts.message ? `: ${opts.message}` : "";
    try {
        await timed("set", () => workspace.write(forward));
    } catch (e) {
        note("set", `failed: ${errText(e)}`);
        say(`could not write ${workspace.describe}: ${errText(e)}`);
        return finish(EXIT.unchanged, "refused", `switch ${opts.stack}: the stack file could not be written (${errText(e)}); it is unchanged and nothing was deployed`, from);
    }
    note("set", describeEdit(forward));
    fileSays = `${opts.to} for ${moved.join(", ")}`;
    say(`set ${describeEdit(forward)} (written atomically)`);
    await annotate(`switch ${opts.stack}: ${movedText}${why}`, ["switch", opts.stack, opts.to]);

    const runUp = async (label: string, message: string): Promise<string | undefined> => {
        note("up", label);
        say(`pulumi up (${label}): ${message}`);
        let last = "";
        let lastAt = clock.now();
        const start = clock.now();
        // A status line whenever the engine has been quiet for a poll interval (the gate's wait is quiet).
        const stop = clock.every(pollMs, () => {
            if (clock.now() - lastAt >= pollMs - 1) out.status(`[switch ${elapsed()}] up (${label}) ${formatDuration((clock.now() - start) / 1000)}${last ? `; last: ${last.slice(0, 120)}` : ""}`);
        });
        try {
            await timed(label === "switch" ? "up" : "up (rollback)", () =>
                workspace.up({
                    message,
                    signal: upAbort.signal,
                    onOutput: (line) => {
                        const t = line.replace(/\s+$/, "");
                        if (!t.trim()) return;
                        last = t.trim();
                        lastAt = clock.now();
                        out.line(`    ${t}`);
                    },
                }),
            );
            return undefined;
        } catch (e) {
            return errText(e);
        } finally {
            stop();
        }
    };

    const rollback = async (reason: string): Promise<SwitchResult> => {
        phase = "rolling-back";
        say(`rolling back: ${reason}`);
        await annotate(`rollback ${opts.stack}: ${moved.join(", ")} back to ${fromColors.join("/")} (${reason})`, ["switch", "rollback", opts.stack]);
        try {
            await timed("set back", () => workspace.write(back));
        } catch (e) {
            note("set-back", `failed: ${errText(e)}`);
            // The file still says the new color and nothing undid the switch: file and cluster agree.
            say(`could not write ${workspace.describe}: ${errText(e)}. The rollback did NOT happen; the file still says ${opts.to}, as do the Services.`);
            return finish(EXIT.rollbackFailed, "rollback-failed", `switch ${opts.stack}: ${movedText} FAILED (${reason}); the rollback could not write the stack file (${errText(e)}); ${opts.to} is still live and the file says so; ${phaseText()}`, after);
        }
        note("set-back", describeEdit(back));
        fileSays = `${fromColors.join("/")} for ${moved.join(", ")}`;
        say(`set ${describeEdit(back)} (written atomically)`);
        const failed = await runUp("rollback", `roll back ${moved.join(", ")} to ${fromColors.join("/")}: ${reason}`);
        if (failed === undefined) {
            const mismatched = await reconcile(from);
            if (mismatched === undefined) {
                return finish(EXIT.rolledBack, "rolled-back", `switch ${opts.stack}: ${movedText} ROLLED BACK (${reason}); ${phaseText()}; ${fromColors.join("/")} is live and the stack file says so`, from);
            }
            return finish(EXIT.rollbackFailed, "inconsistent", `switch ${opts.stack}: ${movedText} rolled back (${reason}) but ${mismatched}; ${phaseText()}`, currentFile());
        }
        say(`the rollback's pulumi up failed: ${failed}`);
        const mismatched = await reconcile(from);
        return finish(
            EXIT.rollbackFailed,
            "rollback-failed",
            `switch ${opts.stack}: ${movedText} FAILED (${reason}) and the rollback's up failed too (${failed}); ${mismatched ?? "the Services select the old color"}; ${phaseText()}`,
            currentFile(),
        );
    };

    let fileNow: Record<string, Color> = after;
    const currentFile = () => fileNow;
    /**
     * Reads what each moved Service selects and, where the stack file says
     * otherwise, writes the Service's color into the file (per service), so
     * the file ends telling what is live. Returns a description of what did
     * not match, or undefined when the cluster already matched `expected`.
     */
    const reconcile = async (expected: Record<string, Color>): Promise<string | undefined> => {
        fileNow = expected;
        const live: Record<string, Color | undefined> = {};
        try {
            for (const s of moved) live[s] = await cluster.liveColor(s);
        } catch (e) {
            note("reconcile", `cluster unreadable: ${errText(e)}`);
            return `the live Services could not be read (${errText(e)}); the stack file says ${moved.map((s) => `${s}=${expected[s]}`).join(", ")}: check with kubectl get service -l app.kubernetes.io/component=live`;
        }
        const wrong = moved.filter((s) => live[s] !== undefined && live[s] !== expected[s]);
        if (!wrong.length) return undefined;
        const edit: ColorEdit = { overrides: Object.fromEntries(wrong.map((s) => [s, live[s]!])) };
        try {
            await workspace.write(edit);
            fileNow = { ...expected, ...Object.fromEntries(wrong.map((s) => [s, live[s]!])) };
            note("reconcile", describeEdit(edit));
            say(`the Services select other colors than planned; wrote ${describeEdit(edit)} so the stack file says what is live`);
            return `${wrong.map((s) => `${s}-service selects ${live[s]}`).join(", ")} (now written to the stack file)`;
        } catch (e) {
            note("reconcile", `write failed: ${errText(e)}`);
            return `${wrong.map((s) => `${s}-service selects ${live[s]}`).join(", ")} but the stack file could not be updated (${errText(e)})`;
        }
    };

    const upFailed = await runUp("switch", `switch ${moved.join(", ")} to ${opts.to}${why}`);
    if (upFailed !== undefined) {
        say(`the switch's pulumi up failed: ${upFailed}`);
        return rollback(`the switch's pulumi up failed: ${upFailed}`);
    }
    say(`pulumi up done: ${moved.map((s) => `${s}-service`).join(", ")} select ${opts.to}`);
    if (interrupted) {
        if (opts.keepOnInterrupt) {
            const m = await reconcile(after);
            return finish(m ? EXIT.rollbackFailed : EXIT.interrupted, m ? "inconsistent" : "kept", `switch ${opts.stack}: ${movedText}; interrupted before the bake, kept (--keep-on-interrupt), NOT baked; ${phaseText()}${m ? `; ${m}` : `; ${opts.to} is live and the stack file says so`}`, currentFile());
        }
        const r = await rollback("interrupted (Ctrl-C) during the switch");
        return r.code === EXIT.rolledBack ? { ...r, code: EXIT.interrupted } : r;
    }

    // ------------------------------------------------------------------ bake
    if (opts.bakeSeconds > 0) {
        phase = "bake";
        note("bake", `${opts.bakeSeconds}s`);
        const bakeStart = clock.now();
        const baseline: Record<string, number | undefined> = {};
        const everData: Record<string, boolean> = {};
        let failedPolls = 0;
        let lastFailure = "";
        let verdict: { kind: "breach" | "blind" | "interrupt" | "healthy"; reason: string } | undefined;
        while (!verdict) {
            if (interrupted) {
                verdict = { kind: "interrupt", reason: "interrupted (Ctrl-C) during the bake" };
                break;
            }
            const readings: string[] = [];
            const found: Breach[] = [];
            const failures: string[] = [];
            for (const q of queries) {
                let endpoints: number | undefined;
                try {
                    endpoints = await cluster.readyEndpoints(q.target.service, q.target.color);
                } catch (e) {
                    failures.push(`API server: ${errText(e)}`);
                }
                let r: ServiceReading | undefined;
                try {
                    const rate = await metrics!.query(q.requestRate);
                    const results: Sample[][] = [];
                    for (const o of q.objectives) results.push(await metrics!.query(o.query));
                    r = reading(q, rate, results, endpoints);
                } catch (e) {
                    failures.push(`Prometheus: ${errText(e)}`);
                    r = { service: q.target.service, values: {}, readyEndpoints: endpoints };
                }
                if (baseline[q.target.service] === undefined && endpoints !== undefined) baseline[q.target.service] = endpoints;
                if (hasData(r)) everData[q.target.service] = true;
                found.push(...breaches(q, r, baseline[q.target.service]));
                readings.push(describeReading(q, r, baseline[q.target.service]));
            }
            const bakeElapsed = clock.now() - bakeStart;
            out.status(`[switch ${elapsed()}] bake ${opts.to} ${formatDuration(bakeElapsed / 1000)}/${formatDuration(opts.bakeSeconds)}: ${readings.join("; ")}${failures.length ? `; FAILED: ${failures.join("; ")}` : ""}`);
            if (found.length) {
                allBreaches.push(...found);
                for (const b of found) {
                    note("breach", `${b.service} ${b.what} ${b.value} ${b.threshold}`);
                    say(`BREACH ${b.service}: ${b.what} is ${b.value}, threshold ${b.threshold}\n    query: ${b.query.replace(/\n/g, " ")}`);
                }
                verdict = { kind: "breach", reason: found.map((b) => `${b.service} ${b.what} ${b.value} ${b.threshold}`).join("; ") };
                break;
            }
            if (failures.length) {
                failedPolls++;
                lastFailure = failures.join("; ");
                say(`poll failed (${failedPolls} of ${MAX_FAILED_POLLS} in a row allowed): ${lastFailure}`);
                if (failedPolls >= MAX_FAILED_POLLS) {
                    verdict = { kind: "blind", reason: `cannot watch the new color: ${MAX_FAILED_POLLS} polls in a row failed (${lastFailure})` };
                    break;
                }
            } else failedPolls = 0;
            if (bakeElapsed >= opts.bakeSeconds * 1000) {
                const blind = moved.filter((s) => !everData[s]);
                verdict = blind.length
                    ? { kind: "blind", reason: `no data for ${blind.map((s) => `${s} version="${opts.to}"`).join(", ")} during the ${formatDuration(opts.bakeSeconds)} bake (no requests, or no latency histogram): its health is unknown` }
                    : { kind: "healthy", reason: "" };
                break;
            }
            await sleepOrInterrupt(Math.min(pollMs, opts.bakeSeconds * 1000 - bakeElapsed));
        }
        phases.push(["bake", clock.now() - bakeStart]);
        note("bake", verdict.kind);
        if (verdict.kind === "interrupt" && opts.keepOnInterrupt) {
            const m = await reconcile(after);
            return finish(m ? EXIT.rollbackFailed : EXIT.interrupted, m ? "inconsistent" : "kept", `switch ${opts.stack}: ${movedText}; bake interrupted, kept (--keep-on-interrupt); ${phaseText()}${m ? `; ${m}` : `; ${opts.to} is live and the stack file says so`}`, currentFile());
        }
        if (verdict.kind !== "healthy") {
            if (verdict.kind === "blind") say(`fail closed: ${verdict.reason}`);
            const r = await rollback(verdict.reason);
            return verdict.kind === "interrupt" && r.code === EXIT.rolledBack ? { ...r, code: EXIT.interrupted } : r;
        }
        say(`bake passed: ${formatDuration(opts.bakeSeconds)} with every objective within its threshold and every endpoint ready`);
    }
    const mismatch = await reconcile(after);
    if (mismatch) return finish(EXIT.rollbackFailed, "inconsistent", `switch ${opts.stack}: ${movedText}, but ${mismatch}; ${phaseText()}`, currentFile());
    await annotate(`switch ${opts.stack} done: ${movedText}`, ["switch", opts.stack, opts.to]);
    return finish(EXIT.ok, "switched", `switch ${opts.stack}: ${movedText}; ${phaseText()}; ${opts.to} is live and the stack file says so`, after);
}
