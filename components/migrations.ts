// Database migrations that gate the rollout. Runbook "Database Migrations":
// `kubectl exec -it deployment/rtpm-api-blue -- python manage.py migrate`,
// run by hand before (or, at 3 a.m., after) the new image went out.
//
// Here every image tag a color runs gets one Job, named from the tag
// (`rtpm-api-migrate-v2-4-1`), running the migration command with that image
// and the service's config and secrets. The color's Deployment depends on its
// Job, and Pulumi's Job await logic waits for the Job to complete: a failed
// migration fails `pulumi up` before the new color rolls out, and therefore
// before anyone can switch traffic to it.
//
// The Job belongs to the image, never to the switch: flipping `activeColor`
// changes no Job input, so it still changes only the Service selectors.
// An unchanged tag keeps the same Job and nothing re-runs: the Job's spec is
// under `ignoreChanges` (a Job's pod template is immutable, so any other edit,
// of env, resources or labels, would replace the Job and run its migration
// again). A new tag is a new Job; the old tag's Job is deleted once no color
// runs it any more.
//
// Never twice at once: the inactive color's Job waits for the live color's,
// so on a first deploy the live tag migrates first. A failed Job is not
// re-run by the next `up` (no `replaceUnready`, which would also delete a
// running Job): Pulumi re-awaits it, and it keeps the color blocked until a
// new tag, or an explicit `pulumi up --replace <the Job's URN>`.
//
// A tag older (by semver) than the newest tag the stack runs or ran does not
// run its migrations unless `migrations.<service>.runOlderTags` is set: its
// `migrate` would run against a newer schema. So only the newest tag has a Job.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { COLORS, Color, ServiceConfig } from "../config";
import { MigrationSpec } from "../config/operations";
import { RUN_AS_USER, SecretEnv, containerEnv, imageRef, serviceResources } from "./blue-green-service";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";
import { NO_POD_FILES, PodFiles } from "./rds-ca";

export interface MigrationsArgs {
    /** The service whose colors' images carry the migrations. */
    readonly service: ServiceConfig;
    /** What to run and how patiently, from config `migrations.<service>`. */
    readonly migration: MigrationSpec;
    /** Namespace the Jobs run in (the service's). */
    readonly namespace: pulumi.Input<string>;
    /** Image repository; a Job runs `<repository>:<tag>` exactly as the color does. */
    readonly repository: pulumi.Input<string>;
    /**
     * Environment the migration needs (database and cache settings). Pass the
     * service's base environment, not mode switches such as READ_ONLY_MODE: a
     * Job's pod template is immutable, so every env change re-creates the Job
     * and re-runs the migration.
     */
    readonly env?: Record<string, pulumi.Input<string>>;
    /** Environment from Kubernetes Secrets (DATABASE_URL, ...), as the Deployments get it. */
    readonly secretEnv?: SecretEnv;
    /** Files that environment names (the RDS root CAs), mounted as in the Deployments. */
    readonly secretFiles?: PodFiles;
    /** Labels added to the Jobs and their pods. */
    readonly labels?: Record<string, string>;
    /** Image tags this service ran in the stack's last deployment (from its promotionState); none on a first deploy. */
    readonly deployedTags?: readonly string[];
    /** What every Job waits for before it starts (e.g. the Job that provisions the database login it uses). */
    readonly after?: readonly pulumi.Resource[];
}

/** `v1.2.3` (optionally with a pre-release/build suffix) as comparable numbers; undefined for SHAs and digests. */
export function semverOf(tag: string): [number, number, number] | undefined {
    const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(tag);
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

const older = (a: [number, number, number], b: [number, number, number]) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2];

/** The newest semver tag of a list, or undefined if none has an order. */
export function newestTag(tags: readonly string[]): string | undefined {
    let best: string | undefined;
    for (const t of tags) {
        const v = semverOf(t);
        if (v && (best === undefined || older(v, semverOf(best)!) > 0)) best = t;
    }
    return best;
}

/**
 * Tags whose migrations must not run: older than the newest tag this stack
 * runs or ran last time. Migrations only go forward: a color on an older tag
 * runs against the newer schema (expand/contract), and its own `migrate` never
 * runs again. Deciding by order alone, not by "new to the stack", keeps a
 * skipped tag skipped on the next `up` too (the e2e found a skipped tag's Job
 * created one update later). SHAs and digests have no order and always run.
 */
export function olderTags(tags: readonly string[], deployed: readonly string[]): string[] {
    const versions = [...tags, ...deployed].map(semverOf).filter((v): v is [number, number, number] => !!v);
    if (!versions.length) return [];
    const newest = versions.reduce((a, b) => (older(a, b) >= 0 ? a : b));
    return [...new Set(tags)].filter((t) => {
        const v = semverOf(t);
        return v !== undefined && older(v, newest) < 0;
    });
}

/** Kubernetes names and the `job-name` label stop at 63 characters. */
const MAX_NAME = 63;

/** `v2.4.1` -> `v2-4-1`; digests keep their first 12 hex digits. */
export function tagSlug(tag: string): string {
    const t = tag.startsWith("sha256:") ? `sha256-${tag.slice(7, 19)}` : tag;
    return t
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, "-")
        .replace(/^-+|-+$/g, "");
}

const shortHash = (s: string) => crypto.createHash("sha256").update(s).digest("hex").slice(0, 8);

/**
 * The Job name for each distinct tag: `<service>-migrate-<tag slug>`, with a
 * short hash of the tag appended when the slug would be too long or when two
 * different tags collapse to the same slug (v1.2.3-rc.1 and v1.2.3-rc-1).
 */
export function migrationJobNames(service: string, tags: readonly string[]): Map<string, string> {
    const distinct = [...new Set(tags)];
    const plain = (t: string) => `${service}-migrate-${tagSlug(t)}`;
    const out = new Map<string, string>();
    for (const tag of distinct) {
        let name = plain(tag);
        const clash = distinct.some((o) => o !== tag && plain(o) === name);
        if (clash || name.length > MAX_NAME) {
            const suffix = `-${shortHash(tag)}`;
            name = name.slice(0, MAX_NAME - suffix.length).replace(/-+$/, "") + suffix;
        }
        out.set(tag, name);
    }
    return out;
}

export class Migrations extends pulumi.ComponentResource {
    /** The Job each color's Deployment must wait for (both colors share one Job when their tags match); none for a skipped older tag. */
    public readonly jobs: Readonly<Record<Color, k8s.batch.v1.Job | undefined>>;
    /** Tags whose migrations were not run (older than a tag deployed before; see runOlderTags). */
    public readonly skippedTags: readonly string[];
    /** Job metadata.name per color, for `kubectl logs job/<name>`. */
    public readonly jobNames: Readonly<Record<Color, string>>;

    constructor(name: string, args: MigrationsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:operations:Migrations", name, {}, opts);
        const svc = args.service;
        const m = args.migration;
        const tags = COLORS.map((c) => svc.colors[c].imageTag);
        const skipped = m.runOlderTags ? [] : olderTags(tags, args.deployedTags ?? []);
        for (const t of skipped) {
            pulumi.log.warn(
                `${svc.name}: image ${t} is older than a tag this stack deployed before, so its migrations do not run ` +
                    `(its migrate would meet a newer schema). Set migrations.${svc.name}.runOlderTags=true to run them.`,
                this,
            );
        }
        // The live color's tag first, so the inactive color's Job can wait for it.
        const live = svc.colors[svc.activeColor].imageTag;
        const ordered = [live, ...tags.filter((t) => t !== live)].filter((t) => !skipped.includes(t));
        const names = migrationJobNames(svc.name, ordered);
        const env: Record<string, pulumi.Input<string>> = { ...svc.env, ...args.env };
        const files = args.secretFiles ?? NO_POD_FILES;

        const byTag = new Map<string, k8s.batch.v1.Job>();
        for (const [tag, jobName] of names) {
            const image = imageRef(args.repository, tag);
            // Deliberately not `app`/`version`: the colors' Services and PDBs
            // select on those, and a migration pod must never receive traffic.
            const labels = {
                "app.kubernetes.io/name": svc.name,
                "app.kubernetes.io/component": "migration",
                "app.kubernetes.io/part-of": "candlefish-maturity-map",
                "app.kubernetes.io/version": tagSlug(tag).slice(0, 63),
                ...args.labels,
            };
            byTag.set(
                tag,
                new k8s.batch.v1.Job(
                    jobName,
                    {
                        metadata: {
                            name: jobName,
                            namespace: args.namespace,
                            labels,
                            annotations: {
                                "candlefish.ai/image-tag": tag,
                            },
                        },
                        spec: {
                            backoffLimit: m.backoffLimit,
                            activeDeadlineSeconds: m.activeDeadlineSeconds,
                            // ttlSecondsAfterFinished is deliberately NOT set: the cluster
                            // would garbage-collect the finished Job, the next `pulumi up`
                            // would find it gone and create it again, re-running the
                            // migration on every deploy. The Job is deleted by Pulumi
                            // when its tag leaves the stack config.
                            template: {
                                metadata: { labels },
                                spec: {
                                    restartPolicy: "Never",
                                    // Same hardening as the color's pods (PSS restricted).
                                    automountServiceAccountToken: false,
                                    enableServiceLinks: false,
                                    securityContext: restrictedPodSecurity(RUN_AS_USER),
                                    containers: [
                                        {
                                            name: "migrate",
                                            image,
                                            imagePullPolicy: "IfNotPresent",
                                            command: [...m.command],
                                            env: containerEnv(env, args.secretEnv),
                                            resources: serviceResources(svc),
                                            securityContext: restrictedContainerSecurity(),
                                            volumeMounts: [{ name: "tmp", mountPath: "/tmp" }, ...files.mounts],
                                        },
                                    ],
                                    volumes: [{ name: "tmp", emptyDir: { sizeLimit: "256Mi" } }, ...files.volumes],
                                },
                            },
                        },
                    },
                    {
                        parent: this,
                        // Fixed name: the old Job must go before a replacement is created.
                        deleteBeforeReplace: true,
                        // The tag is in the name: only a new tag makes a new Job (and a new run).
                        ignoreChanges: ["spec", "metadata.labels"],
                        // One migration at a time: the other tag's Job waits for the live tag's.
                        dependsOn: byTag.size || args.after?.length ? [...(args.after ?? []), ...byTag.values()] : undefined,
                        // Pulumi's default Job wait is 10 minutes; wait as long as the
                        // migration may legitimately run, plus time to pull the image.
                        customTimeouts: { create: `${m.activeDeadlineSeconds + 300}s`, update: `${m.activeDeadlineSeconds + 300}s` },
                    },
                ),
            );
        }

        this.jobs = Object.freeze(Object.fromEntries(COLORS.map((c) => [c, byTag.get(svc.colors[c].imageTag)])) as Record<Color, k8s.batch.v1.Job | undefined>);
        this.jobNames = Object.freeze(Object.fromEntries(COLORS.map((c) => [c, names.get(svc.colors[c].imageTag) ?? ""])) as Record<Color, string>);
        this.skippedTags = skipped;
        this.registerOutputs({ jobNames: this.jobNames });
    }
}
