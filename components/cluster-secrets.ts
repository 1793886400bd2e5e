// App secrets written straight into the app namespace as plain Kubernetes
// Secrets, for a foundation with no secret store (platform "local": kind,
// k3d, minikube, the testbed). The apps cannot tell the difference: the
// Secrets have the names and keys that External Secrets Operator produces on
// AWS (K8S_SECRETS: DATABASE_URL in rtpm-api-database, REDIS_URL in
// candlefish-redis, JWT_SECRET in candlefish-jwt, the config keys in
// candlefish-config), and each service gets the env it lists (secretEnvOf).
//
// The values come from the stack's secret config (`local.*`, encrypted by
// Pulumi's secrets provider); they stay secret in Pulumi's state and reach
// the cluster only inside these Secrets.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import type { LocalDatabaseConfig, LocalRedisConfig } from "../config/foundation";
import { ENV_OF, K8S_SECRETS, SecretEnvRef, secretEnvOf } from "./secrets";

export interface ClusterSecretsArgs {
    /** The app namespace the Secrets are written to. */
    readonly namespace: pulumi.Input<string>;
    /** The PostgreSQL rtpm-api and its migrations connect to. */
    readonly database: LocalDatabaseConfig;
    /** The Redis rtpm-api connects to. */
    readonly redis: LocalRedisConfig;
    /** JWT_SECRET. */
    readonly jwtSecret: string;
    /** The candlefish-config Secret: ENV_NAME -> value; each service gets the keys it lists. */
    readonly config: Readonly<Record<string, string>>;
}

/** rtpm-api's DATABASE_URL, credentials URL-encoded as ESO's `urlquery` does on AWS. */
export function databaseUrl(db: LocalDatabaseConfig): string {
    const q = encodeURIComponent;
    return `postgresql://${q(db.user)}:${q(db.password)}@${db.host}:${db.port}/${db.name}?sslmode=${db.sslMode}`;
}

/** REDIS_URL: rediss:// with TLS, and the AUTH password when there is one. */
export function redisUrl(r: LocalRedisConfig): string {
    const auth = r.password === undefined ? "" : `:${encodeURIComponent(r.password)}@`;
    return `${r.tls ? "rediss" : "redis"}://${auth}${r.host}:${r.port}/0`;
}

export class ClusterSecrets extends pulumi.ComponentResource {
    public readonly secrets: Readonly<Record<keyof typeof K8S_SECRETS, k8s.core.v1.Secret>>;
    /**
     * A SHA-256 over every delivered value: it changes exactly when one does
     * (a new password, a rotated JWT secret), and as the pod annotation
     * `checksum/secrets` rolls the Deployments onto it, as on AWS.
     */
    public readonly rotationChecksum: string;
    private readonly configKeys: readonly string[];

    constructor(name: string, args: ClusterSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:ClusterSecrets", name, {}, opts);
        const data: Record<keyof typeof K8S_SECRETS, Record<string, string>> = {
            config: Object.fromEntries(Object.keys(args.config).sort().map((k) => [k, args.config[k]])),
            jwt: { [ENV_OF.jwt.env]: args.jwtSecret },
            database: { [ENV_OF.database.env]: databaseUrl(args.database) },
            redis: { [ENV_OF.redis.env]: redisUrl(args.redis) },
        };
        this.configKeys = Object.keys(data.config);
        this.rotationChecksum = crypto.createHash("sha256").update(JSON.stringify(data)).digest("hex");

        const secrets = {} as Record<keyof typeof K8S_SECRETS, k8s.core.v1.Secret>;
        for (const kind of Object.keys(K8S_SECRETS) as (keyof typeof K8S_SECRETS)[]) {
            secrets[kind] = new k8s.core.v1.Secret(
                `${name}-${K8S_SECRETS[kind]}`,
                {
                    metadata: {
                        name: K8S_SECRETS[kind],
                        namespace: args.namespace,
                        labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" },
                    },
                    type: "Opaque",
                    // An empty secret map is left out: the Kubernetes provider saw an empty
                    // `stringData` as a change on every `up` and replaced the Secret each
                    // time (seen on the testbed: `+- Secret app-secrets-candlefish-config`).
                    stringData: Object.keys(data[kind]).length ? pulumi.secret(data[kind]) : undefined,
                },
                // Fixed names: a replacement deletes the old Secret first.
                { parent: this, deleteBeforeReplace: true },
            );
        }
        this.secrets = secrets;
        this.registerOutputs({ rotationChecksum: this.rotationChecksum });
    }

    /** One service's secret env (`services.<name>.secrets`): the same variables, Secret names and keys as on AWS. */
    secretEnvFor(secrets: readonly string[]): Record<string, SecretEnvRef> {
        const name = (kind: keyof typeof K8S_SECRETS) => this.secrets[kind].metadata.name;
        return secretEnvOf(secrets, this.configKeys, { config: name("config"), jwt: name("jwt"), database: name("database"), redis: name("redis") });
    }
}
