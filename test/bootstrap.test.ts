// The first deploy in a fresh account (issue 12 item 6, docs/FIRST-DEPLOY.md
// "Bootstrap order"): the same update cannot create the ECR repositories and
// run images from them, and staging cannot look up repositories production has
// not created yet. `bootstrap.phase: platform` brings up everything but the
// services that are not running yet; the program refuses, before registering
// anything, a service whose repository is not in the account.
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../config";
import { planServices, registryIssues } from "../config/bootstrap";
import { Rendered, render } from "../plan/render";
import { mocks } from "../plan/mocks";
import { evaluatePolicies } from "../plan/policy";
import { DEPLOYMENT, SERVICES, expectRejected, ofType, parseWith, stackConfig, withRegistrationCount } from "./harness";

const REPOSITORY = "aws:ecr/repository:Repository";
const JOB = "kubernetes:batch/v1:Job";

interface Up {
    readonly stack?: string;
    readonly edits?: readonly string[];
    /** The outputs of the last update (none: a first deploy). */
    readonly previous?: Rendered | Record<string, unknown>;
    /** The account's ECR repositories before the update (default: one per configured service). */
    readonly repositories?: readonly string[];
}

const outputsOf = (p: Up["previous"]) => (p && "resources" in p ? (p as Rendered).outputs : (p as Record<string, unknown> | undefined));

function up({ stack = "production", edits = [], previous, repositories }: Up): Promise<Rendered> {
    return render({ stack, ...stackConfig(stack, edits), previousOutputs: outputsOf(previous), ecrRepositories: repositories });
}

/** The ConfigError an update gets, how many resources it registered, and which ECR invokes it made. */
async function refused(u: Up): Promise<{ message: string; registered: number; invokes: string[] }> {
    const invokes: string[] = [];
    const call = mocks.call;
    mocks.call = (args) => {
        invokes.push(args.token);
        return call.call(mocks, args);
    };
    try {
        return await withRegistrationCount(async (registered) => {
            try {
                await up(u);
            } catch (e) {
                assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${(e as Error).stack}`);
                return { message: e.message, registered: registered(), invokes };
            }
            return assert.fail(`expected ${JSON.stringify(u.edits)} to be refused`);
        });
    } finally {
        mocks.call = call;
    }
}

/** The ECR invokes a render makes (getRepositories, getRepository). */
async function ecrInvokes(u: Up): Promise<{ r: Rendered; invokes: pulumi.runtime.MockCallArgs[] }> {
    const invokes: pulumi.runtime.MockCallArgs[] = [];
    const call = mocks.call;
    mocks.call = (args) => {
        if (args.token.startsWith("aws:ecr/")) invokes.push(args);
        return call.call(mocks, args);
    };
    try {
        return { r: await up(u), invokes };
    } finally {
        mocks.call = call;
    }
}

const appDeployments = (r: Rendered) =>
    ofType(r, DEPLOYMENT)
        .map((d) => d.name)
        .filter((n) => SERVICES.some((s) => n === `${s}-blue` || n === `${s}-green`))
        .sort();
const allColors = (services: readonly string[]) => services.flatMap((s) => [`${s}-blue`, `${s}-green`]).sort();

describe("bootstrap: the first deploy in a fresh account (ECR before the images in it)", () => {
    describe("config: bootstrap.phase", () => {
        it("defaults to apps; accepts platform", () => {
            assert.equal(parseWith("production").bootstrap.phase, "apps");
            assert.equal(parseWith("staging", ["bootstrap.phase=platform"]).bootstrap.phase, "platform");
        });

        it("refuses another phase, naming the key and the two phases, registering nothing", async () => {
            const { message, registered } = await expectRejected("staging", ["bootstrap.phase=images"]);
            assert.equal(registered, 0);
            assert.match(message, /- bootstrap\.phase: .*one of "platform", "apps"/);
        });

        it("refuses a typo'd key with a did-you-mean", async () => {
            const { message } = await expectRejected("staging", ["bootstrap.phaze=platform"]);
            assert.match(message, /- bootstrap\.phaze: unknown key; did you mean "phase"\?/);
        });

        it("a local stack refuses it (no ECR there)", async () => {
            const { message } = await expectRejected("local", ["bootstrap.phase=platform"]);
            assert.match(message, /- bootstrap: configures the first-deploy phase order .*only platform "aws" has/);
        });
    });

    describe("which services an update runs", () => {
        const services = parseWith("production").services;
        it("apps: all of them", () => {
            assert.deepEqual(planServices("apps", services, new Set()).run.map((s) => s.name), services.map((s) => s.name));
        });
        it("platform: only those the last update ran (a first deploy: none), the others held back", () => {
            assert.deepEqual(planServices("platform", services, new Set()), { run: [], heldBack: services.map((s) => s.name) });
            const p = planServices("platform", services, new Set(["rtpm-api", "gone-service"]));
            assert.deepEqual(p.run.map((s) => s.name), ["rtpm-api"]);
            assert.deepEqual(p.heldBack, services.map((s) => s.name).filter((n) => n !== "rtpm-api"));
        });
        it("a service whose repository is in the account passes; one that is not is an issue per service", () => {
            const run = services.filter((s) => s.name === "rtpm-api" || s.name === "nanda-api");
            assert.deepEqual(registryIssues({ owner: true, run, existing: new Set(["rtpm-api", "nanda-api"]), stack: "production" }), []);
            const issues = registryIssues({ owner: true, run, existing: new Set(["rtpm-api"]), stack: "production" });
            assert.deepEqual(issues.map((i) => i.key), ["services.nanda-api"]);
        });
    });

    describe("production (registry.owner) in an account with no repositories", () => {
        it("apps (the default): refused before anything is registered, each service named with the commands to run instead", async () => {
            const r = await refused({ repositories: [] });
            // Two registrations: the read of the stack's own last outputs, and the AWS provider in aws:region
            // the ECR lookup goes through (a provider, no cloud resource; default providers are disabled).
            assert.equal(r.registered, 2);
            for (const s of SERVICES) assert.match(r.message, new RegExp(`- services\\.${s}: its ECR repository ${s} is created by this update, so its images \\(v[^)]+\\) cannot have been pushed to it yet`));
            assert.match(r.message, /`pulumi config set --path bootstrap\.phase platform --stack production` and `pulumi up`, push the images, then `pulumi config set --path bootstrap\.phase apps --stack production`/);
        });

        let platform: Rendered;
        before(async () => {
            platform = await up({ edits: ["bootstrap.phase=platform"], repositories: [] });
        });

        it("platform: creates every repository (protected) and the platform, and starts no service", () => {
            assert.deepEqual(ofType(platform, REPOSITORY).map((r) => r.name).sort(), [...SERVICES].sort());
            assert.ok(ofType(platform, REPOSITORY).every((r) => r.options.protect));
            for (const t of ["eks:index:Cluster", "aws:rds/instance:Instance", "aws:elasticache/replicationGroup:ReplicationGroup", "kubernetes:helm.sh/v3:Release"])
                assert.ok(ofType(platform, t).length > 0, t);
            assert.deepEqual(appDeployments(platform), []);
            assert.deepEqual(ofType(platform, JOB).filter((j) => j.name.includes("-migrate-")), [], "no migration Job");
            // What runs no image of ours still runs: the maintenance page (a public image) and the exporters.
            assert.ok(ofType(platform, DEPLOYMENT).some((d) => d.name === "maintenance-page"));
        });

        it("platform: passes the policy pack deploy.yml runs with (no blue/green set is required to exist)", async () => {
            const report = await evaluatePolicies(platform);
            assert.deepEqual(report.violations, []);
        });

        it("platform: outputs say so (deploy.yml reads bootstrapPhase), and no service is recorded as running", () => {
            assert.equal(platform.outputs.bootstrapPhase, "platform");
            assert.deepEqual(platform.outputs.deployedServices, []);
            assert.deepEqual(platform.outputs.promotionState, {});
            assert.deepEqual(platform.outputs.liveColors, {});
            assert.deepEqual(platform.outputs.migrationHighWater, {});
            assert.deepEqual(Object.keys(platform.outputs.repositoryUrls as object).sort(), [...SERVICES].sort());
        });

        it("then apps, once the repositories exist (images pushed): every service starts, with its migration", async () => {
            const apps = await up({ previous: platform });
            assert.deepEqual(appDeployments(apps), allColors(SERVICES));
            assert.ok(ofType(apps, JOB).some((j) => j.name.startsWith("rtpm-api-migrate-")));
            assert.equal(apps.outputs.bootstrapPhase, "apps");
            assert.deepEqual((apps.outputs.deployedServices as string[]).slice().sort(), [...SERVICES].sort());
        });
    });

    describe("staging (looks up production's repositories)", () => {
        it("apps before production created them: refused, naming production's update and the platform phase; nothing looked up but the account's list", async () => {
            const r = await refused({ stack: "staging", repositories: [] });
            assert.equal(r.registered, 2);
            for (const s of SERVICES) assert.match(r.message, new RegExp(`- services\\.${s}: the ECR repository ${s} is not in this account yet: the stack with registry\\.owner=true \\(production\\) creates it`));
            assert.match(r.message, /`pulumi config set --path bootstrap\.phase platform --stack staging`/);
            assert.deepEqual(r.invokes.filter((t) => t.startsWith("aws:ecr/")), ["aws:ecr/getRepositories:getRepositories"]);
        });

        it("platform before production created them: renders, with no lookup of any repository", async () => {
            const { r, invokes } = await ecrInvokes({ stack: "staging", edits: ["bootstrap.phase=platform"], repositories: [] });
            assert.deepEqual(invokes, [], "not even the account's list: no service runs");
            assert.deepEqual(ofType(r, REPOSITORY), [], "staging creates no repository");
            assert.deepEqual(appDeployments(r), []);
            assert.deepEqual(r.outputs.repositoryUrls, {});
        });

        it("apps once they exist: one lookup per service, no repository created", async () => {
            const { r, invokes } = await ecrInvokes({ stack: "staging" });
            assert.deepEqual(invokes.filter((i) => i.token === "aws:ecr/getRepository:getRepository").map((i) => i.inputs.name).sort(), [...SERVICES].sort());
            assert.deepEqual(ofType(r, REPOSITORY), []);
            assert.deepEqual(appDeployments(r), allColors(SERVICES));
        });
    });

    describe("the platform phase on a stack that runs services", () => {
        let running: Rendered;
        before(async () => {
            running = await up({});
        });

        it("keeps every running service (nothing is deleted)", async () => {
            const r = await up({ edits: ["bootstrap.phase=platform"], previous: running });
            assert.deepEqual(appDeployments(r), allColors(SERVICES));
            assert.deepEqual(r.outputs.promotionState, running.outputs.promotionState);
        });

        it("keeps them after a failed update too (deployedServices is written when promotionState is not)", async () => {
            const r = await up({ edits: ["bootstrap.phase=platform"], previous: { deployedServices: running.outputs.deployedServices } });
            assert.deepEqual(appDeployments(r), allColors(SERVICES));
        });

        it("adding a service: apps is refused for the new one only; platform creates its repository and holds it back", async () => {
            // A new service is declared (serviceCatalog, issue 13), then given its tags.
            const add = ["serviceCatalog.search-api.port=8080", "services.search-api.blue.imageTag=v1.0.0", "services.search-api.green.imageTag=v1.0.0"];
            // The account has the four repositories, not search-api's yet.
            const r = await refused({ edits: add, previous: running, repositories: [...SERVICES] });
            assert.deepEqual(r.message.split("\n").slice(1).map((l) => l.trim().split(":")[0]), ["- services.search-api"]);

            const p = await up({ edits: [...add, "bootstrap.phase=platform"], previous: running, repositories: [...SERVICES] });
            assert.ok(ofType(p, REPOSITORY).some((x) => x.name === "search-api"), "its repository is created");
            assert.deepEqual(appDeployments(p), allColors(SERVICES));
            assert.ok(!ofType(p, DEPLOYMENT).some((d) => d.name.startsWith("search-api-")), "the new service is held back");

            const next = await up({ edits: add, previous: p, repositories: [...SERVICES, "search-api"] });
            assert.deepEqual(ofType(next, DEPLOYMENT).filter((d) => d.name.startsWith("search-api-")).map((d) => d.name).sort(), ["search-api-blue", "search-api-green"]);
        });
    });
});
