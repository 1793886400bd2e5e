// The first-deploy phase order (`bootstrap.phase`). A stack cannot run an
// image from an ECR repository that its own update creates: the repository is
// empty until someone pushes to it, so the Deployments would wait in
// ImagePullBackOff until the rollout deadline fails the update. So a first
// deploy goes in two updates (docs/FIRST-DEPLOY.md "Bootstrap order"):
//
//   platform  network, EKS, ECR, data stores, secrets, the in-cluster platform;
//             the app namespace and the maintenance page. No service that is not
//             running yet is started (on a first deploy: none), so no image of
//             ours is pulled. Services the last deployment ran keep running.
//   apps      (the default) every configured service.
//
// Between the two, the images are pushed. In either phase, a service that is
// to run must find its repository already in the account (checked before
// anything is registered, platforms/aws.ts): a repository the owner stack
// creates in this very update, or one the owner stack has not created yet, is
// refused with the commands to run instead.
import * as s from "./schema";
import { ConfigIssue } from "./schema";
import { ConfigSource } from "./source";
import type { ServiceConfig } from "./services";

export const BOOTSTRAP_PHASES = ["platform", "apps"] as const;
export type BootstrapPhase = (typeof BOOTSTRAP_PHASES)[number];

export interface BootstrapConfig {
    /** `platform`: start no service that is not running yet; `apps` (default): every service. */
    readonly phase: BootstrapPhase;
}

const bootstrapShape = s.object({
    phase: s.optional(s.oneOf(BOOTSTRAP_PHASES)),
});

export function readBootstrap(src: ConfigSource): BootstrapConfig {
    const b = src.read("bootstrap", s.optional(bootstrapShape, {} as s.Infer<typeof bootstrapShape>));
    const phase = s.isInvalid(b) ? "apps" : (b.phase ?? "apps");
    return Object.freeze({ phase });
}

/** Which configured services this update runs, and which it holds back. */
export interface ServicePlan {
    readonly run: readonly ServiceConfig[];
    /** Names of configured services not started by this update (phase `platform`, not running yet). */
    readonly heldBack: readonly string[];
}

/**
 * `apps`: every service. `platform`: only the services the last deployment ran
 * (`running`), so a platform-phase update never deletes a running service, and
 * a first deploy starts none.
 */
export function planServices(phase: BootstrapPhase, services: readonly ServiceConfig[], running: ReadonlySet<string>): ServicePlan {
    if (phase === "apps") return { run: services, heldBack: [] };
    return {
        run: services.filter((svc) => running.has(svc.name)),
        heldBack: services.filter((svc) => !running.has(svc.name)).map((svc) => svc.name),
    };
}

/** The command that puts a stack into the platform phase (also in docs/FIRST-DEPLOY.md). */
export const PLATFORM_PHASE_COMMAND = "pulumi config set --path bootstrap.phase platform";

/**
 * The services to run whose ECR repository is not in the account before this
 * update: one issue each, saying what to do instead. `owner`: this stack
 * creates the repositories (so this update would create it, empty); otherwise
 * the owner stack (production) has not created it yet.
 */
export function registryIssues(args: {
    readonly owner: boolean;
    readonly run: readonly ServiceConfig[];
    /** Repository names in the account and region right now. */
    readonly existing: ReadonlySet<string>;
    readonly stack: string;
}): ConfigIssue[] {
    const issues: ConfigIssue[] = [];
    for (const svc of args.run) {
        if (args.existing.has(svc.name)) continue;
        const tags = [...new Set([svc.colors.blue.imageTag, svc.colors.green.imageTag])].join(", ");
        issues.push({
            key: `services.${svc.name}`,
            message: args.owner
                ? `its ECR repository ${svc.name} is created by this update, so its images (${tags}) cannot have been pushed to it yet ` +
                  `(the pods would wait in ImagePullBackOff until the rollout deadline). Create the repositories first: ` +
                  `\`${PLATFORM_PHASE_COMMAND} --stack ${args.stack}\` and \`pulumi up\`, push the images, then ` +
                  `\`pulumi config set --path bootstrap.phase apps --stack ${args.stack}\` (docs/FIRST-DEPLOY.md "Bootstrap order")`
                : `the ECR repository ${svc.name} is not in this account yet: the stack with registry.owner=true (production) creates it. ` +
                  `Run production's update first (on a first deploy with bootstrap.phase platform), or hold this stack's services back meanwhile: ` +
                  `\`${PLATFORM_PHASE_COMMAND} --stack ${args.stack}\` (docs/FIRST-DEPLOY.md "Bootstrap order")`,
        });
    }
    return issues;
}
