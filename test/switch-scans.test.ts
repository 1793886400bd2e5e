// The runbook's pre-deployment "Security scan completed (no critical
// vulnerabilities)", enforced where traffic moves: npm run switch refuses,
// before anything changes, to move a service to an image whose ECR scan has
// critical findings or cannot be read; --accept-scan-findings turns that into a
// printed warning (an emergency rollback).
import { strict as assert } from "assert";
import * as fs from "fs";
import { EXIT, SwitchOptions, runSwitch } from "../switch/core";
import { ecrImageScans, parseScanFindings, stackRegion, targetImageTags } from "../switch/scans";
import { StackFile } from "../switch/stackfile";
import { Rig, fakeScans, rig, teardown } from "./switch-fakes";

const opts = (o: Partial<SwitchOptions> = {}): SwitchOptions => ({
    stack: "production",
    to: "green",
    services: [],
    bakeSeconds: 20,
    dryRun: false,
    keepOnInterrupt: false,
    namespace: "production",
    imageTags: { "candlefish-website": "v1.2.4", "rtpm-api": "v2.5.0", "nanda-api": "v1.8.1", "otter-gateway": "v3.1.1" },
    ...o,
});

describe("switch: image scans gate the switch (ECR)", function () {
    this.timeout(30000);
    let r: Rig | undefined;
    afterEach(async () => {
        await teardown(r);
        r = undefined;
    });

    it("clean scans: every moved service's new image is checked, then the switch goes ahead", async () => {
        r = await rig({ stack: "production" });
        const scans = fakeScans({ "rtpm-api": { status: "COMPLETE", critical: 0, high: 3 } });
        const res = await runSwitch(opts(), { ...r.deps, imageScans: scans });
        assert.equal(res.outcome, "switched");
        assert.deepEqual(scans.asked, ["candlefish-website:v1.2.4", "rtpm-api:v2.5.0", "nanda-api:v1.8.1", "otter-gateway:v3.1.1"]);
        assert.match(r.out.text, /image scan rtpm-api:v2\.5\.0: no critical findings \(3 high\)/);
    });

    it("a critical finding refuses before anything changes: no write, no up, exit 2, the finding named", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts(), { ...r.deps, imageScans: fakeScans({ "rtpm-api": { status: "COMPLETE", critical: 2, high: 0 } }) });
        assert.equal(res.code, EXIT.unchanged);
        assert.equal(res.outcome, "refused");
        assert.match(res.summary, /refused before the switch \(rtpm-api:v2\.5\.0 has 2 critical findings in its image scan \(ECR us-east-1\)\); nothing changed/);
        assert.equal(r.workspace.ups, 0);
        assert.equal(fs.readFileSync(r.file, "utf8"), r.original);
    });

    it("a scan that is not complete, or cannot be read, refuses too (fail closed)", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(
            opts(),
            { ...r.deps, imageScans: fakeScans({ "nanda-api": { status: "IN_PROGRESS", critical: 0, high: 0 }, "otter-gateway": new Error("ScanNotFoundException: no scan for this image") }) },
        );
        assert.equal(res.outcome, "refused");
        assert.match(res.summary, /nanda-api:v1\.8\.1 has no completed image scan \(ECR us-east-1: IN_PROGRESS\)/);
        assert.match(res.summary, /the image scan of otter-gateway:v3\.1\.1 cannot be read \(ECR us-east-1\): ScanNotFoundException/);
        assert.equal(r.workspace.ups, 0);
    });

    it("only the services that move are checked; a service without a tag for the new color refuses", async () => {
        r = await rig({ stack: "production" });
        const scans = fakeScans({});
        const res = await runSwitch(opts({ services: ["rtpm-api"], imageTags: {} }), { ...r.deps, imageScans: scans });
        assert.equal(res.outcome, "refused");
        assert.match(res.summary, /rtpm-api: no green\.imageTag in .* to check the scan of/);
        assert.deepEqual(scans.asked, []);
    });

    it("--accept-scan-findings: the findings are printed and the switch goes ahead", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts({ acceptScanFindings: true }), { ...r.deps, imageScans: fakeScans({ "rtpm-api": { status: "COMPLETE", critical: 1, high: 0 } }) });
        assert.equal(res.outcome, "switched");
        assert.match(r.out.text, /accepted \(--accept-scan-findings\): rtpm-api:v2\.5\.0 has 1 critical finding in its image scan/);
    });

    it("without a registry (the local platform) nothing is checked", async () => {
        r = await rig({ stack: "production" });
        const res = await runSwitch(opts(), r.deps);
        assert.equal(res.outcome, "switched");
        assert.doesNotMatch(r.out.text, /image scan/);
    });
});

describe("switch: reading ECR scans", () => {
    it("parses describe-image-scan-findings: status and the CRITICAL and HIGH counts", () => {
        const answer = JSON.stringify({
            registryId: "123456789012",
            repositoryName: "rtpm-api",
            imageId: { imageTag: "v2.5.0" },
            imageScanStatus: { status: "COMPLETE", description: "The scan was completed successfully." },
            imageScanFindings: { findingSeverityCounts: { CRITICAL: 2, HIGH: 5, MEDIUM: 9 } },
        });
        assert.deepEqual(parseScanFindings(answer), { status: "COMPLETE", critical: 2, high: 5 });
        assert.deepEqual(parseScanFindings(JSON.stringify({ imageScanStatus: { status: "COMPLETE" }, imageScanFindings: {} })), { status: "COMPLETE", critical: 0, high: 0 });
        assert.throws(() => parseScanFindings("{}"), /no imageScanStatus/);
    });

    it("asks the AWS CLI for the service's repository at the tag (or the digest), in the stack's region", async () => {
        const calls: string[][] = [];
        const scans = ecrImageScans("us-east-1", async (file, args) => {
            calls.push([file, ...args]);
            return JSON.stringify({ imageScanStatus: { status: "COMPLETE" }, imageScanFindings: { findingSeverityCounts: { HIGH: 1 } } });
        });
        assert.deepEqual(await scans.scan("rtpm-api", "v2.5.0"), { status: "COMPLETE", critical: 0, high: 1 });
        const digest = `sha256:${"ab".repeat(32)}`;
        await scans.scan("nanda-api", digest);
        assert.deepEqual(calls, [
            ["aws", "ecr", "describe-image-scan-findings", "--repository-name", "rtpm-api", "--image-id", "imageTag=v2.5.0", "--region", "us-east-1", "--output", "json"],
            ["aws", "ecr", "describe-image-scan-findings", "--repository-name", "nanda-api", "--image-id", `imageDigest=${digest}`, "--region", "us-east-1", "--output", "json"],
        ]);
    });

    it("the region asked is the stack file's aws:region (as the program reads it); a stack file without a valid one is refused", () => {
        const view = new StackFile(process.cwd(), "production").read();
        assert.deepEqual(stackRegion(view, "production"), { region: "us-east-1" });
        assert.deepEqual(stackRegion({ ...view, foreign: { ...view.foreign, "aws:region": "us-west-2" } }, "production"), { region: "us-west-2" });
        const missing = stackRegion({ ...view, foreign: {} }, "production");
        assert.ok("problem" in missing && /^aws:region: required/.test(missing.problem), JSON.stringify(missing));
        const china = stackRegion({ ...view, foreign: { "aws:region": "cn-north-1" } }, "production");
        assert.ok("problem" in china && /aws:region: cn-north-1 is in the aws-cn partition/.test(china.problem), JSON.stringify(china));
    });

    it("the images checked are the stack file's services.<svc>.<to>.imageTag", () => {
        const view = new StackFile(process.cwd(), "staging").read();
        assert.deepEqual(targetImageTags(view.raw.services, "green"), {
            "candlefish-website": "v1.3.0-rc.1",
            "rtpm-api": "v2.5.0-rc.2",
            "nanda-api": "v1.8.1",
            "otter-gateway": "v3.1.1",
        });
        assert.deepEqual(targetImageTags("not json", "green"), {});
    });
});
