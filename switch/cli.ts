// `npm run switch -- --stack <stack> --to <blue|green> ...`: wires the real
// workspace (Automation API), cluster, Prometheus and Grafana into the
// sequencing of switch/core.ts. docs/SWITCH.md describes what it does.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { ConfigSource } from "../config/source";
import { didYouMean } from "../config/schema";
import { readPromotion } from "../config/services";
import { KubeTarget } from "../components/gate-runtime";
import { SwitchArgs, USAGE, UsageError, parseArgs } from "./args";
import { Cluster, Clock, Deps, EXIT, Interrupts, Metrics, Out, runSwitch } from "./core";
import { KubeCluster, Prometheus, grafanaAnnotator, grafanaSender, refreshingTarget } from "./remote";
import { acceptedImages, ecrImageScans, stackRegion, targetImageTags } from "./scans";
import { StackFile, StackFileError, StackFileView, openStackFile, projectDir, shortStackName } from "./stackfile";
import { AutomationWorkspace } from "./workspace";

/** Status lines in place on a terminal, plain lines otherwise (CI logs). */
export function streamOut(stream: NodeJS.WriteStream = process.stderr): Out & { end(): void } {
    const tty = Boolean(stream.isTTY);
    let shown = false;
    const clear = () => {
        if (shown) stream.write("\r\x1b[2K");
        shown = false;
    };
    return {
        line(text) {
            clear();
            stream.write(`${text}\n`);
        },
        status(text) {
            if (!tty) {
                stream.write(`${text}\n`);
                return;
            }
            const cols = stream.columns || 120;
            stream.write(`\r\x1b[2K${text.length >= cols ? `${text.slice(0, cols - 2)}…` : text}`);
            shown = true;
        },
        end: clear,
    };
}

export const realClock: Clock = {
    now: () => Date.now(),
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
    every: (ms, fn) => {
        const t = setInterval(fn, ms);
        return () => clearInterval(t);
    },
};

export const processInterrupts: Interrupts = {
    subscribe(handler) {
        const h = () => handler();
        process.on("SIGINT", h);
        process.on("SIGTERM", h);
        return () => {
            process.off("SIGINT", h);
            process.off("SIGTERM", h);
        };
    },
};

/** The kubeconfig the local platform's provider reads: the first readable file of KUBECONFIG, else ~/.kube/config. */
function ambientKubeconfig(env: NodeJS.ProcessEnv): string | undefined {
    const files = (env.KUBECONFIG || path.join(os.homedir(), ".kube", "config")).split(path.delimiter).filter(Boolean);
    for (const f of files) {
        try {
            return fs.readFileSync(f, "utf8");
        } catch {
            // the next one
        }
    }
    return undefined;
}

/** A cluster whose every call fails with why there is no cluster access. */
const unreachable = (why: string): Cluster => ({
    readyEndpoints: () => Promise.reject(new Error(why)),
    liveColor: () => Promise.reject(new Error(why)),
});

function usage(msg: string): number {
    process.stderr.write(`switch: ${msg}\n(npm run switch -- --help for the flags; nothing was changed)\n`);
    return EXIT.unchanged;
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
    let args: SwitchArgs;
    try {
        const p = parseArgs(argv);
        if (p.help) {
            process.stdout.write(`${USAGE}\n`);
            return EXIT.ok;
        }
        args = p;
    } catch (e) {
        if (e instanceof UsageError) return usage(e.message);
        throw e;
    }
    const out = streamOut();
    const dir = projectDir();
    const short = shortStackName(args.stack);
    let file: StackFile;
    let view: StackFileView;
    try {
        ({ file, view } = openStackFile(dir, args.stack));
    } catch (e) {
        if (e instanceof StackFileError) return usage(e.message);
        throw e;
    }
    for (const s of args.services) {
        if (!view.services.includes(s)) {
            const hint = didYouMean(s, view.services);
            return usage(`--service ${s}: no such service in ${path.basename(file.file)}${hint ? `; did you mean ${hint}?` : ""} (services: ${view.services.join(", ")})`);
        }
    }
    let bakeSeconds = args.bakeSeconds;
    if (bakeSeconds === undefined) {
        const src = new ConfigSource(short, view.raw);
        const promotion = readPromotion(src);
        if (src.issues.length) return usage(`${path.basename(file.file)}: ${src.issues.map((i) => `${i.key}: ${i.message}`).join("; ")}`);
        bakeSeconds = promotion.bakeSeconds;
    }
    const namespace = view.raw.namespace || short;
    const platform = view.raw.platform || "aws";
    // AWS: the image scans are read in the stack's own region, and the stack file may accept an image's
    // findings (imageScan.acceptCriticalFindings); a stack file without a valid region or with a bad entry stops here.
    let region: string | undefined;
    let acceptedImagesList: readonly string[] = [];
    if (platform !== "local") {
        const r = stackRegion(view, short);
        if ("problem" in r) return usage(`${path.basename(file.file)}: ${r.problem}`);
        region = r.region;
        const a = acceptedImages(view, short);
        if ("problem" in a) return usage(`${path.basename(file.file)}: ${a.problem}`);
        acceptedImagesList = a.images;
    }

    const log = (text: string) => out.line(`[switch] ${text}`);
    log(`opening stack ${args.stack} in ${dir} (Pulumi Automation API, LocalWorkspace)`);
    let workspace: AutomationWorkspace;
    try {
        workspace = await AutomationWorkspace.open(dir, args.stack, file, log);
    } catch (e) {
        return usage(`cannot open stack ${args.stack}: ${(e as Error).message.split("\n").filter(Boolean).slice(-3).join(" / ")}`);
    }

    // The cluster, with the stack's own credentials.
    let outputs: Record<string, unknown> = {};
    let target: (() => KubeTarget) | undefined;
    let noTarget = "";
    try {
        if (platform === "local") {
            const kubeconfig = ambientKubeconfig(env);
            if (!kubeconfig) throw new Error("no kubeconfig (KUBECONFIG, ~/.kube/config) for the local platform");
            let context: string | undefined;
            try {
                context = JSON.parse(view.raw.local || "{}").kubeContext;
            } catch {
                // the program validates local; its current context then
            }
            target = refreshingTarget(kubeconfig, context);
        } else {
            outputs = await workspace.outputs();
            const kc = outputs.kubeconfig;
            if (kc === undefined || kc === null || kc === "") throw new Error(`the stack has no kubeconfig output (deployed yet?)`);
            target = refreshingTarget(typeof kc === "string" ? kc : JSON.stringify(kc));
        }
        target(); // resolve once now: a broken kubeconfig or exec plugin shows before anything changes
    } catch (e) {
        target = undefined;
        noTarget = `no cluster access: ${(e as Error).message}`;
    }
    const cluster: Cluster = target ? new KubeCluster(target, namespace) : unreachable(noTarget);

    let metrics: Metrics | undefined;
    if (args.prometheusUrl) metrics = Prometheus.at(args.prometheusUrl);
    else if (platform === "local") log("the local platform deploys no Prometheus; give --prometheus-url to bake (or --bake 0)");
    else if (target) metrics = Prometheus.viaProxy(target);

    let annotate: Deps["annotate"];
    const password = (typeof outputs.grafanaAdminPassword === "string" ? outputs.grafanaAdminPassword : undefined) ?? env.GRAFANA_ADMIN_PASSWORD;
    if (args.grafanaUrl || (platform !== "local" && target)) {
        if (password) annotate = grafanaAnnotator(grafanaSender(args.grafanaUrl ? { url: args.grafanaUrl } : { target: target! }), password);
        else log("no Grafana annotations: no grafanaAdminPassword output and no GRAFANA_ADMIN_PASSWORD");
    }

    // The image each moved service switches to, and its registry scan (AWS: ECR).
    const imageTags = targetImageTags(view.raw.services, args.to);
    let imageScans: Deps["imageScans"];
    if (platform === "local") log("image scans: not checked (the local platform has no registry scans)");
    else imageScans = ecrImageScans(region!);

    try {
        const result = await runSwitch(
            {
                stack: args.stack,
                to: args.to,
                services: args.services,
                bakeSeconds,
                dryRun: args.dryRun,
                keepOnInterrupt: args.keepOnInterrupt,
                namespace,
                message: args.message,
                imageTags,
                acceptScanFindings: args.acceptScanFindings,
                acceptedImages: acceptedImagesList,
            },
            { workspace, cluster, metrics, annotate, imageScans, clock: realClock, interrupts: processInterrupts, out, exitNow: (code) => process.exit(code) },
        );
        out.end();
        process.stdout.write(`${result.summary}\n`);
        return result.code;
    } catch (e) {
        out.end();
        process.stderr.write(`switch: unexpected error: ${(e as Error).stack ?? e}\n(check ${path.basename(file.file)} with git diff and the Services with kubectl get service -n ${namespace})\n`);
        return 3;
    }
}

export function run(argv: readonly string[]): void {
    main(argv).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`switch: ${(e as Error).stack ?? e}\n`);
            process.exit(3);
        },
    );
}
