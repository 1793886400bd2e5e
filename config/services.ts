// The blue/green contract: `activeColor`, `namespace`, `environment` and
// `services.<name>.*`. Runbook: "Blue-Green Deployment", "Rollback Procedures",
// "Feature Flags".
import * as s from "./schema";
import { ConfigSource } from "./source";

export const COLORS = ["blue", "green"] as const;
export type Color = (typeof COLORS)[number];
export const otherColor = (c: Color): Color => (c === "blue" ? "green" : "blue");

export const ENVIRONMENTS = ["production", "staging", "development"] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/**
 * An immutable image reference: a release tag (v1.2.3, 1.2.3-rc.1, v1.2.3+build.7,
 * optionally suffixed with a commit), a full or short git commit SHA, or a
 * digest. Moving tags (latest, main, stable, ...) are refused: they make a
 * rollback point at whatever was pushed last.
 */
export const IMAGE_TAG_PATTERN =
    /^(v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?|[0-9a-f]{7,40}|sha256:[0-9a-f]{64})$/;

export const imageTag = s.string({
    pattern: IMAGE_TAG_PATTERN,
    expected: "an immutable image tag such as v1.2.3 (or a git SHA, or a digest sha256:<64 hex>); moving tags such as latest are refused",
});

const colorSpec = s.oneOf(COLORS);
const envVarName = s.string({ pattern: /^[A-Z][A-Z0-9_]*$/, expected: "an UPPER_SNAKE_CASE name" });
const flagName = s.string({
    pattern: /^[A-Z][A-Z0-9_]*$/,
    expected: "an UPPER_SNAKE_CASE flag name such as NEW_UI",
    check: (k) => (k.startsWith("FEATURE_") ? `write the flag without its FEATURE_ prefix (${k.slice(8)}); the prefix is added to the env var` : undefined),
});
const flagValue = s.either(s.bool(), s.either(s.string({ maxLength: 256 }), s.int()));

const colorShape = s.object({
    imageTag: s.optional(imageTag),
    replicas: s.optional(s.int({ min: 0, max: 100 })),
    featureFlags: s.optional(s.record(flagName, flagValue, "a map of FLAG_NAME: value"), {}),
});

const resourceShape = s.object({
    cpu: s.optional(s.cpuQuantity),
    memory: s.optional(s.memoryQuantity),
});

// Runbook "Rollback Procedures": a selector change or a pod termination drops no
// in-flight request. preStop sleeps while the endpoint is removed everywhere,
// then the app gets the rest of the grace period to finish its requests.
const drainShape = s.object({
    preStopSeconds: s.optional(s.int({ min: 0, max: 120 })),
    terminationGracePeriodSeconds: s.optional(s.int({ min: 1, max: 900 })),
    minReadySeconds: s.optional(s.int({ min: 0, max: 300 })),
});

/**
 * The secrets the platform itself delivers, by env var name. Every other
 * secret env a service gets comes from the stack's secret config
 * (`secrets.config` on AWS, `local.config` on platform local).
 */
export const PLATFORM_SECRET_ENV = ["DATABASE_URL", "REDIS_URL", "JWT_SECRET"] as const;
/** Env names the platform sets on every container; `services.<name>.env` may not set them. */
export const RESERVED_PLAIN_ENV = ["METRICS_PORT"] as const;
/** Where a service serves /metrics unless config says otherwise: never its serving port. */
export const DEFAULT_METRICS_PORT = 9090;

const serviceShape = s.object({
    activeColor: s.optional(colorSpec),
    allowLiveChange: s.optional(s.bool()),
    allowFewerReplicas: s.optional(s.bool()),
    drain: s.optional(drainShape),
    replicas: s.optional(s.int({ min: 0, max: 100 })),
    port: s.optional(s.int({ min: 1024, max: 65535 })),
    metricsPort: s.optional(s.int({ min: 1024, max: 65535 })),
    callers: s.optional(s.list(s.dnsLabel, { max: 50 })),
    platformSecrets: s.optional(s.list(s.oneOf(PLATFORM_SECRET_ENV), { max: PLATFORM_SECRET_ENV.length })),
    secrets: s.optional(s.list(envVarName, { max: 100 })),
    healthPath: s.optional(s.string({ pattern: /^\/[A-Za-z0-9/_.-]*$/, expected: "an absolute HTTP path such as /api/health" })),
    containerName: s.optional(s.dnsLabel),
    requests: s.optional(resourceShape),
    limits: s.optional(resourceShape),
    env: s.optional(s.record(envVarName, s.string({ maxLength: 4096 }), "a map of ENV_NAME: value"), {}),
    blue: s.optional(colorShape),
    green: s.optional(colorShape),
});

/** What one color of one service runs. */
export interface ColorSpec {
    readonly imageTag: string;
    readonly replicas: number;
    /** Environment variables from feature flags: `FEATURE_<FLAG>` = value. */
    readonly featureFlags: Readonly<Record<string, string>>;
}

export interface Resources {
    readonly cpu: string;
    readonly memory: string;
}

/** How a pod leaves: preStop sleep, grace period, and how long a new pod must be Ready before it counts. */
export interface DrainConfig {
    readonly preStopSeconds: number;
    readonly terminationGracePeriodSeconds: number;
    readonly minReadySeconds: number;
}

/** Defaults: 10 s for every load balancer and kube-proxy to drop the endpoint, then 30 s for the longest request. */
export const DEFAULT_DRAIN: DrainConfig = Object.freeze({ preStopSeconds: 10, terminationGracePeriodSeconds: 45, minReadySeconds: 10 });

export interface ServiceConfig {
    readonly name: string;
    readonly activeColor: Color;
    /** Emergency hotfix: allow an image, feature-flag or env change of the live color (a warning, not an error). */
    readonly allowLiveChange: boolean;
    /** Allow making a color live with fewer replicas than the color it replaces. */
    readonly allowFewerReplicas: boolean;
    readonly drain: DrainConfig;
    /** The serving port: the live and preview Services and the Ingress reach it. */
    readonly port: number;
    /**
     * Where the app serves /metrics (env METRICS_PORT): a second container
     * port that no live or preview Service and no Ingress exposes; only the
     * headless `<name>-metrics` Service and Prometheus reach it.
     */
    readonly metricsPort: number;
    /**
     * The other services of this stack whose pods may call this one on its
     * serving port (NetworkPolicy). Default: every other service.
     */
    readonly callers: readonly string[];
    /**
     * Every secret env var this service's pods get, and nothing else: its
     * platform secrets (`services.<name>.platformSecrets`, default its catalog
     * entry's: DATABASE_URL, REDIS_URL, JWT_SECRET) followed by the keys of the
     * stack's secret config it lists in `services.<name>.secrets`.
     */
    readonly secrets: readonly string[];
    readonly healthPath: string;
    readonly containerName: string;
    readonly requests: Resources;
    readonly limits: Resources;
    readonly env: Readonly<Record<string, string>>;
    readonly colors: Readonly<Record<Color, ColorSpec>>;
}

/**
 * What a service is, declared once: its container port, container name and
 * resources. A stack's `services.<name>` may only name a declared service, so a
 * misspelt name (`services.rtpm-ap...`) is an error with a did-you-mean, never a
 * new service with an ECR repository, DNS record and Deployments of its own.
 * Declared here: the runbook's four. Any other service is declared by the stack
 * that runs it, in `serviceCatalog.<name>` (its port is required: no default is
 * guessed for an app this program does not know).
 */
export interface CatalogEntry {
    readonly port: number;
    /**
     * Platform secrets the service gets by default. JWT_SECRET is an HMAC key:
     * whoever holds it can mint tokens, not only verify them, so only the
     * issuer (rtpm-api) and the gateway that authenticates requests at the
     * edge (the runbook greps its logs for 401/403) get it.
     */
    readonly secrets?: readonly string[];
    readonly containerName?: string;
    readonly requests: Resources;
    readonly limits: Resources;
}

export const SERVICE_CATALOG: Readonly<Record<string, CatalogEntry>> = {
    // Next.js; the runbook's `kubectl set image ... website=...` names the container.
    "candlefish-website": { port: 3000, containerName: "website", requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    // Python/FastAPI (uvicorn).
    "rtpm-api": { port: 8000, secrets: ["DATABASE_URL", "REDIS_URL", "JWT_SECRET"], requests: { cpu: "250m", memory: "512Mi" }, limits: { cpu: "1", memory: "1Gi" } },
    // Node/Express.
    "nanda-api": { port: 3000, requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
    // Node/Express.
    "otter-gateway": { port: 3000, secrets: ["JWT_SECRET"], requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } },
};

/** Both colors run this many pods unless config says otherwise ("two identical environments"). */
export const DEFAULT_REPLICAS = 2;

/** Resources of a service the stack declares (serviceCatalog) without its own. */
const DECLARED_DEFAULT_RESOURCES = { requests: { cpu: "100m", memory: "256Mi" }, limits: { cpu: "500m", memory: "512Mi" } } as const;

const catalogShape = s.object({
    port: s.int({ min: 1024, max: 65535 }),
    containerName: s.optional(s.dnsLabel),
    requests: s.optional(resourceShape),
    limits: s.optional(resourceShape),
});

/**
 * The services a stack may run: the code's SERVICE_CATALOG plus the stack's
 * own `serviceCatalog` declarations (which may not redeclare a code entry).
 */
export function readCatalog(src: ConfigSource): Readonly<Record<string, CatalogEntry>> {
    const declared = src.read(
        "serviceCatalog",
        s.optional(s.record(s.dnsLabel, catalogShape, "a map of service name to { port, containerName?, requests?, limits? }"), {}),
    );
    const out: Record<string, CatalogEntry> = { ...SERVICE_CATALOG };
    if (s.isInvalid(declared)) return out;
    for (const [name, d] of Object.entries(declared)) {
        if (SERVICE_CATALOG[name]) {
            src.problem(`serviceCatalog.${name}`, `${name} is declared by the program itself (config/services.ts SERVICE_CATALOG); set services.${name}.port or .requests/.limits to change it`);
            continue;
        }
        out[name] = {
            port: d.port,
            containerName: d.containerName,
            requests: { cpu: d.requests?.cpu ?? DECLARED_DEFAULT_RESOURCES.requests.cpu, memory: d.requests?.memory ?? DECLARED_DEFAULT_RESOURCES.requests.memory },
            limits: { cpu: d.limits?.cpu ?? DECLARED_DEFAULT_RESOURCES.limits.cpu, memory: d.limits?.memory ?? DECLARED_DEFAULT_RESOURCES.limits.memory },
        };
    }
    return out;
}

/** The promotion gate (components/promotion-gate.ts). */
export interface PromotionConfig {
    readonly settleSeconds: number;
    readonly timeoutSeconds: number;
    readonly pollSeconds: number;
    /** How long `npm run switch` watches the new color after the gated up (switch/); 0: not at all. */
    readonly bakeSeconds: number;
    /**
     * How long a color's rollout may take before `pulumi up` fails: the
     * Deployments' progressDeadlineSeconds and Pulumi's await timeout (the
     * provider's default is 10 minutes, and the next `up` awaits a failed
     * rollout again).
     */
    readonly rolloutTimeoutSeconds: number;
}

export const DEFAULT_PROMOTION: PromotionConfig = Object.freeze({ settleSeconds: 30, timeoutSeconds: 180, pollSeconds: 3, bakeSeconds: 300, rolloutTimeoutSeconds: 600 });
/** `promotion.bakeSeconds` (and `npm run switch -- --bake`) range. */
export const BAKE_SECONDS_MAX = 3600;

const promotionShape = s.object({
    settleSeconds: s.optional(s.int({ min: 0, max: 600 })),
    timeoutSeconds: s.optional(s.int({ min: 10, max: 1800 })),
    pollSeconds: s.optional(s.int({ min: 1, max: 30 })),
    bakeSeconds: s.optional(s.int({ min: 0, max: BAKE_SECONDS_MAX })),
    rolloutTimeoutSeconds: s.optional(s.int({ min: 30, max: 3600 })),
});

/** The `promotion` key: the gate's settings and the switch's bake window. */
export function readPromotion(src: ConfigSource): PromotionConfig {
    const p = src.read("promotion", s.optional(promotionShape, {} as s.Infer<typeof promotionShape>));
    const promotion = s.isInvalid(p)
        ? DEFAULT_PROMOTION
        : {
              settleSeconds: p.settleSeconds ?? DEFAULT_PROMOTION.settleSeconds,
              timeoutSeconds: p.timeoutSeconds ?? DEFAULT_PROMOTION.timeoutSeconds,
              pollSeconds: p.pollSeconds ?? DEFAULT_PROMOTION.pollSeconds,
              bakeSeconds: p.bakeSeconds ?? DEFAULT_PROMOTION.bakeSeconds,
              rolloutTimeoutSeconds: p.rolloutTimeoutSeconds ?? DEFAULT_PROMOTION.rolloutTimeoutSeconds,
          };
    if (promotion.timeoutSeconds <= promotion.settleSeconds) {
        src.problem("promotion.timeoutSeconds", `must be longer than promotion.settleSeconds (${promotion.settleSeconds}); got ${promotion.timeoutSeconds}`);
    }
    return Object.freeze(promotion);
}

export interface CoreConfig {
    readonly environment: Environment;
    readonly namespace: string;
    readonly activeColor: Color;
    readonly services: readonly ServiceConfig[];
    readonly promotion: PromotionConfig;
}

export function readCore(src: ConfigSource): CoreConfig {
    const stackEnv = (ENVIRONMENTS as readonly string[]).includes(src.stack) ? (src.stack as Environment) : undefined;
    const environment = src.read("environment", stackEnv ? s.optional(s.oneOf(ENVIRONMENTS), stackEnv) : s.oneOf(ENVIRONMENTS));
    // The runbook's namespaces are its environments (production, staging, development):
    // a personal stack `dev-<you>` with environment development deploys to `development`.
    const namespace = src.read("namespace", s.optional(s.dnsLabel, s.isInvalid(environment) ? src.stack : environment));
    const activeColor = src.read("activeColor", colorSpec);
    const services = src.read(
        "services",
        s.record(s.dnsLabel, serviceShape, "a map of service name to its blue/green settings"),
    );

    const catalog = readCatalog(src);

    const out: ServiceConfig[] = [];
    if (!s.isInvalid(services) && services !== undefined) {
        if (Object.keys(services).length === 0) src.problem("services", "expected at least one service");
        for (const [name, svc] of Object.entries(services)) {
            const cat = catalog[name];
            if (!cat) {
                // Nothing else is checked for it: an undeclared name's own settings would only mislead.
                const hint = s.suggest(name, Object.keys(catalog));
                src.problem(
                    `services.${name}`,
                    `unknown service${hint ? `; did you mean "${hint}"?` : ""} Services: ${Object.keys(catalog).sort().join(", ")}. ` +
                        `A new service is a deliberate declaration, not a side effect of a key: declare it in serviceCatalog.${name}.port (its container port) in the same change`,
                );
                continue;
            }
            const live: Color | undefined = svc.activeColor ?? (s.isInvalid(activeColor) ? undefined : activeColor);
            const colors = {} as Record<Color, ColorSpec>;
            for (const color of COLORS) {
                const c = svc[color];
                const key = `services.${name}.${color}`;
                // The default never depends on which color is live: a flip must not rescale anything.
                const replicas = c?.replicas ?? svc.replicas ?? DEFAULT_REPLICAS;
                const tag = c?.imageTag;
                const isLive = color === live;
                const via = svc.activeColor ? `services.${name}.activeColor` : "activeColor";
                if (tag === undefined) {
                    src.problem(
                        `${key}.imageTag`,
                        isLive
                            ? `${color} is the live color (${via}=${color}) but has no image; set ${key}.imageTag to an immutable tag such as v1.2.3`
                            : `required; every color is a declared Deployment. Set ${key}.imageTag to an immutable tag such as v1.2.3 (scale it to 0 with ${key}.replicas=0 while unused)`,
                    );
                }
                if (isLive && replicas === 0) {
                    // No "switch back" here: nothing at parse time says a switch happened
                    // (the offline plan --diff adds that hint when its base had another color live).
                    src.problem(
                        `${key}.replicas`,
                        `${color} is the live color (${via}=${color}) but has 0 replicas, so it cannot serve; set ${key}.replicas to at least 1 (2 or more in production)`,
                    );
                }
                colors[color] = {
                    imageTag: tag ?? "",
                    replicas,
                    featureFlags: Object.freeze(
                        Object.fromEntries(Object.entries(c?.featureFlags ?? {}).map(([k, v]) => [`FEATURE_${k}`, String(v)])),
                    ),
                };
            }
            const drain = {
                preStopSeconds: svc.drain?.preStopSeconds ?? DEFAULT_DRAIN.preStopSeconds,
                terminationGracePeriodSeconds: svc.drain?.terminationGracePeriodSeconds ?? DEFAULT_DRAIN.terminationGracePeriodSeconds,
                minReadySeconds: svc.drain?.minReadySeconds ?? DEFAULT_DRAIN.minReadySeconds,
            };
            if (drain.terminationGracePeriodSeconds <= drain.preStopSeconds) {
                src.problem(
                    `services.${name}.drain.terminationGracePeriodSeconds`,
                    `must be longer than drain.preStopSeconds (${drain.preStopSeconds}) plus the longest request; got ${drain.terminationGracePeriodSeconds}`,
                );
            }
            const port = svc.port ?? cat.port;
            const metricsPort = svc.metricsPort ?? DEFAULT_METRICS_PORT;
            if (metricsPort === port) {
                src.problem(
                    svc.metricsPort !== undefined ? `services.${name}.metricsPort` : `services.${name}.port`,
                    `the metrics port and the serving port are both ${port}; /metrics must not be on the port the live Service and the Ingress expose. Set services.${name}.metricsPort to another port (default ${DEFAULT_METRICS_PORT})`,
                );
            }
            for (const k of Object.keys(svc.env ?? {})) {
                if ((RESERVED_PLAIN_ENV as readonly string[]).includes(k))
                    src.problem(`services.${name}.env.${k}`, `${k} is set by the platform from services.${name}.metricsPort; set that instead`);
                if ((PLATFORM_SECRET_ENV as readonly string[]).includes(k))
                    src.problem(`services.${name}.env.${k}`, `${k} is a secret the platform delivers; list it in services.${name}.platformSecrets instead of setting it in plaintext`);
            }
            // Platform secrets: the catalog's unless config lists them (a full list: [] gives none).
            const platformSecrets: readonly string[] = svc.platformSecrets ?? cat.secrets ?? [];
            // Keys of the secret config: only those listed, in addition.
            const configSecrets = svc.secrets ?? [];
            configSecrets.forEach((k, i) => {
                if ((PLATFORM_SECRET_ENV as readonly string[]).includes(k))
                    src.problem(`services.${name}.secrets.${i}`, `${k} is a platform secret; list it in services.${name}.platformSecrets (the full list of DATABASE_URL, REDIS_URL, JWT_SECRET this service gets)`);
            });
            const secrets = [...platformSecrets, ...configSecrets.filter((k) => !(PLATFORM_SECRET_ENV as readonly string[]).includes(k))];
            for (const [key, list] of [["platformSecrets", platformSecrets], ["secrets", configSecrets]] as const) {
                const dupes = list.filter((x, i) => list.indexOf(x) !== i);
                if (dupes.length) src.problem(`services.${name}.${key}`, `lists ${dupes[0]} twice`);
            }
            out.push(
                Object.freeze({
                    name,
                    activeColor: live ?? "blue",
                    allowLiveChange: svc.allowLiveChange ?? false,
                    allowFewerReplicas: svc.allowFewerReplicas ?? false,
                    drain: Object.freeze(drain),
                    port,
                    metricsPort,
                    // Resolved below, once every service name is known.
                    callers: Object.freeze([...(svc.callers ?? [])]),
                    secrets: Object.freeze([...secrets]),
                    healthPath: svc.healthPath ?? "/api/health",
                    containerName: svc.containerName ?? cat.containerName ?? name,
                    requests: { cpu: svc.requests?.cpu ?? cat.requests.cpu, memory: svc.requests?.memory ?? cat.requests.memory },
                    limits: { cpu: svc.limits?.cpu ?? cat.limits.cpu, memory: svc.limits?.memory ?? cat.limits.memory },
                    env: svc.env,
                    colors: Object.freeze(colors),
                }),
            );
        }
    }

    // services.<name>.callers: names of other services of this stack; default every other one.
    const names = out.map((x) => x.name);
    const resolved = out.map((x) => {
        const given = services && !s.isInvalid(services) ? services[x.name]?.callers : undefined;
        if (given === undefined) return Object.freeze({ ...x, callers: Object.freeze(names.filter((n) => n !== x.name)) });
        for (const [i, c] of given.entries()) {
            if (c === x.name) src.problem(`services.${x.name}.callers.${i}`, `${c} is this service itself; its own pods never need a NetworkPolicy rule to reach it through a Service`);
            else if (!names.includes(c)) {
                const hint = s.suggest(c, names.filter((n) => n !== x.name));
                src.problem(`services.${x.name}.callers.${i}`, `${c} is not a service of this stack${hint ? `; did you mean "${hint}"?` : ` (services: ${names.join(", ")})`}`);
            }
        }
        return x;
    });

    const promotion = readPromotion(src);

    // An invalid value is already recorded and will stop the program in
    // `finish()`; until then other sections get a well-typed stand-in, so
    // every problem is reported in one run instead of a crash on the first.
    return {
        environment: s.isInvalid(environment) ? "development" : environment,
        namespace: s.isInvalid(namespace) ? "invalid-namespace" : namespace,
        activeColor: s.isInvalid(activeColor) ? "blue" : activeColor,
        services: Object.freeze(resolved),
        promotion,
    };
}
