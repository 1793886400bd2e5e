// The runbook's pre-deployment "Security scan completed (no critical
// vulnerabilities)" on the path that does not go through npm run switch: a
// stack file edited by hand (an activeColor flip, a new imageTag for the live
// color) and deployed by deploy.yml's pulumi up. deploy.yml runs
// `npm run scan-check -- --stack <stack>` first: every image that serves live
// traffic after the up needs a completed ECR scan without critical findings,
// unless the stack file's reviewed imageScan.acceptCriticalFindings names it.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as YAML from "yaml";
import { ConfigError } from "../config";
import { EXIT, runSwitch } from "../switch/core";
import { SCAN_CHECK_EXIT, SCAN_CHECK_USAGE, main, parseScanCheckArgs } from "../switch/scan-check";
import { ImageScans, ScanResult, acceptedImages } from "../switch/scans";
import { StackFile } from "../switch/stackfile";
import { ROOT } from "../plan/stackfile";
import { expectRejected, parseWith, plan } from "./harness";
import { Rig, fakeScans as scanTable, projectCopy, rig, teardown } from "./switch-fakes";

const PREFIX = "candlefish-maturity-map:";
/** Production's images: blue is live (activeColor: blue), green is the other color. */
const LIVE = ["candlefish-website:v1.2.3", "rtpm-api:v2.4.1", "nanda-api:v1.8.0", "otter-gateway:v3.1.0"];
const IDLE = ["candlefish-website:v1.2.2", "rtpm-api:v2.4.0", "nanda-api:v1.7.5", "otter-gateway:v3.0.9"];

/** The registry's scans (switch-fakes): `<service>:<tag>` -> result or error; anything else clean, with one high finding. */
const fakeScans = (table: Record<string, ScanResult | Error> = {}) => scanTable(table, { status: "COMPLETE", critical: 0, high: 1 });

/** Edits a stack file the way an operator would by hand (`pulumi config set --path`), keeping the rest. */
function editStack(file: string, edits: [string[], unknown][]): void {
    const doc = YAML.parseDocument(fs.readFileSync(file, "utf8"));
    for (const [at, value] of edits) doc.setIn(["config", `${PREFIX}${at[0]}`, ...at.slice(1)], value);
    fs.writeFileSync(file, doc.toString());
}

interface Run {
    code: number;
    stdout: string;
    stderr: string;
    /** The stderr lines, without the `scan-check: ` prefix. */
    lines: string[];
}

async function scanCheck(dir: string, argv: string[], scans: ImageScans): Promise<Run> {
    let stdout = "";
    let stderr = "";
    const regions: string[] = [];
    const code = await main(argv, {
        dir,
        scans: (region) => {
            regions.push(region);
            return scans;
        },
        stdout: (t) => void (stdout += t),
        stderr: (t) => void (stderr += t),
    });
    assert.ok(regions.every((r) => r === "us-east-1"), `scans read in ${regions.join(", ")}`);
    return { code, stdout, stderr, lines: stderr.split("\n").filter(Boolean).map((l) => l.replace(/^scan-check: /, "")) };
}

describe("scan-check: the live images' ECR scans gate deploy.yml's pulumi up", () => {
    let dir: string;
    let file: string;
    beforeEach(() => ({ dir, file } = projectCopy("production")));
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it("every live image clean: exit 0; each service's live image is checked, then the other color's", async () => {
        const scans = fakeScans({ "rtpm-api:v2.4.1": { status: "COMPLETE", critical: 0, high: 3 } });
        const r = await scanCheck(dir, ["--stack", "production"], scans);
        assert.equal(r.code, SCAN_CHECK_EXIT.ok, r.stderr);
        assert.deepEqual(scans.asked, [...LIVE, ...IDLE]);
        assert.ok(r.lines.includes("ok (blue is live after pulumi up): image scan rtpm-api:v2.4.1: no critical findings (3 high)"), r.stderr);
        assert.equal(r.stdout, "scan-check production: 4 live images checked, none refused\n");
        assert.doesNotMatch(r.stderr, /REFUSED|note/);
    });

    it("a critical finding on a live image: exit 1, one stderr line naming the service, the tag, the finding and the override", async () => {
        const r = await scanCheck(dir, ["--stack", "production"], fakeScans({ "rtpm-api:v2.4.1": { status: "COMPLETE", critical: 2, high: 0 } }));
        assert.equal(r.code, SCAN_CHECK_EXIT.refused);
        const refused = r.lines.filter((l) => l.startsWith("REFUSED"));
        assert.deepEqual(refused, [
            'REFUSED (blue is live after pulumi up): rtpm-api:v2.4.1 has 2 critical findings in its image scan (ECR us-east-1). Deploy an image without critical findings, or accept it: add "rtpm-api:v2.4.1" to imageScan.acceptCriticalFindings in Pulumi.production.yaml (a reviewed change; remove it after the emergency)',
        ]);
        assert.equal(r.stdout, "scan-check production: REFUSED rtpm-api:v2.4.1 critical; pulumi up must not run\n");
    });

    it("a hand-edited flip (activeColor green) checks the images that become live: a critical one there refuses", async () => {
        editStack(file, [[["activeColor"], "green"]]);
        const scans = fakeScans({ "candlefish-website:v1.2.2": { status: "COMPLETE", critical: 1, high: 0 } });
        const r = await scanCheck(dir, ["--stack", "production"], scans);
        assert.equal(r.code, SCAN_CHECK_EXIT.refused);
        assert.deepEqual(scans.asked.slice(0, 4), IDLE, "green's images are the live ones now");
        assert.ok(r.lines.some((l) => l.startsWith("REFUSED (green is live after pulumi up): candlefish-website:v1.2.2 has 1 critical finding in its image scan")), r.stderr);
    });

    it("a critical finding only on the color that takes no traffic: exit 0, with a note that a switch to it is refused", async () => {
        const r = await scanCheck(dir, ["--stack", "production"], fakeScans({ "rtpm-api:v2.4.0": { status: "COMPLETE", critical: 4, high: 0 } }));
        assert.equal(r.code, SCAN_CHECK_EXIT.ok, r.stderr);
        assert.deepEqual(
            r.lines.filter((l) => l.startsWith("note")),
            [
                "note (green takes no traffic now): rtpm-api:v2.4.0 has 4 critical findings in its image scan (ECR us-east-1). npm run switch refuses to move traffic to it, and this check refuses it once it is live, while this holds, unless it is listed in imageScan.acceptCriticalFindings",
            ],
        );
    });

    it("an image the stack file accepts (imageScan.acceptCriticalFindings): exit 0, printed as accepted, never silently", async () => {
        editStack(file, [[["imageScan"], { acceptCriticalFindings: ["rtpm-api:v2.4.1"] }]]);
        const r = await scanCheck(dir, ["--stack", "production"], fakeScans({ "rtpm-api:v2.4.1": { status: "COMPLETE", critical: 2, high: 0 } }));
        assert.equal(r.code, SCAN_CHECK_EXIT.ok, r.stderr);
        assert.ok(r.lines.includes("accepted by imageScan.acceptCriticalFindings (blue is live after pulumi up): rtpm-api:v2.4.1 has 2 critical findings in its image scan (ECR us-east-1)"), r.stderr);
        assert.equal(r.stdout, "scan-check production: 4 live images checked, none refused (1 accepted by imageScan.acceptCriticalFindings)\n");
    });

    it("a scan not COMPLETE, or one that cannot be read, refuses (fail closed), each with what to do", async () => {
        const r = await scanCheck(
            dir,
            ["--stack", "production"],
            fakeScans({
                "nanda-api:v1.8.0": { status: "IN_PROGRESS", critical: 0, high: 0 },
                "otter-gateway:v3.1.0": new Error("An error occurred (AccessDeniedException) when calling the DescribeImageScanFindings operation: not authorized"),
            }),
        );
        assert.equal(r.code, SCAN_CHECK_EXIT.refused);
        const refused = r.lines.filter((l) => l.startsWith("REFUSED"));
        assert.equal(refused.length, 2, r.stderr);
        assert.match(refused[0], /nanda-api:v1\.8\.0 has no completed image scan \(ECR us-east-1: IN_PROGRESS\)\. Wait for the scan to complete and run again, or accept it: add "nanda-api:v1\.8\.0"/);
        assert.match(refused[1], /the image scan of otter-gateway:v3\.1\.0 cannot be read \(ECR us-east-1\): An error occurred \(AccessDeniedException\).*\. Check the credentials \(ecr:DescribeImageScanFindings\)/);
        assert.match(r.stdout, /REFUSED nanda-api:v1\.8\.0 incomplete, otter-gateway:v3\.1\.0 unreadable; pulumi up must not run/);
    });

    it("a per-service activeColor override picks that service's live tag", async () => {
        editStack(file, [[["services", "rtpm-api", "activeColor"], "green"]]);
        const scans = fakeScans({ "rtpm-api:v2.4.0": { status: "COMPLETE", critical: 1, high: 0 } });
        const r = await scanCheck(dir, ["--stack", "production"], scans);
        assert.equal(r.code, SCAN_CHECK_EXIT.refused);
        assert.deepEqual(scans.asked.slice(0, 4), ["candlefish-website:v1.2.3", "rtpm-api:v2.4.0", "nanda-api:v1.8.0", "otter-gateway:v3.1.0"]);
        assert.ok(r.lines.some((l) => l.startsWith("REFUSED (green is live after pulumi up): rtpm-api:v2.4.0 has 1 critical finding")), r.stderr);
        // The other way round: the finding on the tag the override leaves idle is only a note.
        const idle = await scanCheck(dir, ["--stack", "production"], fakeScans({ "rtpm-api:v2.4.1": { status: "COMPLETE", critical: 1, high: 0 } }));
        assert.equal(idle.code, SCAN_CHECK_EXIT.ok, idle.stderr);
        assert.ok(idle.lines.some((l) => l.startsWith("note (blue takes no traffic now): rtpm-api:v2.4.1")), idle.stderr);
    });

    it("--json: the report's exact shape, on stdout (the lines stay on stderr)", async () => {
        editStack(file, [
            [["services", "nanda-api", "activeColor"], "green"],
            [["imageScan"], { acceptCriticalFindings: ["otter-gateway:v3.1.0"] }],
        ]);
        const r = await scanCheck(
            dir,
            ["--stack", "production", "--json"],
            fakeScans({
                "rtpm-api:v2.4.1": { status: "COMPLETE", critical: 2, high: 5 },
                "nanda-api:v1.7.5": { status: "IN_PROGRESS", critical: 0, high: 0 },
                "otter-gateway:v3.1.0": { status: "COMPLETE", critical: 1, high: 0 },
                "candlefish-website:v1.2.3": new Error("connect ETIMEDOUT"),
            }),
        );
        assert.equal(r.code, SCAN_CHECK_EXIT.refused);
        assert.deepEqual(JSON.parse(r.stdout), {
            stack: "production",
            region: "us-east-1",
            images: [
                { service: "candlefish-website", color: "blue", tag: "v1.2.3", status: null, critical: null, high: null, verdict: "unreadable" },
                { service: "rtpm-api", color: "blue", tag: "v2.4.1", status: "COMPLETE", critical: 2, high: 5, verdict: "critical" },
                { service: "nanda-api", color: "green", tag: "v1.7.5", status: "IN_PROGRESS", critical: 0, high: 0, verdict: "incomplete" },
                { service: "otter-gateway", color: "blue", tag: "v3.1.0", status: "COMPLETE", critical: 1, high: 0, verdict: "accepted" },
            ],
            ok: false,
        });
        assert.equal(r.lines.filter((l) => l.startsWith("REFUSED")).length, 3);
        const clean = await scanCheck(dir, ["--stack", "production", "--json"], fakeScans());
        assert.equal(clean.code, SCAN_CHECK_EXIT.ok);
        assert.equal(JSON.parse(clean.stdout).ok, true);
        assert.deepEqual(JSON.parse(clean.stdout).images.map((i: { verdict: string }) => i.verdict), ["clean", "clean", "clean", "clean"]);
    });

    it("bootstrap.phase platform, first deploy: no repository or image in ECR yet is skipped (nothing is started), exit 0", async () => {
        editStack(file, [[["bootstrap"], { phase: "platform" }]]);
        const notThere = (repo: string) => new Error(`An error occurred (RepositoryNotFoundException) when calling the DescribeImageScanFindings operation: The repository with name '${repo}' does not exist`);
        const table = Object.fromEntries([...LIVE, ...IDLE].map((i) => [i, notThere(i.split(":")[0])]));
        const r = await scanCheck(dir, ["--stack", "production", "--json"], fakeScans(table));
        assert.equal(r.code, SCAN_CHECK_EXIT.ok, r.stderr);
        assert.match(r.stderr, /bootstrap\.phase is platform: a service not running yet is not started/);
        assert.deepEqual(JSON.parse(r.stdout).images.map((i: { verdict: string }) => i.verdict), ["not-pushed", "not-pushed", "not-pushed", "not-pushed"]);
        assert.doesNotMatch(r.stderr, /REFUSED|note/);
        // The same answers in the apps phase refuse: the up would start those services.
        editStack(file, [[["bootstrap"], { phase: "apps" }]]);
        const apps = await scanCheck(dir, ["--stack", "production"], fakeScans(table));
        assert.equal(apps.code, SCAN_CHECK_EXIT.refused);
        assert.match(apps.lines.find((l) => l.startsWith("REFUSED"))!, /RepositoryNotFoundException.*Push the image first/);
    });

    it("bootstrap.phase platform does not open a way around the gate: a running service keeps its live image, which is checked", async () => {
        editStack(file, [[["bootstrap"], { phase: "platform" }]]);
        const r = await scanCheck(dir, ["--stack", "production"], fakeScans({ "rtpm-api:v2.4.1": { status: "COMPLETE", critical: 1, high: 0 } }));
        assert.equal(r.code, SCAN_CHECK_EXIT.refused);
        assert.ok(r.lines.some((l) => l.startsWith("REFUSED (blue is live after pulumi up): rtpm-api:v2.4.1 has 1 critical finding")), r.stderr);
    });

    it("a stack on platform local has no registry scans: exit 0 without asking any", async () => {
        const local = projectCopy("local");
        try {
            const scans = fakeScans();
            const r = await scanCheck(local.dir, ["--stack", "local", "--json"], scans);
            assert.equal(r.code, SCAN_CHECK_EXIT.ok);
            assert.deepEqual(scans.asked, []);
            assert.deepEqual(JSON.parse(r.stdout), { stack: "local", region: null, images: [], ok: true });
        } finally {
            fs.rmSync(local.dir, { recursive: true, force: true });
        }
    });

    it("a bad acceptance in the stack file stops the check (exit 2) with the program's own message; nothing is asked", async () => {
        editStack(file, [[["imageScan"], { acceptCriticalFindings: ["rtpm-apii:v2.4.1"] }]]);
        const scans = fakeScans();
        const r = await scanCheck(dir, ["--stack", "production"], scans);
        assert.equal(r.code, SCAN_CHECK_EXIT.usage);
        assert.match(r.stderr, /Pulumi\.production\.yaml: imageScan\.acceptCriticalFindings\.0: rtpm-apii is not a service of this stack; did you mean "rtpm-api:v2\.4\.1"\?/);
        assert.deepEqual(scans.asked, []);
    });

    it("flags: --stack is required and named; an unknown flag gets a did-you-mean; an unknown stack too; --help", async () => {
        const scans = fakeScans();
        const cases: [string[], RegExp][] = [
            [[], /^scan-check: --stack is required \(e\.g\. --stack staging\)$/m],
            [["--stak", "production"], /unknown flag --stak; did you mean --stack\?/],
            [["--stack", "production", "--jsn"], /unknown flag --jsn; did you mean --json\?/],
            [["--stack", "prod"], /--stack prod: no stack file Pulumi\.prod\.yaml in .*; did you mean production\?/],
            [["production"], /unexpected argument "production"; every value follows its flag \(e\.g\. --stack production\)/],
            [["--stack", "production", "--stack", "staging"], /--stack given 2 times; give it once/],
        ];
        for (const [argv, says] of cases) {
            const r = await scanCheck(dir, argv, scans);
            assert.equal(r.code, SCAN_CHECK_EXIT.usage, argv.join(" "));
            assert.match(r.stderr, says, argv.join(" "));
        }
        const help = await scanCheck(dir, ["--help"], scans);
        assert.equal(help.code, SCAN_CHECK_EXIT.ok);
        assert.equal(help.stdout, `${SCAN_CHECK_USAGE}\n`);
        assert.deepEqual(scans.asked, []);
        assert.deepEqual(parseScanCheckArgs(["--stack=org/production", "--json"]), { help: false, stack: "org/production", json: true });
    });
});

describe("scan-check end to end: node scripts/scan-check.js with a fake `aws` first on PATH", function () {
    this.timeout(60000);
    let tmp: string;
    let dir: string;
    let file: string;
    let ecr: string;

    /** A fake AWS CLI answering describe-image-scan-findings from $FAKE_ECR/<repo>@<tag>.json, else as ECR does for an image that is not there. */
    const FAKE_AWS = `#!/bin/sh
echo "$*" >> "$FAKE_ECR/calls"
repo=""; id=""
while [ $# -gt 0 ]; do
  case "$1" in
    --repository-name) repo="$2"; shift ;;
    --image-id) id="$2"; shift ;;
  esac
  shift
done
answer="$FAKE_ECR/$repo@\${id#imageTag=}.json"
if [ -f "$answer" ]; then cat "$answer"; exit 0; fi
echo "An error occurred (ImageNotFoundException) when calling the DescribeImageScanFindings operation: The image with imageId {imageTag:\${id#imageTag=}} does not exist within the repository with name '$repo'" >&2
exit 254
`;
    const answer = (image: string, status: string, counts: Record<string, number>) => {
        const [repo, tag] = image.split(":");
        fs.writeFileSync(
            path.join(ecr, `${repo}@${tag}.json`),
            JSON.stringify({ repositoryName: repo, imageId: { imageTag: tag }, imageScanStatus: { status }, imageScanFindings: { findingSeverityCounts: counts } }),
        );
    };
    const run = (...argv: string[]) => {
        const r = spawnSync(process.execPath, [path.join(ROOT, "scripts", "scan-check.js"), ...argv], {
            cwd: dir,
            encoding: "utf8",
            env: { ...process.env, PATH: `${path.join(tmp, "bin")}${path.delimiter}${process.env.PATH}`, FAKE_ECR: ecr },
            timeout: 50000,
        });
        return { code: r.status, stdout: r.stdout, stderr: r.stderr };
    };

    beforeEach(() => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), "candlefish-scan-check-"));
        fs.mkdirSync(path.join(tmp, "bin"));
        fs.writeFileSync(path.join(tmp, "bin", "aws"), FAKE_AWS, { mode: 0o755 });
        ecr = path.join(tmp, "ecr");
        fs.mkdirSync(ecr);
        ({ dir, file } = projectCopy("production"));
        for (const image of [...LIVE, ...IDLE]) answer(image, "COMPLETE", { HIGH: 2, MEDIUM: 7 });
    });
    afterEach(() => {
        fs.rmSync(tmp, { recursive: true, force: true });
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("clean scans: exit 0; the AWS CLI was asked for each image in the stack's region", () => {
        const r = run("--stack", "production");
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stdout, "scan-check production: 4 live images checked, none refused\n");
        const calls = fs.readFileSync(path.join(ecr, "calls"), "utf8").trim().split("\n");
        assert.deepEqual(calls, [...LIVE, ...IDLE].map((i) => `ecr describe-image-scan-findings --repository-name ${i.split(":")[0]} --image-id imageTag=${i.split(":")[1]} --region us-east-1 --output json`));
    });

    it("a hand-edited flip to an image with a critical finding: exit 1, the line names it; --json says the same", () => {
        answer("rtpm-api:v2.4.0", "COMPLETE", { CRITICAL: 3, HIGH: 1 });
        editStack(file, [[["activeColor"], "green"]]);
        const r = run("--stack", "production");
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /^scan-check: REFUSED \(green is live after pulumi up\): rtpm-api:v2\.4\.0 has 3 critical findings in its image scan \(ECR us-east-1\)\. .*imageScan\.acceptCriticalFindings in Pulumi\.production\.yaml/m);
        const json = run("--stack", "production", "--json");
        assert.equal(json.code, 1);
        const report = JSON.parse(json.stdout);
        assert.deepEqual(report.images.find((i: { service: string }) => i.service === "rtpm-api"), { service: "rtpm-api", color: "green", tag: "v2.4.0", status: "COMPLETE", critical: 3, high: 1, verdict: "critical" });
        assert.equal(report.ok, false);
    });

    it("an image ECR does not have: the AWS CLI's error, refused (exit 1); accepted in the stack file: exit 0", () => {
        fs.rmSync(path.join(ecr, "nanda-api@v1.8.0.json"));
        const r = run("--stack", "production");
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /REFUSED \(blue is live after pulumi up\): the image scan of nanda-api:v1\.8\.0 cannot be read \(ECR us-east-1\): An error occurred \(ImageNotFoundException\)/);
        editStack(file, [[["imageScan"], { acceptCriticalFindings: ["nanda-api:v1.8.0"] }]]);
        const accepted = run("--stack", "production");
        assert.equal(accepted.code, 0, accepted.stderr);
        assert.match(accepted.stderr, /accepted by imageScan\.acceptCriticalFindings \(blue is live after pulumi up\): the image scan of nanda-api:v1\.8\.0 cannot be read/);
    });
});

describe("config: imageScan.acceptCriticalFindings is validated by the program", () => {
    it("accepts `<service>:<tag>` of a service of the stack and a tag one of its colors runs; default none", () => {
        assert.deepEqual(parseWith("production").imageScan.acceptCriticalFindings, []);
        const cfg = parseWith("production", ["imageScan.acceptCriticalFindings[0]=rtpm-api:v2.4.1", "imageScan.acceptCriticalFindings[1]=nanda-api:v1.7.5"]);
        assert.deepEqual(cfg.imageScan.acceptCriticalFindings, ["rtpm-api:v2.4.1", "nanda-api:v1.7.5"]);
    });

    const cases: { what: string; edits: string[]; key: string; says: RegExp }[] = [
        {
            what: "a misspelt service, with a did-you-mean",
            edits: ["imageScan.acceptCriticalFindings[0]=rtpm-ap:v2.4.1"],
            key: "imageScan.acceptCriticalFindings.0",
            says: /rtpm-ap is not a service of this stack; did you mean "rtpm-api:v2\.4\.1"\?; expected "<service>:<tag>"/,
        },
        { what: "an entry without a tag", edits: ["imageScan.acceptCriticalFindings[0]=rtpm-api"], key: "imageScan.acceptCriticalFindings.0", says: /expected "<service>:<tag>", a service of this stack/ },
        { what: "a moving tag", edits: ["imageScan.acceptCriticalFindings[0]=rtpm-api:latest"], key: "imageScan.acceptCriticalFindings.0", says: /"latest" is not an immutable image tag; expected "<service>:<tag>"/ },
        {
            what: "a tag no color of the service runs (the acceptance ended with its image)",
            edits: ["imageScan.acceptCriticalFindings[0]=rtpm-api:v2.3.9"],
            key: "imageScan.acceptCriticalFindings.0",
            says: /rtpm-api runs no image v2\.3\.9 \(blue v2\.4\.1, green v2\.4\.0\): an acceptance ends with the image it names; remove this entry/,
        },
        { what: "a misspelt key", edits: ["imageScan.acceptCriticalFinding[0]=rtpm-api:v2.4.1"], key: "imageScan.acceptCriticalFinding", says: /unknown key; did you mean "acceptCriticalFindings"\?/ },
        { what: "a single string instead of a list", edits: ["imageScan.acceptCriticalFindings=rtpm-api:v2.4.1"], key: "imageScan.acceptCriticalFindings", says: /expected a list of "<service>:<tag>"/ },
    ];
    for (const c of cases) {
        it(`refuses ${c.what}, naming the key, before anything is registered`, async () => {
            const { message, registered } = await expectRejected("production", c.edits);
            assert.equal(registered, 0);
            const line = message.split("\n").find((l) => l.includes(`- ${c.key}:`));
            assert.ok(line, `no line names ${c.key}:\n${message}`);
            assert.match(line!, c.says);
        });
    }

    it("npm run plan refuses a bad entry with the same message (exit 1)", async () => {
        const r = await plan("--stack", "staging", "--set", "imageScan.acceptCriticalFindings[0]=otter-gateways:v3.1.1");
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /imageScan\.acceptCriticalFindings\.0: otter-gateways is not a service of this stack; did you mean "otter-gateway:v3\.1\.1"\?/);
        assert.equal((await plan("--stack", "staging", "--set", "imageScan.acceptCriticalFindings[0]=otter-gateway:v3.1.1")).code, 0);
    });

    it("the scan checks read the stack file's entries through the same validation", () => {
        const view = new StackFile(ROOT, "production").read();
        assert.deepEqual(acceptedImages(view, "production"), { images: [] });
        const withEntry = { ...view, raw: { ...view.raw, imageScan: JSON.stringify({ acceptCriticalFindings: ["rtpm-api:v2.4.1", "rtpm-api:v2.4.1"] }) } };
        assert.deepEqual(acceptedImages(withEntry, "production"), { images: ["rtpm-api:v2.4.1"] });
        const bad = acceptedImages({ ...view, raw: { ...view.raw, imageScan: JSON.stringify({ acceptCriticalFindings: ["rtpm-api:v9.9.9"] }) } }, "production");
        assert.ok("problem" in bad && /^imageScan\.acceptCriticalFindings\.0: rtpm-api runs no image v9\.9\.9/.test(bad.problem), JSON.stringify(bad));
        // And the program agrees (ConfigError, same key).
        assert.throws(() => parseWith("production", ["imageScan.acceptCriticalFindings[0]=rtpm-api:v9.9.9"]), (e: ConfigError) => e.issues.some((i) => i.key === "imageScan.acceptCriticalFindings.0"));
    });
});

describe("switch: the stack file's accepted images are accepted by the switch's preflight too (one check, switch/scans.ts)", function () {
    this.timeout(30000);
    let r: Rig | undefined;
    afterEach(async () => {
        await teardown(r);
        r = undefined;
    });

    it("an image in imageScan.acceptCriticalFindings switches, printed as accepted; another image's finding still refuses", async () => {
        r = await rig({ stack: "production" });
        const scans = fakeScans({ "rtpm-api:v2.4.0": { status: "COMPLETE", critical: 1, high: 0 }, "nanda-api:v1.7.5": { status: "COMPLETE", critical: 1, high: 0 } });
        const opts = {
            stack: "production",
            to: "green" as const,
            services: ["rtpm-api"],
            bakeSeconds: 20,
            dryRun: false,
            keepOnInterrupt: false,
            namespace: "production",
            imageTags: { "rtpm-api": "v2.4.0", "nanda-api": "v1.7.5" },
            acceptedImages: ["rtpm-api:v2.4.0"],
        };
        const res = await runSwitch(opts, { ...r.deps, imageScans: scans });
        assert.equal(res.outcome, "switched");
        assert.match(r.out.text, /accepted \(imageScan\.acceptCriticalFindings\): rtpm-api:v2\.4\.0 has 1 critical finding in its image scan \(ECR us-east-1\)/);
        const refused = await runSwitch({ ...opts, services: ["nanda-api"] }, { ...r.deps, imageScans: scans });
        assert.equal(refused.code, EXIT.unchanged);
        assert.match(refused.summary, /nanda-api:v1\.7\.5 has 1 critical finding in its image scan/);
    });
});
