// `npm run scan-check -- --stack <stack> [--json]`: the runbook's
// pre-deployment "Security scan completed (no critical vulnerabilities)" on the
// path `npm run switch` does not take: a stack file edited by hand (an
// activeColor flip, a new imageTag for the live color), merged, and deployed by
// deploy.yml's `pulumi up`. deploy.yml runs it before each up. For every
// service, the image that serves live traffic after the up (the imageTag of its
// live color: services.<svc>.activeColor, else activeColor) must have a
// COMPLETE ECR scan without critical findings, unless the stack file's reviewed
// imageScan.acceptCriticalFindings names it. The judgement is switch/scans.ts's,
// the one the switch's preflight makes. docs/SWITCH.md "Image scans".
import * as path from "path";
import { ConfigSource } from "../config/source";
import { readBootstrap } from "../config/bootstrap";
import { UsageError, parseFlags, stackFlag } from "./args";
import { ACCEPT_KEY, Finding, ImageScans, ImageVerdict, acceptedImages, checkImageScans, ecrImageScans, stackRegion, targetImageTags } from "./scans";
import { COLORS, Color, StackFileError, StackFileView, effectiveColors, openStackFile, otherColor, projectDir, shortStackName } from "./stackfile";

export const SCAN_CHECK_EXIT = { ok: 0, refused: 1, usage: 2, unexpected: 3 } as const;

export const SCAN_CHECK_USAGE = `Usage: npm run scan-check -- --stack <stack> [--json]

Before deploy.yml's pulumi up: for every service of the stack, the image that serves live
traffic after the up (services.<svc>.<live color>.imageTag, the live color being
services.<svc>.activeColor, else activeColor) must have a COMPLETE ECR scan without critical
findings (aws ecr describe-image-scan-findings, in the stack's aws:region, with the caller's
credentials). An image the stack file lists in imageScan.acceptCriticalFindings
("<service>:<tag>", a reviewed change for an emergency) is printed as accepted instead.
The other color's image is checked too, as a note: it takes no traffic until a switch,
which refuses it. docs/SWITCH.md "Image scans".

  --stack <stack>   the stack to check (production, staging; org/stack accepted)
  --json            the report as JSON on stdout: {stack, region, images: [{service, color, tag,
                    status, critical, high, verdict}], ok}
  --help            this text

Exit status: 0 every live image passes or is accepted (or the stack has no registry scans);
1 refused: a live image has critical findings, no completed scan, or a scan that cannot be
read; 2 bad flags, or a stack file that cannot be checked; 3 unexpected error.`;

export interface ScanCheckArgs {
    readonly stack: string;
    readonly json: boolean;
}

export function parseScanCheckArgs(argv: readonly string[]): { readonly help: true } | ({ readonly help: false } & ScanCheckArgs) {
    const { values, bools } = parseFlags(argv, { values: ["--stack"], bools: ["--json", "--help"], example: "--stack" });
    if (bools.has("--help")) return { help: true };
    return { help: false, stack: stackFlag(values["--stack"]?.[0]), json: bools.has("--json") };
}

/**
 * A live image's verdict: clean, accepted (imageScan.acceptCriticalFindings),
 * not-pushed (bootstrap.phase platform: not in ECR, so not started), or what
 * refuses it.
 */
export type Verdict = "clean" | "accepted" | "not-pushed" | Finding;
const PASSING: readonly Verdict[] = ["clean", "accepted", "not-pushed"];

export interface ReportImage {
    readonly service: string;
    /** The color live after the up. */
    readonly color: Color;
    readonly tag: string | null;
    /** The scan's status (COMPLETE, IN_PROGRESS, ...); null when it could not be read. */
    readonly status: string | null;
    readonly critical: number | null;
    readonly high: number | null;
    readonly verdict: Verdict;
}

/** `--json`'s report. */
export interface ScanReport {
    readonly stack: string;
    /** Where the scans were read; null when the stack has no registry scans (platform local). */
    readonly region: string | null;
    readonly images: readonly ReportImage[];
    readonly ok: boolean;
}

/** How to accept one image in the stack file. */
const acceptHint = (image: string, file: string) => `add "${image}" to ${ACCEPT_KEY} in ${file} (a reviewed change; remove it after the emergency)`;

/** What to do about a refused image, before the acceptance. */
const FIX: Readonly<Record<Finding, string>> = {
    critical: "Deploy an image without critical findings",
    incomplete: "Wait for the scan to complete and run again",
    unreadable: "Check the credentials (ecr:DescribeImageScanFindings) and the registry, then run again",
    missing: 'Push the image first (docs/FIRST-DEPLOY.md "Bootstrap order")',
    "no-tag": "Set its imageTag",
};

/**
 * Checks one stack file; `say` gets each line for stderr. Throws StackFileError
 * when the stack file cannot be checked (no valid region, a bad acceptance).
 */
export async function checkStack(
    view: StackFileView,
    stack: string,
    fileName: string,
    scansIn: (region: string) => ImageScans,
    say: (line: string) => void,
): Promise<{ code: number; report: ScanReport; summary: string }> {
    const short = shortStackName(stack);
    if ((view.raw.platform || "aws") === "local") {
        say("platform local: its registry has no scans; nothing to check");
        return { code: SCAN_CHECK_EXIT.ok, report: { stack, region: null, images: [], ok: true }, summary: `scan-check ${stack}: platform local, no registry scans; nothing checked` };
    }
    const r = stackRegion(view, short);
    if ("problem" in r) throw new StackFileError(`${fileName}: ${r.problem}`);
    const a = acceptedImages(view, short);
    if ("problem" in a) throw new StackFileError(`${fileName}: ${a.problem}`);
    const src = new ConfigSource(short, view.raw);
    const { phase } = readBootstrap(src);
    if (src.issues.length) throw new StackFileError(`${fileName}: ${src.issues.map((i) => `${i.key}: ${i.message}`).join("; ")}`);

    const scans = scansIn(r.region);
    const live = effectiveColors(view);
    const tags = Object.fromEntries(COLORS.map((c) => [c, targetImageTags(view.raw.services, c)])) as Record<Color, Record<string, string | undefined>>;
    const image = (service: string, color: Color) => ({ service, color, tag: tags[color][service] });
    const opts = { where: fileName, accept: { images: a.images } };
    say(`${stack}: the image each service serves live traffic from after pulumi up, by its ${scans.describe} scan`);
    if (phase === "platform")
        say("bootstrap.phase is platform: a service not running yet is not started, so its image may not be in ECR yet (skipped); a running service keeps running on its live image, checked as usual");
    const verdicts = await checkImageScans(view.services.map((s) => image(s, live[s])), scans, opts);
    // The other color takes no traffic, so it never refuses here; a switch to it would, so say so now.
    const idle = view.services.map((s) => image(s, otherColor(live[s]))).filter((i) => i.tag !== undefined && i.tag !== tags[live[i.service]][i.service]);
    const idleVerdicts = await checkImageScans(idle, scans, opts);

    const verdictOf = (v: ImageVerdict): Verdict => (!v.finding ? "clean" : v.acceptedBy ? "accepted" : v.finding === "missing" && phase === "platform" ? "not-pushed" : v.finding);
    const refused: string[] = [];
    for (const v of verdicts) {
        const verdict = verdictOf(v);
        const live = `${v.color} is live after pulumi up`;
        if (verdict === "clean") say(`ok (${live}): ${v.text}`);
        else if (verdict === "accepted") say(`accepted by ${v.acceptedBy} (${live}): ${v.text}`);
        else if (verdict === "not-pushed") say(`skipped (bootstrap.phase platform: not in ECR yet, so not started): ${v.text}`);
        else {
            refused.push(`${v.service}:${v.tag ?? `(no ${v.color}.imageTag)`} ${v.finding}`);
            const accept = v.tag ? `, or accept it: ${acceptHint(`${v.service}:${v.tag}`, fileName)}` : "";
            say(`REFUSED (${live}): ${v.text}. ${FIX[v.finding!]}${accept}`);
        }
    }
    for (const v of idleVerdicts) {
        if (v.finding && !v.acceptedBy && verdictOf(v) !== "not-pushed")
            say(`note (${v.color} takes no traffic now): ${v.text}. npm run switch refuses to move traffic to it, and this check refuses it once it is live, while this holds, unless it is listed in ${ACCEPT_KEY}`);
    }

    const images: ReportImage[] = verdicts.map((v) => ({
        service: v.service,
        color: v.color,
        tag: v.tag ?? null,
        status: v.scan?.status ?? null,
        critical: v.scan?.critical ?? null,
        high: v.scan?.high ?? null,
        verdict: verdictOf(v),
    }));
    const ok = images.every((i) => PASSING.includes(i.verdict));
    const accepted = images.filter((i) => i.verdict === "accepted").length;
    const summary = ok
        ? `scan-check ${stack}: ${images.length} live image${images.length === 1 ? "" : "s"} checked, none refused${accepted ? ` (${accepted} accepted by ${ACCEPT_KEY})` : ""}`
        : `scan-check ${stack}: REFUSED ${refused.join(", ")}; pulumi up must not run`;
    return { code: ok ? SCAN_CHECK_EXIT.ok : SCAN_CHECK_EXIT.refused, report: { stack, region: r.region, images, ok }, summary };
}

export interface ScanCheckDeps {
    /** The project directory (default: the working directory's, else this checkout's). */
    readonly dir?: string;
    /** The registry's scans in a region (default: ECR through the AWS CLI). */
    readonly scans?: (region: string) => ImageScans;
    readonly stdout?: (text: string) => void;
    readonly stderr?: (text: string) => void;
}

export async function main(argv: readonly string[], deps: ScanCheckDeps = {}): Promise<number> {
    const stdout = deps.stdout ?? ((t: string) => void process.stdout.write(t));
    const stderr = deps.stderr ?? ((t: string) => void process.stderr.write(t));
    const usage = (msg: string) => {
        stderr(`scan-check: ${msg}\n(npm run scan-check -- --help for the flags)\n`);
        return SCAN_CHECK_EXIT.usage;
    };
    let args: ScanCheckArgs;
    try {
        const p = parseScanCheckArgs(argv);
        if (p.help) {
            stdout(`${SCAN_CHECK_USAGE}\n`);
            return SCAN_CHECK_EXIT.ok;
        }
        args = p;
    } catch (e) {
        if (e instanceof UsageError) return usage(e.message);
        throw e;
    }
    try {
        const { file, view } = openStackFile(deps.dir ?? projectDir(), args.stack);
        const result = await checkStack(view, args.stack, path.basename(file.file), deps.scans ?? ((region) => ecrImageScans(region)), (line) => stderr(`scan-check: ${line}\n`));
        stdout(args.json ? `${JSON.stringify(result.report, null, 2)}\n` : `${result.summary}\n`);
        return result.code;
    } catch (e) {
        if (e instanceof StackFileError) return usage(e.message);
        throw e;
    }
}

export function run(argv: readonly string[]): void {
    main(argv).then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`scan-check: unexpected error: ${(e as Error).stack ?? e}\n`);
            process.exit(SCAN_CHECK_EXIT.unexpected);
        },
    );
}
