// Migrations gate the rollout (runbook "Database Migrations"): one Job per
// rtpm-api image tag, and each color's Deployment waits for its own Job.
import { strict as assert } from "assert";
import { DEPLOYMENT, SERVICE, at, diffRenders, find, inputs, ofType, renderStack, renderWith, stackConfig } from "./harness";
import { Rendered, render } from "../plan/render";
import { migrationJobNames, olderTags, tagSlug } from "../components/migrations";
import { RUN_AS_USER } from "../components/blue-green-service";

const JOB = "kubernetes:batch/v1:Job";
/** The migration Jobs (the database role Job, components/database-roles.ts, is not one). */
const migrationJobs = (r: Rendered) => ofType(r, JOB).filter((j) => j.name.includes("-migrate-"));

describe("Migrations: a Job per image tag gates its color's rollout", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    it("declares a Job for the newest rtpm-api tag only, named from the tag (green's v2.4.0 is older and runs on v2.4.1's schema), and none for services without migrations", () => {
        const jobs = migrationJobs(prod).map((j) => inputs(j).metadata.name).sort();
        assert.deepEqual(jobs, ["rtpm-api-migrate-v2-4-1"]);
    });

    it("runs `python manage.py migrate` with the color's exact image", () => {
        const job = inputs(find(prod, JOB, "rtpm-api-migrate-v2-4-1"));
        const c = job.spec.template.spec.containers;
        assert.equal(c.length, 1);
        assert.deepEqual(c[0].command, ["python", "manage.py", "migrate"]);
        const blueImage = inputs(find(prod, DEPLOYMENT, "rtpm-api-blue")).spec.template.spec.containers[0].image;
        assert.equal(c[0].image, blueImage);
        assert.match(c[0].image, /\/rtpm-api:v2\.4\.1$/);
    });

    it("a newer tag on the other color runs with that color's exact image", async () => {
        const r = await renderStack("production", ["services.rtpm-api.green.imageTag=v2.5.0"]);
        const greenJob = inputs(find(r, JOB, "rtpm-api-migrate-v2-5-0"));
        assert.equal(greenJob.spec.template.spec.containers[0].image, inputs(find(r, DEPLOYMENT, "rtpm-api-green")).spec.template.spec.containers[0].image);
    });

    it("each color's Deployment depends on its own tag's Job (Job -> Deployment ordering)", () => {
        assert.ok(find(prod, DEPLOYMENT, "rtpm-api-blue").options.dependsOn.includes(`${JOB}::rtpm-api-migrate-v2-4-1`));
        // Green runs an older tag: no Job of its own to wait for.
        assert.deepEqual(find(prod, DEPLOYMENT, "rtpm-api-green").options.dependsOn.filter((d) => d.startsWith(`${JOB}::`) && d.includes("-migrate-")), []);
        // Services without migrations wait for nothing of the kind.
        assert.deepEqual(find(prod, DEPLOYMENT, "nanda-api-blue").options.dependsOn.filter((d) => d.startsWith(`${JOB}::`) && d.includes("-migrate-")), []);
    });

    it("the Job is hardened like the color's pods: PSS restricted, resources, no SA token, bounded retries and runtime", () => {
        const job = inputs(find(prod, JOB, "rtpm-api-migrate-v2-4-1"));
        const pod = job.spec.template.spec;
        const c = pod.containers[0];
        assert.equal(job.spec.backoffLimit, 1);
        assert.equal(job.spec.activeDeadlineSeconds, 900);
        assert.equal(job.spec.ttlSecondsAfterFinished, undefined, "a TTL would let the cluster delete the Job and Pulumi re-run it");
        assert.equal(pod.restartPolicy, "Never");
        assert.equal(pod.automountServiceAccountToken, false);
        assert.deepEqual(pod.securityContext, {
            runAsNonRoot: true,
            runAsUser: RUN_AS_USER,
            runAsGroup: RUN_AS_USER,
            fsGroup: RUN_AS_USER,
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        const deployC = inputs(find(prod, DEPLOYMENT, "rtpm-api-blue")).spec.template.spec.containers[0];
        assert.deepEqual(c.resources, deployC.resources);
        // No replaceUnready: it would also replace (delete) a Job that is still running.
        assert.equal(job.metadata.annotations["pulumi.com/replaceUnready"], undefined);
        assert.deepEqual(find(prod, JOB, "rtpm-api-migrate-v2-4-1").options.ignoreChanges, ["spec", "metadata.labels"]);
        assert.ok(find(prod, JOB, "rtpm-api-migrate-v2-4-1").options.deleteBeforeReplace);
    });

    it("the Job gets the color's secrets and plain env (DATABASE_URL etc.), but no mode switches", () => {
        const split = (env: any[]) => ({
            secret: env.filter((e) => e.valueFrom).map((e) => JSON.stringify(e)),
            plain: Object.fromEntries(env.filter((e) => !e.valueFrom).map((e) => [e.name, e.value])),
        });
        const job = split(inputs(find(prod, JOB, "rtpm-api-migrate-v2-4-1")).spec.template.spec.containers[0].env);
        const dep = split(inputs(find(prod, DEPLOYMENT, "rtpm-api-blue")).spec.template.spec.containers[0].env);
        assert.ok(job.secret.length > 0, "no secret env on the Job");
        assert.deepEqual(job.secret, dep.secret);
        assert.ok(job.secret.some((e) => e.includes('"DATABASE_URL"')));
        // Everything plain the Job has, the Deployment has with the same value.
        for (const [k, v] of Object.entries(job.plain)) assert.equal(dep.plain[k], v, k);
        assert.equal(job.plain.READ_ONLY_MODE, undefined);
    });

    it("the Job's pods carry no app/version labels, so no Service or PDB ever selects a migration pod", () => {
        const labels = inputs(find(prod, JOB, "rtpm-api-migrate-v2-4-1")).spec.template.metadata.labels;
        assert.equal(labels.app, undefined);
        assert.equal(labels.version, undefined);
        assert.equal(labels["app.kubernetes.io/component"], "migration");
    });

    it("a new green tag is a new Job (the old tag's Job is removed); the blue Job is untouched", async () => {
        const after = await renderStack("production", ["services.rtpm-api.green.imageTag=v2.5.0"]);
        const d = diffRenders(prod, after);
        assert.deepEqual(d.added.filter((x) => x.type === JOB).map((x) => x.name), ["rtpm-api-migrate-v2-5-0"]);
        // Blue's v2.4.1 is now older than the newest tag: its completed Job is removed (deleting a Job re-runs nothing).
        assert.deepEqual(d.removed.filter((x) => x.type === JOB).map((x) => x.name), ["rtpm-api-migrate-v2-4-1"]);
        assert.equal(d.changed.filter((x) => x.type === JOB).length, 0);
        assert.ok(find(after, DEPLOYMENT, "rtpm-api-green").options.dependsOn.includes(`${JOB}::rtpm-api-migrate-v2-5-0`));
        // Green's Deployment changes only its image.
        const green = d.changed.find((x) => x.type === DEPLOYMENT && x.name === "rtpm-api-green");
        assert.deepEqual(green?.paths, ["spec.template.spec.containers.0.image"]);
    });

    it("an unchanged tag keeps its Job unchanged across unrelated edits", async () => {
        const after = await renderStack("production", ["services.nanda-api.green.imageTag=v1.9.0"]);
        const d = diffRenders(prod, after);
        assert.equal(d.changed.filter((x) => x.type === JOB).length + d.added.filter((x) => x.type === JOB).length + d.removed.filter((x) => x.type === JOB).length, 0);
    });

    it("both colors on the same tag share one Job and both Deployments wait for it", async () => {
        const r = await renderStack("production", ["services.rtpm-api.green.imageTag=v2.4.1"]);
        assert.deepEqual(migrationJobs(r).map((j) => j.name), ["rtpm-api-migrate-v2-4-1"]);
        for (const color of ["blue", "green"])
            assert.ok(find(r, DEPLOYMENT, `rtpm-api-${color}`).options.dependsOn.includes(`${JOB}::rtpm-api-migrate-v2-4-1`));
    });

    it("flipping activeColor with migrations present changes only the Service selectors", async () => {
        const flipped = await renderStack("production", ["activeColor=green"]);
        const d = diffRenders(prod, flipped);
        // Besides the selectors, only the promotion gates move (one per service, named for its color).
        assert.deepEqual([...d.added, ...d.removed].filter((x) => !x.name.includes("-gate-")), []);
        assert.ok(d.changed.length > 0);
        for (const c of d.changed) {
            assert.equal(c.type, SERVICE, `${c.type} ${c.name} changed on a flip: ${c.paths.join(", ")}`);
            assert.deepEqual(c.paths, ["spec.selector.version"]);
        }
        // And the Job->Deployment edges are the same after the flip.
        assert.deepEqual(find(flipped, DEPLOYMENT, "rtpm-api-green").options.dependsOn, find(prod, DEPLOYMENT, "rtpm-api-green").options.dependsOn);
    });

    it("`migrations` config picks the services and the command", async () => {
        const r = await renderWith("production", [], {
            migrations: { "nanda-api": { command: ["npm", "run", "migrate"], backoffLimit: 0, activeDeadlineSeconds: 300 } },
        });
        const jobs = migrationJobs(r).map((j) => inputs(j));
        assert.deepEqual(jobs.map((j) => j.metadata.name).sort(), ["nanda-api-migrate-v1-8-0"]);
        assert.deepEqual(jobs[0].spec.template.spec.containers[0].command, ["npm", "run", "migrate"]);
        assert.equal(jobs[0].spec.backoffLimit, 0);
        assert.equal(jobs[0].spec.activeDeadlineSeconds, 300);
        assert.deepEqual(find(r, DEPLOYMENT, "rtpm-api-blue").options.dependsOn.filter((x) => x.startsWith(`${JOB}::`) && x.includes("-migrate-")), []);
        const none = await renderWith("production", [], { migrations: {} });
        assert.equal(migrationJobs(none).length, 0);
    });

    it("the Job does not get READ_ONLY_MODE, so toggling read-only mode never re-runs a migration", async () => {
        const ro = await renderStack("production", ["readOnlyMode=true"]);
        const d = diffRenders(prod, ro);
        assert.equal(d.changed.filter((x) => x.type === JOB).length, 0);
        const env = at(inputs(find(ro, JOB, "rtpm-api-migrate-v2-4-1")), "spec.template.spec.containers.0.env") as { name: string }[];
        assert.ok(!env.some((e) => e.name === "READ_ONLY_MODE"));
    });
});

describe("Migrations: Job names", () => {
    it("slugs tags into DNS labels", () => {
        assert.equal(tagSlug("v2.4.1"), "v2-4-1");
        assert.equal(tagSlug("v1.3.0-rc.1+build.7"), "v1-3-0-rc-1-build-7");
        assert.equal(tagSlug("sha256:" + "ab".repeat(32)), "sha256-abababababab");
    });

    it("keeps names within 63 characters and distinct when slugs would collide", () => {
        const names = migrationJobNames("rtpm-api", ["v1.2.3-rc.1", "v1.2.3-rc-1"]);
        const [a, b] = [names.get("v1.2.3-rc.1")!, names.get("v1.2.3-rc-1")!];
        assert.notEqual(a, b);
        assert.match(a, /^rtpm-api-migrate-v1-2-3-rc-1-[0-9a-f]{8}$/);
        const long = migrationJobNames("a-very-long-service-name-for-testing", ["v1.2.3-" + "x".repeat(40)]);
        const n = [...long.values()][0];
        assert.ok(n.length <= 63, n);
        assert.match(n, /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    });
});

describe("Migrations: never re-run, never concurrent, never an older tag's by accident", () => {
    let prod: Rendered;
    before(async () => {
        prod = await renderStack("production");
    });

    it("an edit that does not change a tag never re-runs a migration (env, resources and labels edits included)", async () => {
        const after = await renderStack("production", ["services.rtpm-api.env.LOG_LEVEL=debug", "services.rtpm-api.requests.cpu=500m", "services.rtpm-api.allowLiveChange=true"]);
        const d = diffRenders(prod, after);
        assert.deepEqual([...d.changed, ...d.added, ...d.removed].filter((x) => x.type === JOB), []);
        // The Job's inputs do change; Pulumi ignores them (ignoreChanges), so nothing is replaced.
        assert.notDeepEqual(inputs(find(after, JOB, "rtpm-api-migrate-v2-4-1")).spec.template.spec.containers[0].resources, inputs(find(prod, JOB, "rtpm-api-migrate-v2-4-1")).spec.template.spec.containers[0].resources);
    });

    it("never two migrations at once: when two Jobs exist (runOlderTags, or tags without order), the inactive tag's waits for the live tag's", async () => {
        const both = await renderWith("production", [], { migrations: { "rtpm-api": { command: ["python", "manage.py", "migrate"], runOlderTags: true } } });
        // Every migration also waits for the Job that provisions its database login (components/database-roles.ts).
        const roles = `${JOB}::database-roles-job`;
        assert.deepEqual(find(both, JOB, "rtpm-api-migrate-v2-4-0").options.dependsOn, [roles, `${JOB}::rtpm-api-migrate-v2-4-1`]);
        assert.deepEqual(find(both, JOB, "rtpm-api-migrate-v2-4-1").options.dependsOn, [roles]);
        const shas = await renderStack("production", ["services.rtpm-api.blue.imageTag=1a2b3c4", "services.rtpm-api.green.imageTag=5d6e7f8"]);
        assert.deepEqual(find(shas, JOB, "rtpm-api-migrate-5d6e7f8").options.dependsOn, [roles, `${JOB}::rtpm-api-migrate-1a2b3c4`]);
    });

    it("a tag older than one deployed before runs no migration unless runOlderTags is set", async () => {
        assert.deepEqual(olderTags(["v2.4.0", "v2.6.0"], ["v2.5.0", "v2.5.1"]), ["v2.4.0"]);
        assert.deepEqual(olderTags(["v2.5.0", "abc1234"], ["v2.5.1", "v2.5.0"]), ["v2.5.0"], "older than what ran last time, even if it ran then; a SHA has no order");
        assert.deepEqual(olderTags(["v1.0.0"], []), [], "one tag: the newest");
        assert.deepEqual(olderTags(["v1.0.0", "v1.1.0"], []), ["v1.0.0"], "a first deploy migrates the newest tag only");
        // The last deployment ran green on v2.5.0 (a render of that config gives its promotionState).
        const last = { promotionState: (await renderStack("production", ["services.rtpm-api.green.imageTag=v2.5.0"])).outputs.promotionState as Record<string, unknown> };
        // Green rolls back by tag, from v2.5.0 to v2.3.9.
        const cfg = stackConfig("production", ["services.rtpm-api.green.imageTag=v2.3.9"]);
        const r = await render({ stack: "production", ...cfg, previousOutputs: last });
        assert.deepEqual(migrationJobs(r).map((j) => j.name), [], "both v2.4.1 and v2.3.9 are older than the v2.5.0 that ran");
        assert.deepEqual(find(r, DEPLOYMENT, "rtpm-api-green").options.dependsOn.filter((x) => x.startsWith(`${JOB}::`) && x.includes("-migrate-")), []);
        const asked = await render({ stack: "production", ...stackConfig("production", ["services.rtpm-api.green.imageTag=v2.3.9"], { migrations: { "rtpm-api": { command: ["python", "manage.py", "migrate"], runOlderTags: true } } }), previousOutputs: last });
        assert.deepEqual(migrationJobs(asked).map((j) => j.name).sort(), ["rtpm-api-migrate-v2-3-9", "rtpm-api-migrate-v2-4-1"]);
    });

    it("the newest migrated tag is a stack output written even by a failed update, and keeps older tags skipped after one", async () => {
        assert.deepEqual(prod.outputs.migrationHighWater, { "rtpm-api": "v2.4.1" });
        // A failed update leaves no promotionState, only the high-water mark (here: v3.7.0 was tried).
        const r = await render({ stack: "production", ...stackConfig("production"), previousOutputs: { migrationHighWater: { "rtpm-api": "v3.7.0-fails" } } });
        assert.deepEqual(migrationJobs(r).map((j) => j.name), [], "v2.4.1 and v2.4.0 are older than the v3.7.0 that was migrated (or tried)");
        assert.deepEqual(r.outputs.migrationHighWater, { "rtpm-api": "v3.7.0-fails" });
    });
});

