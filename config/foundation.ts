// Which foundation the app tier runs on (`platform`), and the local
// foundation's settings (`local`). platforms/ builds the foundation chosen here.
//   aws    (default) VPC, EKS, ECR, RDS, ElastiCache, Secrets Manager, backups and
//          the in-cluster platform around the apps; their keys are in aws.ts,
//          data.ts and platform.ts.
//   local  an existing cluster from KUBECONFIG (kind, k3d, minikube, the
//          testbed) and no AWS at all: images from `local.registry`, the data
//          stores' connection settings and the app secrets from `local.*`, the
//          secret values through Pulumi's secrets provider.
import * as s from "./schema";
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";
import { RESERVED_SECRET_ENV } from "./data";

export const PLATFORMS = ["aws", "local"] as const;
export type Platform = (typeof PLATFORMS)[number];

/**
 * Top-level keys only the AWS foundation reads: what each configures, and
 * the local key to use instead. A local stack that sets one is refused with
 * the key named: it would otherwise be silently ignored.
 */
export const AWS_ONLY_KEYS: Readonly<Record<string, { readonly what: string; readonly instead?: string }>> = {
    network: { what: "the VPC" },
    cluster: { what: "the EKS cluster", instead: "local.kubeContext (the cluster is the one in KUBECONFIG)" },
    registry: { what: "ECR", instead: "local.registry" },
    database: { what: "RDS", instead: "local.database" },
    cache: { what: "ElastiCache", instead: "local.redis" },
    secrets: { what: "Secrets Manager", instead: "local.jwtSecret and local.config" },
    backups: { what: "the backups bucket and AWS Backup" },
    domain: { what: "the Ingress hosts and their certificate" },
    tls: { what: "cert-manager" },
    ingress: { what: "ingress-nginx" },
    dns: { what: "Route53" },
    monitoring: { what: "kube-prometheus-stack" },
    alerts: { what: "AlertManager" },
    bootstrap: { what: "the first-deploy phase order (ECR repositories before the images in them)" },
    imageScan: { what: "accepted ECR image-scan findings (the local platform's registry has no scans)" },
};

/** Where images come from when the stack does not say: a registry on the developer's machine. */
export const DEFAULT_LOCAL_REGISTRY = "registry.local:5000/candlefish";
export const SSL_MODES = ["disable", "prefer", "require", "verify-ca", "verify-full"] as const;
export type SslMode = (typeof SSL_MODES)[number];

/** The PostgreSQL the apps connect to (rtpm-api's DATABASE_URL, the migrations). */
export interface LocalDatabaseConfig {
    readonly host: string;
    readonly port: number;
    /** The database name (the runbook's `candlefish`). */
    readonly name: string;
    readonly user: string;
    /** Secret config. */
    readonly password: string;
    /** libpq sslmode in DATABASE_URL. */
    readonly sslMode: SslMode;
}

/** The Redis the apps connect to (REDIS_URL). */
export interface LocalRedisConfig {
    readonly host: string;
    readonly port: number;
    /** Secret config; undefined: no AUTH. */
    readonly password: string | undefined;
    /** rediss:// (TLS) instead of redis://. */
    readonly tls: boolean;
}

export interface LocalConfig {
    /** The kubeconfig context to deploy to; undefined: the kubeconfig's current context. */
    readonly kubeContext: string | undefined;
    /** Registry and path prefix: each service runs `<registry>/<service>:<tag>`. */
    readonly registry: string;
    readonly database: LocalDatabaseConfig;
    readonly redis: LocalRedisConfig;
    /** JWT_SECRET (secret config); changing it rolls the services that receive it. */
    readonly jwtSecret: string;
    /** The candlefish-config Secret's values (secret config), as `secrets.config` on AWS. */
    readonly config: Readonly<Record<string, string>>;
}

const host = s.string({
    pattern: /^[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?$/,
    maxLength: 253,
    expected: "a host name or IPv4 address such as postgres.candlefish-local.svc.cluster.local",
});
const port = s.int({ min: 1, max: 65535 });
const secretValue = s.string({ minLength: 1, maxLength: 4096 });
const sqlName = (what: string) =>
    s.string({ pattern: /^[a-z][a-z0-9_]{0,62}$/, expected: `a PostgreSQL ${what} (lower-case letter first, then letters, digits, _)` });

/** `host[:port]/path` of an image repository, without a tag: a service's images are `<registry>/<service>:<tag>`. */
const registry = s.string({
    pattern: /^[a-z0-9]+([._-][a-z0-9]+)*(:\d{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    maxLength: 200,
    expected: `an image registry and path without a tag, such as ${DEFAULT_LOCAL_REGISTRY}`,
});

const localShape = s.object({
    kubeContext: s.optional(s.string({ minLength: 1, maxLength: 253, expected: "a kubeconfig context name such as kind-candlefish" })),
    registry: s.optional(registry),
    database: s.optional(
        s.object({
            host: s.optional(host),
            port: s.optional(port),
            name: s.optional(sqlName("database name")),
            user: s.optional(sqlName("user name")),
            password: s.optional(secretValue),
            sslMode: s.optional(s.oneOf(SSL_MODES)),
        }),
    ),
    redis: s.optional(
        s.object({
            host: s.optional(host),
            port: s.optional(port),
            password: s.optional(secretValue),
            tls: s.optional(s.bool()),
        }),
    ),
    jwtSecret: s.optional(secretValue),
    config: s.optional(s.record(s.string({ pattern: /^[A-Z][A-Z0-9_]*$/, expected: "an UPPER_SNAKE_CASE env var name" }), secretValue, "a map of ENV_NAME: secret value")),
});

/**
 * The `platform` key: which foundation this stack runs on. Undefined when
 * the value is invalid (the issue is recorded): the keys of both platforms
 * then count as known, so the one mistake is reported once.
 */
export function readPlatformChoice(src: ConfigSource): Platform | undefined {
    const v = src.read("platform", s.optional(s.oneOf(PLATFORMS), "aws"));
    if (!s.isInvalid(v)) return v;
    for (const key of ["local", ...Object.keys(AWS_ONLY_KEYS)]) src.isSet(key);
    return undefined;
}

/** On an AWS stack, `local` would be silently ignored: refuse it, naming the key. */
export function refuseLocalSettings(src: ConfigSource): void {
    if (src.isSet("local"))
        src.problem("local", 'configures platform "local", but this stack runs on platform "aws"; set platform to local, or remove it (pulumi config rm local)');
}

/** The local foundation's settings; every AWS-only key set on the stack is an issue naming it. */
export function readLocal(src: ConfigSource, core: CoreConfig): LocalConfig {
    for (const [key, { what, instead }] of Object.entries(AWS_ONLY_KEYS)) {
        if (src.isSet(key))
            src.problem(
                key,
                `configures ${what}, which only platform "aws" has; this stack runs on platform "local". ` +
                    `Remove it (pulumi config rm ${key})${instead ? ` and set ${instead} instead` : ""}`,
            );
    }
    if (core.environment === "production")
        src.problem("environment", 'production runs on the AWS foundation (platform "aws"); a local stack is development or staging');

    const v = src.read("local", s.optional(localShape, {} as s.Infer<typeof localShape>));
    const l: Partial<s.Infer<typeof localShape>> = s.isInvalid(v) ? {} : v;
    const db: Partial<NonNullable<typeof l.database>> = l.database ?? {};
    const redis: Partial<NonNullable<typeof l.redis>> = l.redis ?? {};
    const extra: Readonly<Record<string, string>> = l.config ?? {};

    if (!s.isInvalid(v)) {
        const how = (key: string) => `pulumi config set --secret --path ${key} <value>`;
        if (db.password === undefined) src.problem("local.database.password", `required: the database password rtpm-api connects with; set it with \`${how("local.database.password")}\``);
        if (l.jwtSecret === undefined) src.problem("local.jwtSecret", `required: the JWT signing secret (JWT_SECRET); set it with \`${how("local.jwtSecret")}\``);
        // Values in the stack file must be `secure:`, as on AWS.
        const plain = [
            ["local.database.password", db.password],
            ["local.redis.password", redis.password],
            ["local.jwtSecret", l.jwtSecret],
            ...Object.keys(extra).map((k) => [`local.config.${k}`, extra[k]]),
        ].find(([, x]) => x !== undefined);
        if (plain && !src.isSecret("local")) src.problem(plain[0] as string, `must be stored as a secret; re-set it with \`${how(plain[0] as string)}\``);
        for (const k of Object.keys(extra)) {
            if ((RESERVED_SECRET_ENV as readonly string[]).includes(k)) src.problem(`local.config.${k}`, `${k} is delivered by the platform itself; choose another name`);
        }
    }

    return Object.freeze({
        kubeContext: l.kubeContext,
        registry: l.registry ?? DEFAULT_LOCAL_REGISTRY,
        database: Object.freeze({
            host: db.host ?? "postgres",
            port: db.port ?? 5432,
            name: db.name ?? "candlefish",
            user: db.user ?? "candlefish",
            password: db.password ?? "",
            sslMode: db.sslMode ?? "prefer",
        }),
        redis: Object.freeze({ host: redis.host ?? "redis", port: redis.port ?? 6379, password: redis.password, tls: redis.tls ?? false }),
        jwtSecret: l.jwtSecret ?? "",
        config: Object.freeze({ ...extra }),
    });
}
