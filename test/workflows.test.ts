// The CI/CD workflows in .github/workflows/ parse as YAML and carry the fields
// GitHub Actions requires; the plan commands they run are ones the plan CLI
// accepts; production is behind an environment; the switch workflow takes a
// service and a color as choices and runs `npm run switch` with them.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { ROOT } from "../plan/stackfile";
import { parseArgs } from "../plan/cli";
import { parseArgs as parseSwitchArgs } from "../switch/args";
import { parseScanCheckArgs } from "../switch/scan-check";
import { SERVICES, find, ofType, inputs, parseWith, renderBoth, renderStack, renderWith, expectRejected } from "./harness";
import { deployRunnerLabel } from "../config/aws";
import { Rendered } from "../plan/render";

const DIR = path.join(ROOT, ".github", "workflows");
const EVENTS = new Set(["pull_request", "push", "workflow_dispatch", "schedule", "workflow_call", "release"]);
const INPUT_TYPES = new Set(["string", "choice", "boolean", "number", "environment"]);

type Step = { name?: string; uses?: string; run?: string; shell?: string; with?: Record<string, unknown>; env?: Record<string, unknown> };
type Job = { "runs-on": unknown; steps: Step[]; needs?: string | string[]; environment?: unknown; permissions?: unknown; if?: string };
type Workflow = { name: string; on: Record<string, any>; permissions?: Record<string, string>; jobs: Record<string, Job> };

function load(file: string): Workflow {
    const doc = YAML.parseDocument(fs.readFileSync(path.join(DIR, file), "utf8"));
    assert.deepEqual(doc.errors.map((e) => e.message), [], `${file} is not valid YAML`);
    return doc.toJS() as Workflow;
}

const steps = (wf: Workflow) => Object.values(wf.jobs).flatMap((j) => j.steps);
const actionSteps = (wf: Workflow, action: string) => steps(wf).filter((s) => s.uses?.split("@")[0] === action);

/** The argv of every `npm run --silent plan -- ...` line, with shell variables given sample values. */
function planInvocations(wf: Workflow): string[][] {
    const sample: Record<string, string> = { stack: "production", STACK: "production", key: "activeColor", KEY: "activeColor", COLOR: "green", RUNNER_TEMP: "/tmp/r" };
    const out: string[][] = [];
    for (const s of steps(wf)) {
        for (const line of (s.run ?? "").split("\n")) {
            const m = /npm run --silent plan -- (.*)$/.exec(line.trim());
            if (!m) continue;
            const cmd = m[1].split(/\s[|>]/)[0].replace(/\$\{?(\w+)\}?/g, (_, v) => sample[v] ?? `sample-${v}`);
            out.push((cmd.match(/"[^"]*"|\S+/g) ?? []).map((t) => t.replace(/^"|"$/g, "")));
        }
    }
    return out;
}

describe("CI/CD workflows: structure GitHub expects", () => {
    const files = fs.existsSync(DIR) ? fs.readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort() : [];

    it("has the pull-request, deploy and switch workflows", () => {
        assert.deepEqual(files, ["deploy.yml", "pull-request.yml", "switch.yml"]);
    });

    for (const file of ["deploy.yml", "pull-request.yml", "switch.yml"]) {
        it(`${file}: name, known triggers, least-privilege default permissions, jobs with runs-on and steps`, () => {
            const wf = load(file);
            assert.equal(typeof wf.name, "string");
            assert.ok(wf.on && typeof wf.on === "object", "on: must be a map of events");
            for (const ev of Object.keys(wf.on)) assert.ok(EVENTS.has(ev), `unknown event ${ev}`);
            assert.deepEqual(wf.permissions, { contents: "read" }, "workflow-level permissions are read-only; jobs widen only what they need");
            const ids = Object.keys(wf.jobs);
            assert.ok(ids.length > 0);
            for (const [id, job] of Object.entries(wf.jobs)) {
                assert.match(id, /^[A-Za-z_][A-Za-z0-9_-]*$/, `job id ${id}`);
                const runsOn = job["runs-on"];
                assert.ok(typeof runsOn === "string" || (Array.isArray(runsOn) && runsOn.length > 0 && runsOn.every((l) => typeof l === "string")), `${id}: runs-on`);
                assert.ok(Array.isArray(job.steps) && job.steps.length > 0, `${id}: steps`);
                for (const n of ([] as string[]).concat(job.needs ?? [])) assert.ok(ids.includes(n), `${id}: needs unknown job ${n}`);
                for (const [i, s] of job.steps.entries()) {
                    assert.ok(Boolean(s.uses) !== Boolean(s.run), `${id} step ${i}: exactly one of uses/run`);
                    if (s.uses) assert.match(s.uses, /^[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[\w.-]+$/, `${id} step ${i}: uses must pin a ref`);
                }
            }
        });
    }

    it("every pulumi/actions step names a command it supports and a stack, and runs the policy pack", () => {
        for (const file of files) {
            for (const s of actionSteps(load(file), "pulumi/actions")) {
                if (s.with?.command === undefined) continue; // installs the CLI only
                assert.ok(["up", "preview", "refresh", "destroy", "output"].includes(String(s.with.command)), `${file}: ${s.with.command}`);
                assert.match(String(s.with["stack-name"]), /\/(production|staging|\$\{\{ matrix\.stack \}\}|\$\{\{ inputs\.stack \}\})$/);
                assert.equal(s.with.policyPacks, "policies", `${file}: ${s.with.command} without --policy-pack policies`);
            }
        }
    });

    it("no step interpolates workflow inputs into a shell script (inputs reach scripts through env)", () => {
        for (const file of files)
            for (const s of steps(load(file))) assert.doesNotMatch(s.run ?? "", /\$\{\{\s*(inputs|github\.event)\./, `${file}: ${s.name ?? s.run}`);
    });

    it("every offline plan command in the workflows is accepted by the plan CLI", () => {
        let n = 0;
        for (const file of files)
            for (const argv of planInvocations(load(file))) {
                assert.doesNotThrow(() => parseArgs(argv), `${file}: plan ${argv.join(" ")}`);
                n++;
            }
        assert.ok(n >= 2, `found only ${n} plan commands (the PR diff+policy and the switch preview)`);
        // The extraction is real: an invocation the CLI refuses is caught.
        assert.throws(() => parseArgs(["--diff", "--polcy"]));
    });
});

// Issue 13 item 8: CI is .ci/run, one script; a workflow's test job runs it and repeats none of its steps.
describe("CI/CD workflows: the test jobs run .ci/run, the one source of truth", () => {
    const CI = fs.readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    /** What .ci/run does, each as a workflow step would write it. */
    const CI_STEPS: [string, RegExp][] = [
        ["npm ci", /\bnpm ci\b/],
        ["the testbed's tool builds", /testbed\/(tools|cli)\.js/],
        ["npm test", /\bnpm (run )?test\b/],
        ["npm run e2e", /\bnpm run e2e\b/],
        ["the production plan with the policy pack", /npm run --silent plan -- --policy\b/],
    ];

    it(".ci/run does each of those steps (so the jobs below lose nothing by not repeating them)", () => {
        for (const [what, re] of CI_STEPS) assert.match(CI, re, `.ci/run: ${what}`);
    });

    for (const [file, job] of [["pull-request.yml", "test"], ["deploy.yml", "test"]] as const) {
        it(`${file}: job ${job} runs \`bash .ci/run\` once and repeats none of its steps`, () => {
            const j = load(file).jobs[job];
            assert.equal(j.steps.filter((s) => s.run === "bash .ci/run").length, 1, "one `bash .ci/run` step");
            for (const s of j.steps.filter((st) => st.run !== "bash .ci/run"))
                for (const [what, re] of CI_STEPS) assert.doesNotMatch(s.run ?? "", re, `${file} ${job}: step "${s.name ?? s.run}" repeats ${what}`);
            // What .ci/run needs from the machine: Node 20 and Go 1.26 (the e2e's etcd and kwok modules).
            assert.ok(j.steps.some((s) => s.uses?.startsWith("actions/setup-node@") && String(s.with?.["node-version"]).startsWith("20")), "Node 20");
            const go = j.steps.find((s) => s.uses?.startsWith("actions/setup-go@"));
            assert.equal(go?.with?.["go-version"], "1.26");
            for (const mod of ["etcd", "kwok", "pulumi"]) {
                const directive = /^go (\d+\.\d+)/m.exec(fs.readFileSync(path.join(ROOT, "testbed", "tools", mod, "go.mod"), "utf8"))?.[1];
                assert.ok(directive && Number(directive.split(".")[1]) <= 26, `testbed/tools/${mod}/go.mod needs go ${directive}`);
            }
        });
    }

    it("no other step in any workflow runs the tests, the e2e or the tool builds", () => {
        for (const file of ["deploy.yml", "pull-request.yml", "switch.yml"])
            for (const s of steps(load(file)))
                for (const [what, re] of CI_STEPS.filter(([w]) => w !== "npm ci" && !w.startsWith("the production plan")))
                    assert.doesNotMatch(s.run ?? "", re, `${file}: "${s.name ?? s.run}" runs ${what}`);
    });
});

describe("CI/CD workflows: what each one does", () => {
    it("pull-request: CI (.ci/run), offline plan --diff --policy against main, then pulumi preview --policy-pack policies commented on the PR", () => {
        const wf = load("pull-request.yml");
        assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
        const runs = wf.jobs.test.steps.map((s) => s.run ?? "").join("\n");
        assert.match(runs, /plan -- --stack "\$stack" --diff --diff-base "\$base" --policy/);
        const plan = wf.jobs.test.steps.find((st) => /--diff-base/.test(st.run ?? ""));
        assert.equal(plan?.shell, "bash"); // pipefail: a mandatory violation still fails the step through the tee
        // The PR's own diff runs after CI installed the packages.
        const ci = wf.jobs.test.steps.findIndex((st) => st.run === "bash .ci/run");
        assert.ok(ci >= 0 && ci < wf.jobs.test.steps.indexOf(plan!), "bash .ci/run, then the PR's offline diff");
        const preview = actionSteps(wf, "pulumi/actions");
        assert.equal(preview.length, 1);
        assert.equal(preview[0].with?.command, "preview");
        assert.equal(preview[0].with?.["comment-on-pr"], true);
        assert.deepEqual(wf.jobs.preview.needs, "test");
        assert.equal((wf.jobs.preview.permissions as Record<string, string>)["pull-requests"], "write");
        assert.match(String(wf.jobs.preview.if), /head\.repo\.full_name == github\.repository/);
    });

    it("pull-request: untrusted code holds no credential; the real preview runs only after approval, with preview-only credentials", () => {
        const wf = load("pull-request.yml");
        const text = fs.readFileSync(path.join(DIR, "pull-request.yml"), "utf8");
        // The job that runs the PR's code before anyone approved it: no secret, no cloud identity.
        const test = wf.jobs.test;
        assert.doesNotMatch(JSON.stringify(test), /secrets\./, "the test job references no secret");
        assert.equal(test.permissions, undefined, "the test job keeps the workflow's contents: read");
        assert.ok(!test.steps.some((st) => st.uses?.startsWith("aws-actions/configure-aws-credentials@")), "no AWS role in the test job");
        assert.equal(test.environment, undefined);
        // The preview: gated by the `preview` environment (required reviewers release its secrets).
        const preview = wf.jobs.preview;
        assert.equal(preview.environment, "preview");
        assert.equal((preview.permissions as Record<string, string>)["id-token"], "write");
        const step = actionSteps(wf, "pulumi/actions")[0];
        assert.equal(step.env?.PULUMI_ACCESS_TOKEN, "${{ secrets.PULUMI_PREVIEW_TOKEN }}", "the preview's own token");
        assert.doesNotMatch(text, /secrets\.PULUMI_ACCESS_TOKEN/, "the deploy token never appears in the PR workflow");
        const aws = preview.steps.find((st) => st.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        assert.equal(aws?.with?.["role-to-assume"], "${{ vars.AWS_PREVIEW_ROLE_ARN }}");
        assert.doesNotMatch(text, /AWS_DEPLOY_ROLE_ARN/, "the deploy role never appears in the PR workflow");
        // It previews exactly the approved commit.
        const checkout = preview.steps.find((st) => st.uses?.startsWith("actions/checkout@"));
        assert.equal(checkout?.with?.ref, "${{ github.event.pull_request.head.sha }}");
        // Never pull_request_target (which would run a fork's code with this repository's secrets).
        assert.deepEqual(Object.keys(wf.on), ["pull_request"]);
    });

    it("deploy: on push to main, pulumi up staging then production, production behind the production environment", () => {
        const wf = load("deploy.yml");
        assert.deepEqual(wf.on, { push: { branches: ["main"] } });
        const prod = wf.jobs.production;
        assert.deepEqual(prod.environment, { name: "production", url: "https://candlefish.ai" });
        assert.equal(prod.needs, "staging");
        assert.equal(wf.jobs.staging.needs, "test");
        const up = prod.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
        assert.equal(up?.with?.command, "up");
        assert.match(String(up?.with?.["stack-name"]), /\/production$/);
        assert.equal((prod as any).concurrency.group, "pulumi-production");
        assert.equal((prod as any).concurrency["cancel-in-progress"], false);
    });

    it("deploy: the first-deploy phase order (docs/FIRST-DEPLOY.md): staging first, health checks skipped while the stack's bootstrapPhase output is platform", async () => {
        const wf = load("deploy.yml");
        // staging -> production stays: the platform phase of staging looks no repository up, and its apps
        // phase is refused by the program (not by a failed lookup) while production has not created them.
        assert.equal(wf.jobs.staging.needs, "test");
        assert.equal(wf.jobs.production.needs, "staging");
        for (const id of ["staging", "production"]) {
            const job = wf.jobs[id];
            const up = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@")) as Step & { id?: string };
            assert.equal(up.id, "up", `${id}: the up step's outputs are read by id`);
            const health = job.steps.filter((s) => /curl .*\/api\/health/.test(s.run ?? "")) as (Step & { if?: string })[];
            assert.equal(health.length, 1, `${id}: one health check step`);
            assert.equal(health[0].if, "steps.up.outputs.bootstrapPhase != 'platform'", id);
            assert.ok(job.steps.indexOf(health[0]) > job.steps.indexOf(up), `${id}: the health check follows the up`);
        }
        // The output the condition reads is the program's own: "platform" in that phase, "apps" otherwise.
        const platform = await renderStack("production", ["bootstrap.phase=platform"]);
        assert.equal(platform.outputs.bootstrapPhase, "platform");
        assert.equal((await renderStack("staging")).outputs.bootstrapPhase, "apps");
    });

    it("switch: workflow_dispatch with stack, service and color as choices and a required reason", () => {
        const wf = load("switch.yml");
        assert.deepEqual(Object.keys(wf.on), ["workflow_dispatch"]);
        const inputs = wf.on.workflow_dispatch.inputs as Record<string, { type: string; options?: string[]; required?: boolean }>;
        for (const [name, i] of Object.entries(inputs)) assert.ok(INPUT_TYPES.has(i.type), `${name}: type ${i.type}`);
        assert.equal(inputs.color.type, "choice");
        assert.deepEqual(inputs.color.options, ["blue", "green"]);
        assert.equal(inputs.service.type, "choice");
        assert.deepEqual(inputs.service.options, ["all", ...SERVICES]);
        assert.deepEqual(inputs.stack.options, ["production", "staging"]);
        assert.equal(inputs.reason.required, true);
        for (const i of Object.values(inputs)) if (i.type === "choice") assert.ok(i.options && i.options.length > 0);
    });

    it("switch: runs npm run switch (set, gated up, bake, rollback) for the service or all, then commits the stack file whatever the outcome, in the stack's environment", () => {
        const wf = load("switch.yml");
        const job = wf.jobs.switch;
        assert.deepEqual(job.environment, { name: "${{ inputs.stack }}" });
        assert.equal((job.permissions as Record<string, string>).contents, "write");
        const sw = job.steps.find((s) => /npm run --silent switch -- /.test(s.run ?? "")) as any;
        assert.ok(sw, "a step runs npm run switch");
        assert.equal(sw.id, "switch");
        assert.equal(sw.shell, "bash"); // arrays and PIPESTATUS: the switch's own exit code, not tee's
        assert.match(sw.run, /npm run --silent switch -- --stack "\$PULUMI_ORG\/\$STACK" --to "\$COLOR" "\$\{only\[@\]\}" "\$\{bake\[@\]\}" --message "\$REASON"/);
        assert.match(sw.run, /if \[ -n "\$BAKE" \]; then bake=\(--bake "\$BAKE"\); else bake=\(\); fi/);
        assert.match(sw.run, /if \[ "\$SERVICE" = all \]; then only=\(\); else only=\(--service "\$SERVICE"\); fi/);
        assert.match(sw.run, /code=\$\{PIPESTATUS\[0\]\}/);
        // The flags it passes are ones the switch accepts.
        const argv = ["--stack", "org/production", "--to", "green", "--service", "rtpm-api", "--bake", "0", "--message", "why"];
        assert.doesNotThrow(() => parseSwitchArgs(argv));
        // The bake input: empty means the stack's promotion.bakeSeconds; 0 (an emergency rollback) is accepted.
        const bake = (wf.on.workflow_dispatch.inputs as any).bake;
        assert.deepEqual([bake.type, bake.required, bake.default], ["string", false, ""]);
        // No config edit or up of its own any more: the switch does both, and its rollback.
        const runs = job.steps.map((s) => s.run ?? "").join("\n");
        assert.doesNotMatch(runs, /pulumi config set/);
        assert.ok(!job.steps.some((s) => s.with?.command === "up"));
        assert.match(runs, /git add "Pulumi\.\$STACK\.yaml"/);
        assert.match(runs, /git push origin HEAD:main/);
        const order = job.steps
            .map((s) =>
                s.run?.includes("npm run --silent switch") ? "switch" : s.run?.includes("git push") ? "commit" : s.run?.includes("--diff") ? "diff" : s.run?.includes("/api/health") ? "health" : /exit "\$CODE"/.test(s.run ?? "") ? "verdict" : "",
            )
            .filter(Boolean);
        // The stack file ends holding what is live (switched, rolled back, or read back after a failed rollback):
        // it is committed whatever the switch's exit code, before anything else can fail the job.
        assert.deepEqual(order, ["diff", "switch", "commit", "health", "verdict"]);
        const commit = job.steps.find((s) => s.run?.includes("git push")) as any;
        assert.equal(commit.if, "always() && steps.switch.outputs.code != ''");
        assert.equal(commit.env.CODE, "${{ steps.switch.outputs.code }}");
        const health = job.steps.find((s) => s.run?.includes("/api/health")) as any;
        assert.equal(health.if, "steps.switch.outputs.code == '0'");
        const verdict = job.steps.find((s) => /exit "\$CODE"/.test(s.run ?? "")) as any;
        assert.equal(verdict.if, "always() && steps.switch.outputs.code != ''");
        assert.equal((job as any).concurrency.group, "pulumi-${{ inputs.stack }}");
        assert.equal((job as any).concurrency["cancel-in-progress"], false);
        // A rollback queued behind a switch waits at most for that run's switch step, bounded.
        assert.ok(sw["timeout-minutes"] <= 30, "the switch step is bounded");
        assert.ok((job as any)["timeout-minutes"] > sw["timeout-minutes"], "the job outlives its switch step, so the commit still runs");
    });

    it("switch: the health check covers every host of the stack (its `urls` output), not only the website", () => {
        const runs = load("switch.yml").jobs.switch.steps.map((s) => s.run ?? "").join("\n");
        assert.match(runs, /pulumi stack output urls --json/);
        assert.match(runs, /for u in \$urls; do/);
        assert.match(runs, /"\$u\/api\/health"/);
    });
});

// Issue 14 item 16: the runbook's pre-deployment "Security scan completed (no critical
// vulnerabilities)" gates every path that moves traffic: deploy.yml's pulumi up (a stack
// file edited by hand) through npm run scan-check, the switch through its own preflight.
describe("CI/CD workflows: no pulumi up puts an image with critical scan findings in front of traffic", () => {
    const GATE = "Image scans (runbook: no critical vulnerabilities)";
    const ups = (job: Job) => job.steps.filter((s) => s.uses?.split("@")[0] === "pulumi/actions" && s.with?.command === "up");
    const stackOf = (up: Step) => /\/([^/]+)$/.exec(String(up.with?.["stack-name"]))?.[1];

    /** What is wrong with a job's gate: missing, skippable, after the up, on another stack, without credentials. */
    function gateProblems(job: Job): string[] {
        const problems: string[] = [];
        for (const up of ups(job)) {
            const stack = stackOf(up);
            const gates = job.steps.filter((s) => s.name === GATE);
            if (gates.length !== 1) {
                problems.push(`${gates.length} "${GATE}" steps`);
                continue;
            }
            const gate = gates[0] as Step & { if?: string; "continue-on-error"?: unknown };
            const m = /^npm run --silent scan-check -- (.+)$/.exec(gate.run ?? "");
            const args = m ? parseScanCheckArgs(m[1].split(/\s+/)) : undefined;
            if (!args || args.help) problems.push(`the gate does not run npm run --silent scan-check -- --stack <stack>: ${gate.run}`);
            else if (args.stack !== stack) problems.push(`the gate checks ${args.stack}, the up deploys ${stack}`);
            if (gate.if !== undefined || gate["continue-on-error"] !== undefined) problems.push("the gate can be skipped or ignored");
            const at = job.steps.indexOf(gate);
            if (at > job.steps.indexOf(up)) problems.push("the gate runs after pulumi up");
            const creds = job.steps.findIndex((s) => s.uses?.split("@")[0] === "aws-actions/configure-aws-credentials");
            if (creds < 0 || creds > at) problems.push("the gate runs before the AWS credentials (it reads ECR with the deploy role)");
        }
        return problems;
    }

    it("deploy: staging and production each run npm run scan-check on their own stack, after the credentials, before pulumi up", () => {
        const wf = load("deploy.yml");
        for (const id of ["staging", "production"]) {
            const job = wf.jobs[id];
            assert.equal(ups(job).length, 1, `${id}: one pulumi up`);
            assert.equal(stackOf(ups(job)[0]), id);
            assert.deepEqual(gateProblems(job), [], id);
        }
    });

    it("the check has teeth: a missing gate, a gate after the up, on the other stack, or skippable, is caught", () => {
        const job = load("deploy.yml").jobs.production;
        const gate = job.steps.find((s) => s.name === GATE)!;
        const up = ups(job)[0];
        const without = (s: Step) => job.steps.filter((x) => x !== s);
        const mutants: [string, Step[], RegExp][] = [
            ["missing", without(gate), /0 "Image scans/],
            ["after the up", [...without(gate).slice(0, without(gate).indexOf(up) + 1), gate, ...without(gate).slice(without(gate).indexOf(up) + 1)], /after pulumi up/],
            ["on staging", job.steps.map((s) => (s === gate ? { ...s, run: "npm run --silent scan-check -- --stack staging" } : s)), /checks staging, the up deploys production/],
            ["skippable", job.steps.map((s) => (s === gate ? { ...s, "continue-on-error": true } : s)), /skipped or ignored/],
            ["before the credentials", [gate, ...without(gate)], /before the AWS credentials/],
        ];
        for (const [what, steps, says] of mutants) assert.match(gateProblems({ ...job, steps }).join("; "), says, what);
    });

    it("every pulumi up of every workflow is gated: a pulumi/actions up behind scan-check, or npm run switch (its preflight checks the scans); no bare `pulumi up`", () => {
        for (const file of ["deploy.yml", "pull-request.yml", "switch.yml"])
            for (const [id, job] of Object.entries(load(file).jobs)) {
                assert.deepEqual(gateProblems(job), [], `${file} ${id}`);
                for (const s of job.steps) assert.doesNotMatch(s.run ?? "", /\bpulumi up\b/, `${file} ${id}: "${s.name ?? s.run}" runs pulumi up outside both gates`);
            }
        // switch.yml moves traffic only through npm run switch (whose pulumi up is the Automation API's),
        // without --accept-scan-findings: an override there is a deliberate command, not a workflow default.
        const sw = load("switch.yml");
        assert.deepEqual(Object.values(sw.jobs).flatMap(ups), [], "switch.yml's pulumi/actions step only installs the CLI");
        assert.ok(steps(sw).some((s) => /npm run --silent switch -- /.test(s.run ?? "")));
        assert.doesNotMatch(fs.readFileSync(path.join(DIR, "switch.yml"), "utf8"), /--accept-scan-findings/);
    });
});

describe("CI reaches the private EKS API: config, workflows and docs agree (issue 12 item 4)", () => {
    const GITHUB_HOSTED = /^(ubuntu|windows|macos)-/;
    const SG = "aws:ec2/securityGroup:SecurityGroup";
    const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
    const EKS = "eks:index:Cluster";
    /** Jobs that talk to a cluster: a pulumi/actions step that changes or previews a stack, or `npm run switch`. */
    const clusterJobs = (wf: Workflow) =>
        Object.entries(wf.jobs).filter(([, j]) =>
            j.steps.some((s) => (s.uses?.startsWith("pulumi/actions@") && ["up", "refresh", "destroy"].includes(String(s.with?.command))) || /npm run --silent switch/.test(s.run ?? "")),
        );
    let prod: Rendered;
    let staging: Rendered;
    before(async function () {
        this.timeout(60000);
        ({ prod, staging } = await renderBoth());
    });

    it("deploy.yml: each stack's pulumi up runs on that stack's self-hosted runner, labelled as the stack's config says", () => {
        const wf = load("deploy.yml");
        for (const stack of ["staging", "production"] as const) {
            assert.deepEqual(wf.jobs[stack]["runs-on"], ["self-hosted", deployRunnerLabel(stack)], stack);
            assert.equal(parseWith(stack).cluster.deployRunner.label, deployRunnerLabel(stack));
            assert.equal(deployRunnerLabel(stack), `candlefish-${stack}`);
        }
        // The tests need no cluster: they stay on a GitHub-hosted runner.
        assert.equal(wf.jobs.test["runs-on"], "ubuntu-latest");
    });

    it("switch.yml: the job runs on the chosen stack's runner; every stack it offers has one", () => {
        const wf = load("switch.yml");
        const runsOn = wf.jobs.switch["runs-on"] as string[];
        assert.deepEqual(runsOn, ["self-hosted", "candlefish-${{ inputs.stack }}"]);
        for (const stack of wf.on.workflow_dispatch.inputs.stack.options as string[]) {
            assert.equal(runsOn[1].replace("${{ inputs.stack }}", stack), deployRunnerLabel(stack));
            assert.equal(parseWith(stack).cluster.deployRunner.label, deployRunnerLabel(stack));
        }
    });

    it("no job that runs pulumi up or npm run switch is on a GitHub-hosted runner (they cannot reach a private API)", () => {
        let n = 0;
        for (const file of ["deploy.yml", "switch.yml", "pull-request.yml"]) {
            for (const [id, job] of clusterJobs(load(file))) {
                const labels = ([] as string[]).concat(job["runs-on"] as string | string[]);
                assert.ok(labels.includes("self-hosted"), `${file} ${id}: runs-on ${labels.join(", ")}`);
                assert.ok(!labels.some((l) => GITHUB_HOSTED.test(l)), `${file} ${id}`);
                n++;
            }
        }
        assert.equal(n, 3, "staging, production, switch");
    });

    it("pull-request.yml: the preview stays on a GitHub-hosted runner, so pull-request code never runs inside the VPC", () => {
        const wf = load("pull-request.yml");
        assert.match(String(wf.jobs.preview["runs-on"]), GITHUB_HOSTED);
        assert.match(String(wf.jobs.test["runs-on"]), GITHUB_HOSTED);
    });

    it("both stack files use access \"vpc\": the runner's security group exists and the cluster security group admits it on 443, and nothing else changes the endpoint", () => {
        for (const [stack, r] of [["production", prod], ["staging", staging]] as const) {
            const c = parseWith(stack).cluster;
            assert.equal(c.deployRunner.access, "vpc");
            assert.deepEqual(c.publicAccessCidrs, []);
            const eks = inputs(ofType(r, EKS)[0]);
            assert.equal(eks.endpointPublicAccess, false);
            const sg = find(r, SG, `${c.name}-deploy-runner`);
            const sgIn = inputs(sg);
            assert.equal(sgIn.name, `${c.name}-deploy-runner`);
            assert.deepEqual(sgIn.ingress, []);
            assert.equal(sgIn.tags["candlefish.ai/runner-label"], deployRunnerLabel(stack));
            assert.deepEqual(sgIn.egress.map((e: any) => [e.protocol, e.fromPort, e.cidrBlocks[0]]), [
                ["tcp", 443, "0.0.0.0/0"],
                ["udp", 53, parseWith(stack).network.cidr],
                ["tcp", 53, parseWith(stack).network.cidr],
            ]);
            const rule = inputs(find(r, INGRESS, `${c.name}-api-from-deploy-runner`));
            assert.equal(rule.securityGroupId, `sg-cluster-${c.name}`); // the eks.Cluster's clusterSecurityGroupId
            assert.equal(rule.referencedSecurityGroupId, `${sg.name}-id`);
            assert.deepEqual([rule.ipProtocol, rule.fromPort, rule.toPort], ["tcp", 443, 443]);
            // Where to launch the runner is a stack output.
            const out = r.outputs.deployRunner as any;
            assert.equal(out.label, deployRunnerLabel(stack));
            assert.equal(out.access, "vpc");
            assert.equal(out.securityGroupId, `${sg.name}-id`);
            // Unset zones: AWS's first three for the region (platforms/aws.ts defaultZones).
            assert.equal(out.subnetIds.length, parseWith(stack).network.availabilityZones?.length ?? 3);
        }
    });

    it("access \"publicEndpoint\": no runner security group; the public endpoint admits exactly the runner's CIDRs", async function () {
        this.timeout(60000);
        const r = await renderWith("staging", ["cluster.deployRunner.access=publicEndpoint", "cluster.publicAccessCidrs[0]=198.51.100.7/32"]);
        const eks = inputs(ofType(r, EKS)[0]);
        assert.equal(eks.endpointPublicAccess, true);
        assert.deepEqual(eks.publicAccessCidrs, ["198.51.100.7/32"]);
        assert.equal(ofType(r, SG).filter((x) => x.name.endsWith("-deploy-runner")).length, 0);
        assert.equal(ofType(r, INGRESS).filter((x) => x.name.endsWith("-api-from-deploy-runner")).length, 0);
        assert.deepEqual(r.outputs.deployRunner, { label: "candlefish-staging", access: "publicEndpoint" });
    });

    it("access \"publicEndpoint\" without CIDRs is refused naming cluster.publicAccessCidrs; 0.0.0.0/0 is refused in production and staging", async function () {
        this.timeout(60000);
        const missing = await expectRejected("production", ["cluster.deployRunner.access=publicEndpoint"]);
        assert.equal(missing.registered, 0);
        assert.match(missing.message, /- cluster\.publicAccessCidrs: required when cluster\.deployRunner\.access is "publicEndpoint": the fixed egress CIDRs of the runner labelled candlefish-production \(GitHub-hosted runners have no fixed addresses/);
        for (const stack of ["production", "staging"]) {
            const open = await expectRejected(stack, ["cluster.deployRunner.access=publicEndpoint", "cluster.publicAccessCidrs[0]=0.0.0.0/0"]);
            assert.equal(open.registered, 0);
            assert.match(open.message, /- cluster\.publicAccessCidrs\.0: 0\.0\.0\.0\/0 opens the Kubernetes API to the whole internet/);
        }
        const typo = await expectRejected("staging", ["cluster.deployRunner.access=public"]);
        assert.match(typo.message, /- cluster\.deployRunner\.access: .*"vpc", "publicEndpoint"/);
    });

    it("the docs and the workflow comments say the same: labels, keys and the section they point to", () => {
        const doc = fs.readFileSync(path.join(ROOT, "docs", "AWS.md"), "utf8");
        const section = "Reaching the EKS API from CI";
        assert.match(doc, new RegExp(`^## ${section}$`, "m"));
        for (const needle of ["cluster.deployRunner.access", "cluster.publicAccessCidrs", "self-hosted", deployRunnerLabel("production"), deployRunnerLabel("staging"), "deployRunner"])
            assert.ok(doc.includes(needle), `docs/AWS.md mentions ${needle}`);
        for (const file of ["deploy.yml", "switch.yml", "pull-request.yml"]) {
            const text = fs.readFileSync(path.join(DIR, file), "utf8");
            assert.ok(text.includes(`docs/AWS.md, "${section}"`), `${file} points to the section`);
        }
    });
});
