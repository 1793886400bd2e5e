// Fakes for the switch's sequencing tests: a Prometheus that is a real HTTP
// server on 127.0.0.1 (queried by the switch's own Prometheus client), a
// workspace whose stack file is a real file written by the real atomic writer
// and whose `up` moves a fake cluster's selectors, a virtual clock, Ctrl-C on
// cue, and captured output.
import * as fs from "fs";
import * as http from "http";
import * as os from "os";
import * as path from "path";
import { AddressInfo } from "net";
import { Clock, Cluster, Deps, Interrupts, Out, UpOptions, Workspace } from "../switch/core";
import { Prometheus } from "../switch/remote";
import { ImageScans, ScanResult } from "../switch/scans";
import { Color, ColorEdit, StackColors, StackFile, WriteFs, effectiveColors } from "../switch/stackfile";
import { ROOT } from "../plan/stackfile";

/** Which query the fake Prometheus was asked. */
export type QueryKind = "rate" | "errors" | "p95" | "vector";
/** A value for a (kind, app, version) at virtual time t (ms since the start); undefined: no series; NaN allowed. */
export type Script = (q: { kind: QueryKind; app: string; version: string; t: number }) => number | undefined;

/** Healthy traffic on every color: 20 req/s, 0.5% errors, P95 0.3 s. */
export const healthy: Script = ({ kind }) => (kind === "rate" ? 20 : kind === "errors" ? 0.005 : kind === "p95" ? 0.3 : 1);

/**
 * A registry whose scans answer from a table, `<service>:<tag>` before `<service>` (a result or an error),
 * and `clean` for anything else, recording what was asked.
 */
export function fakeScans(
    table: Record<string, ScanResult | Error> = {},
    clean: ScanResult = { status: "COMPLETE", critical: 0, high: 0 },
): ImageScans & { asked: string[] } {
    const asked: string[] = [];
    return {
        describe: "ECR us-east-1",
        asked,
        async scan(service, tag) {
            asked.push(`${service}:${tag}`);
            const r = table[`${service}:${tag}`] ?? table[service] ?? clean;
            if (r instanceof Error) throw r;
            return r;
        },
    };
}

export class FakePrometheus {
    readonly queries: { t: number; query: string }[] = [];
    /** While true, every query gets HTTP 503. */
    down: (t: number) => boolean = () => false;
    private server?: http.Server;
    url = "";

    constructor(
        private readonly clock: FakeClock,
        public script: Script = healthy,
    ) {}

    async start(): Promise<this> {
        this.server = http.createServer((req, res) => {
            const u = new URL(req.url ?? "/", "http://x");
            const query = u.searchParams.get("query") ?? "";
            const t = this.clock.now();
            this.queries.push({ t, query });
            if (u.pathname !== "/api/v1/query") {
                res.writeHead(404).end("not found");
                return;
            }
            if (this.down(t)) {
                res.writeHead(503, { "Content-Type": "text/plain" }).end("Service Unavailable");
                return;
            }
            const kind: QueryKind = query === "vector(1)" ? "vector" : query.includes("histogram_quantile") ? "p95" : query.includes('code=~"5.."') ? "errors" : "rate";
            const app = /app=~"([^"]+)"/.exec(query)?.[1] ?? "";
            const version = /version="([^"]+)"/.exec(query)?.[1] ?? "";
            const v = this.script({ kind, app, version, t });
            const ts = t / 1000;
            const result = v === undefined ? [] : [{ metric: kind === "vector" ? {} : { namespace: "staging", app }, value: [ts, String(v)] }];
            res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ status: "success", data: { resultType: "vector", result } }));
        });
        await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", r));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        return this;
    }

    /** The switch's real client, pointed here (what --prometheus-url does). */
    client(): Prometheus {
        return Prometheus.at(this.url, 2000);
    }

    async stop(): Promise<void> {
        if (!this.server) return;
        const s = this.server;
        this.server = undefined;
        s.closeAllConnections?.();
        await new Promise<void>((r) => s.close(() => r()));
    }
}

/** Virtual time: sleep advances it at once; timers fire, in order, as it passes their time. */
export class FakeClock implements Clock {
    private t = 0;
    private readonly timers: { at: number; fn: () => void; every?: number }[] = [];
    now(): number {
        return this.t;
    }
    async sleep(ms: number): Promise<void> {
        await new Promise((r) => setImmediate(r));
        this.advance(ms);
    }
    advance(ms: number): void {
        const target = this.t + ms;
        for (;;) {
            const due = this.timers.filter((x) => x.at <= target).sort((a, b) => a.at - b.at)[0];
            if (!due) break;
            this.t = Math.max(this.t, due.at);
            if (due.every) due.at += due.every;
            else this.timers.splice(this.timers.indexOf(due), 1);
            due.fn();
        }
        this.t = target;
    }
    every(ms: number, fn: () => void): () => void {
        const timer = { at: this.t + ms, fn, every: ms };
        this.timers.push(timer);
        return () => {
            const i = this.timers.indexOf(timer);
            if (i >= 0) this.timers.splice(i, 1);
        };
    }
    /** Calls fn once virtual time reaches at (ms). */
    at(at: number, fn: () => void): void {
        this.timers.push({ at, fn });
    }
}

export class FakeInterrupts implements Interrupts {
    private handler?: () => void;
    subscribe(h: () => void): () => void {
        this.handler = h;
        return () => (this.handler = undefined);
    }
    /** Ctrl-C. */
    fire(): void {
        this.handler?.();
    }
}

export class CapturedOut implements Out {
    readonly lines: string[] = [];
    readonly statuses: string[] = [];
    line(text: string): void {
        this.lines.push(text);
    }
    status(text: string): void {
        this.statuses.push(text);
    }
    get text(): string {
        return [...this.lines, ...this.statuses].join("\n");
    }
}

/** A copy of a committed stack file (and Pulumi.yaml) in a temp dir. */
export function projectCopy(stack = "staging"): { dir: string; file: string; original: string } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-switch-"));
    fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    fs.copyFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), file);
    return { dir, file, original: fs.readFileSync(file, "utf8") };
}

/** The real fs, with a failure injected into the n-th rename (counting from 1), or into every one. */
export function failingFs(failOn: (n: number) => boolean): WriteFs & { renames: number } {
    const f = {
        renames: 0,
        openSync: (p: string, flags: string, mode?: number) => fs.openSync(p, flags, mode),
        writeSync: (fd: number, b: Buffer, o: number, l: number) => fs.writeSync(fd, b, o, l),
        fsyncSync: (fd: number) => fs.fsyncSync(fd),
        closeSync: (fd: number) => fs.closeSync(fd),
        rmSync: (p: string, o: { force: boolean }) => fs.rmSync(p, o),
        statSync: (p: string) => fs.statSync(p),
        renameSync: (a: string, b: string) => {
            f.renames++;
            if (failOn(f.renames)) {
                const e: NodeJS.ErrnoException = new Error(`EIO: i/o error, rename '${a}' -> '${b}'`);
                e.code = "EIO";
                throw e;
            }
            fs.renameSync(a, b);
        },
    };
    return f;
}

/** The cluster the fake `up` deploys to: which color each `<svc>-service` selects, and ready endpoints per color. */
export class FakeCluster implements Cluster {
    readonly live: Record<string, Color> = {};
    /** Ready endpoints per service and color at virtual time t; default: 2 for the color its Service selects. */
    endpoints: (svc: string, color: Color, t: number) => number | undefined;
    unreachable = false;

    constructor(private readonly clock: FakeClock, colors: Record<string, Color>) {
        Object.assign(this.live, colors);
        this.endpoints = (svc, color) => (this.live[svc] === color ? 2 : 0);
    }
    async readyEndpoints(service: string, color: Color): Promise<number> {
        if (this.unreachable) throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
        const n = this.endpoints(service, color, this.clock.now());
        if (n === undefined) throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
        return n;
    }
    async liveColor(service: string): Promise<Color | undefined> {
        if (this.unreachable) throw new Error("connect ECONNREFUSED 127.0.0.1:6443");
        return this.live[service];
    }
}

export interface UpScript {
    /** Fail the n-th up (1-based) with this message; the cluster is left as `leaves` says (default: unchanged). */
    fail?: (n: number) => string | undefined;
    /** What a failed up leaves the cluster selecting (default: nothing moved). */
    leaves?: (n: number, wanted: Record<string, Color>) => Record<string, Color> | undefined;
    /** Virtual ms the n-th up takes (default 30 s). */
    seconds?: (n: number) => number;
    /** Resolves when the n-th up may finish (for an interrupt while it runs). */
    hold?: (n: number) => Promise<void> | undefined;
    /** Runs after the n-th up succeeded (something else moving a selector). */
    after?: (n: number, live: Record<string, Color>) => void;
}

/** The workspace: a real stack file (real atomic writer) and an `up` that moves the fake cluster to what the file says. */
export class FakeWorkspace implements Workspace {
    readonly describe: string;
    readonly file: StackFile;
    ups = 0;
    readonly upMessages: string[] = [];
    lastSignal?: AbortSignal;

    constructor(
        dir: string,
        stack: string,
        private readonly clock: FakeClock,
        private readonly cluster: FakeCluster,
        readonly wfs: WriteFs,
        private readonly script: UpScript = {},
    ) {
        this.file = new StackFile(dir, stack, wfs);
        this.describe = `Pulumi.${stack}.yaml`;
    }
    read(): StackColors {
        return this.file.read();
    }
    write(edit: ColorEdit): void {
        this.file.write(edit);
    }
    async up(o: UpOptions): Promise<void> {
        const n = ++this.ups;
        this.upMessages.push(o.message);
        this.lastSignal = o.signal;
        o.onOutput("Updating (staging):");
        const hold = this.script.hold?.(n);
        if (hold) await hold;
        await this.clock.sleep((this.script.seconds?.(n) ?? 30) * 1000);
        const wanted = effectiveColors(this.file.read());
        const failure = this.script.fail?.(n);
        if (failure) {
            Object.assign(this.cluster.live, this.script.leaves?.(n, wanted) ?? {});
            o.onOutput(`error: ${failure}`);
            throw new Error(`code: 255\n stderr: error: update failed: ${failure}`);
        }
        Object.assign(this.cluster.live, wanted);
        this.script.after?.(n, this.cluster.live);
        o.onOutput("Resources: 4 updated");
    }
}

/** Everything a sequencing test needs, wired together. */
export interface Rig {
    dir: string;
    file: string;
    original: string;
    clock: FakeClock;
    prom: FakePrometheus;
    cluster: FakeCluster;
    workspace: FakeWorkspace;
    interrupts: FakeInterrupts;
    out: CapturedOut;
    exits: number[];
    annotations: string[];
    deps: Deps;
}

export async function rig(o: { stack?: string; script?: Script; up?: UpScript; wfs?: WriteFs; annotateFails?: boolean } = {}): Promise<Rig> {
    const stack = o.stack ?? "staging";
    const { dir, file, original } = projectCopy(stack);
    const clock = new FakeClock();
    const prom = await new FakePrometheus(clock, o.script).start();
    const cluster = new FakeCluster(clock, effectiveColors(new StackFile(dir, stack).read()));
    const wfs = o.wfs ?? failingFs(() => false);
    const workspace = new FakeWorkspace(dir, stack, clock, cluster, wfs, o.up);
    const interrupts = new FakeInterrupts();
    const out = new CapturedOut();
    const exits: number[] = [];
    const annotations: string[] = [];
    const deps: Deps = {
        workspace,
        cluster,
        metrics: prom.client(),
        annotate: async (text) => {
            if (o.annotateFails) throw new Error("connect ECONNREFUSED (Grafana)");
            annotations.push(text);
        },
        clock,
        interrupts,
        out,
        exitNow: (code) => exits.push(code),
    };
    return { dir, file, original, clock, prom, cluster, workspace, interrupts, out, exits, annotations, deps };
}

export async function teardown(r: Rig | undefined): Promise<void> {
    if (!r) return;
    await r.prom.stop();
    fs.rmSync(r.dir, { recursive: true, force: true });
}
