// The runbook's pre-deployment "Security scan completed (no critical
// vulnerabilities)": what an image's ECR scan says, and the one check of a set
// of images against it. Both paths that put an image in front of traffic run
// it: `npm run switch` in its preflight (switch/core.ts) and `npm run
// scan-check` before deploy.yml's `pulumi up` (switch/scan-check.ts). A
// critical finding refuses; so does a scan that is missing, not COMPLETE, or
// cannot be read (fail closed). An acceptance (the switch's
// --accept-scan-findings, or the stack file's reviewed
// imageScan.acceptCriticalFindings) turns a refusal into a printed line.
import { execFile } from "child_process";
import { REGION_KEY, awsRegion } from "../config/aws";
import { readImageScan } from "../config/review";
import { isInvalid } from "../config/schema";
import { ConfigSource } from "../config/source";
import { COLORS, Color, StackFileView } from "./stackfile";

/** What an image's registry scan found (ECR: describe-image-scan-findings). */
export interface ScanResult {
    /** COMPLETE, or the registry's status (IN_PROGRESS, FAILED, UNSUPPORTED_IMAGE, ...). */
    readonly status: string;
    readonly critical: number;
    readonly high: number;
}

/** The registry's vulnerability scans of the images that are to take traffic. */
export interface ImageScans {
    readonly describe: string;
    /** The scan of the service's repository at `tag`; throws when it cannot be read (no scan, no access). */
    scan(service: string, tag: string): Promise<ScanResult>;
}

/** The stack-file key of the reviewed acceptances (config/review.ts). */
export const ACCEPT_KEY = "imageScan.acceptCriticalFindings";

/** One image to check: a service's repository at the tag one of its colors runs. */
export interface Image {
    readonly service: string;
    readonly color: Color;
    /** Undefined: the stack file names no tag for that color. */
    readonly tag: string | undefined;
}

/**
 * What is wrong with an image's scan: critical findings; a scan that is not
 * COMPLETE; one that cannot be read; no such repository or image in the
 * registry (not pushed yet; a kind of unreadable); no tag to check at all.
 */
export type Finding = "critical" | "incomplete" | "unreadable" | "missing" | "no-tag";

export interface ImageVerdict extends Image {
    /** The scan, when it could be read. */
    readonly scan?: ScanResult;
    /** Undefined: a completed scan without critical findings. */
    readonly finding?: Finding;
    /** One line naming the image: what was found, or "image scan <svc>:<tag>: no critical findings (<n> high)". */
    readonly text: string;
    /** What accepted the finding (`--accept-scan-findings`, `imageScan.acceptCriticalFindings`); undefined: refused. */
    readonly acceptedBy?: string;
}

/** What may accept a finding. */
export interface Acceptance {
    /** Every finding, naming this (the switch's --accept-scan-findings). */
    readonly all?: string;
    /** `<service>:<tag>` images whose findings are accepted (the stack file's imageScan.acceptCriticalFindings). */
    readonly images?: readonly string[];
}

/** An error's last lines, on one line. */
export const errText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n").filter(Boolean).slice(-3).join(" / ");

/** The registry's answer when the repository or the image is not there (ECR's error codes). */
const NOT_THERE = /\b(RepositoryNotFoundException|ImageNotFoundException)\b/;

/**
 * Reads the scan of each image, in order, and judges it. `where` names the
 * stack file (for an image without a tag).
 */
export async function checkImageScans(images: readonly Image[], scans: ImageScans, opts: { where: string; accept?: Acceptance }): Promise<ImageVerdict[]> {
    const out: ImageVerdict[] = [];
    for (const image of images) {
        const { service: s, tag } = image;
        const judged = await judge(image, scans, opts.where);
        const acceptedBy = !judged.finding
            ? undefined
            : opts.accept?.all ?? (tag !== undefined && opts.accept?.images?.includes(`${s}:${tag}`) ? ACCEPT_KEY : undefined);
        out.push({ ...image, ...judged, acceptedBy });
    }
    return out;
}

async function judge({ service: s, color, tag }: Image, scans: ImageScans, where: string): Promise<Pick<ImageVerdict, "scan" | "finding" | "text">> {
    if (!tag) return { finding: "no-tag", text: `${s}: no ${color}.imageTag in ${where} to check the scan of` };
    let r: ScanResult;
    try {
        r = await scans.scan(s, tag);
    } catch (e) {
        return { finding: NOT_THERE.test(errText(e)) ? "missing" : "unreadable", text: `the image scan of ${s}:${tag} cannot be read (${scans.describe}): ${errText(e)}` };
    }
    if (r.status !== "COMPLETE") return { scan: r, finding: "incomplete", text: `${s}:${tag} has no completed image scan (${scans.describe}: ${r.status})` };
    if (r.critical > 0) return { scan: r, finding: "critical", text: `${s}:${tag} has ${r.critical} critical finding${r.critical === 1 ? "" : "s"} in its image scan (${scans.describe})` };
    return { scan: r, text: `image scan ${s}:${tag}: no critical findings (${r.high} high)` };
}

/**
 * ECR's scan of one image, from `aws ecr describe-image-scan-findings` JSON:
 * the scan status and the CRITICAL and HIGH counts (basic and enhanced scanning
 * report both in imageScanFindings.findingSeverityCounts).
 */
export function parseScanFindings(json: string): ScanResult {
    const doc = JSON.parse(json) as {
        imageScanStatus?: { status?: string };
        imageScanFindings?: { findingSeverityCounts?: Record<string, number> };
    };
    const status = doc.imageScanStatus?.status;
    if (typeof status !== "string") throw new Error("no imageScanStatus in the answer");
    const counts = doc.imageScanFindings?.findingSeverityCounts ?? {};
    return { status, critical: counts.CRITICAL ?? 0, high: counts.HIGH ?? 0 };
}

/** Runs a command and resolves with its stdout; rejects with its stderr's last line. */
export type Exec = (file: string, args: readonly string[]) => Promise<string>;
const execAws: Exec = (file, args) =>
    new Promise((resolve, reject) =>
        execFile(file, [...args], { timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new Error(String(stderr).trim().split("\n").pop() || err.message));
            else resolve(String(stdout));
        }),
    );

/**
 * The ECR scans of the repositories named after the services (components/registry.ts),
 * through the AWS CLI with the caller's credentials (ecr:DescribeImageScanFindings).
 */
export function ecrImageScans(region: string, exec: Exec = execAws): ImageScans {
    return {
        describe: `ECR ${region}`,
        async scan(service, tag) {
            const imageId = /^sha256:[0-9a-f]{64}$/.test(tag) ? `imageDigest=${tag}` : `imageTag=${tag}`;
            const out = await exec("aws", ["ecr", "describe-image-scan-findings", "--repository-name", service, "--image-id", imageId, "--region", region, "--output", "json"]);
            return parseScanFindings(out);
        },
    };
}

/** The stack's `aws:region`, as the program reads it (config/aws.ts), where its ECR repositories and their scans are. */
export function stackRegion(view: StackFileView, stack: string): { region: string } | { problem: string } {
    const src = new ConfigSource(stack, view.raw, new Set(), view.foreign);
    const region = src.readForeign(REGION_KEY, awsRegion);
    if (isInvalid(region)) return { problem: `${src.issues.map((i) => `${i.key}: ${i.message}`).join("; ")} (the image scans are read in the stack's region)` };
    return { region };
}

/** services.<svc>.<color>.imageTag per service, from the stack file's `services` (JSON as the runtime sees it). */
export function targetImageTags(servicesJson: string | undefined, color: string): Record<string, string | undefined> {
    let services: Record<string, Record<string, { imageTag?: unknown } | undefined>> = {};
    try {
        services = JSON.parse(servicesJson || "{}");
    } catch {
        // the program validates services; no tags then, and the scan check says so
    }
    return Object.fromEntries(
        Object.entries(services).map(([svc, cfg]) => {
            const tag = cfg?.[color]?.imageTag;
            return [svc, typeof tag === "string" ? tag : undefined];
        }),
    );
}

/** The stack file's imageScan.acceptCriticalFindings, validated as the program validates it (config/review.ts). */
export function acceptedImages(view: StackFileView, stack: string): { images: readonly string[] } | { problem: string } {
    const tags = Object.fromEntries(COLORS.map((c) => [c, targetImageTags(view.raw.services, c)])) as Record<Color, Record<string, string | undefined>>;
    const services = view.services.map((name) => ({ name, colors: { blue: { imageTag: tags.blue[name] ?? "" }, green: { imageTag: tags.green[name] ?? "" } } }));
    const src = new ConfigSource(stack, view.raw);
    const { imageScan } = readImageScan(src, services);
    if (src.issues.length) return { problem: src.issues.map((i) => `${i.key}: ${i.message}`).join("; ") };
    return { images: imageScan.acceptCriticalFindings };
}
