// Application secrets: the runbook's Secrets Manager secrets
// (`candlefish/<stack>/config`, `candlefish/<stack>/jwt-secret`), and their
// delivery to pods through External Secrets Operator.
//
// Runbook "Secret Management / Rotate Secrets" was `openssl rand`, `aws
// secretsmanager update-secret` and two `kubectl rollout restart`s. Here the
// JWT secret is a RandomPassword whose keeper is `secrets.jwtSecretVersion`:
// bumping it writes a new secret version, the ExternalSecrets re-sync, and the
// pod-template checksum (`rotationChecksum`) rolls every Deployment through
// its normal zero-downtime rolling update.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import type { SecretsConfig } from "../config/data";
import { irsaRole } from "./irsa";
import { VERIFY_FULL_PARAMS } from "./rds-ca";
import type { DatabaseCredentials } from "./database-roles";

// ---------------------------------------------------------------------------
// Secrets Manager

export interface AppSecretsArgs {
    /** The stack name: every secret is named candlefish/<stack>/<name>. */
    readonly stack: string;
    /** Rotation version, extra config values, recovery window: `secrets.*`. */
    readonly settings: SecretsConfig;
    /** Tags for every AWS resource. */
    readonly tags?: Record<string, string>;
}

/** `candlefish/<stack>/`: the prefix every app secret shares, and the IRSA scope. */
export const secretPrefix = (stack: string) => `candlefish/${stack}/`;

export class AppSecrets extends pulumi.ComponentResource {
    /** Encrypts every app secret, and the RDS-managed master secret. */
    public readonly kmsKey: aws.kms.Key;
    /** candlefish/<stack>/config: the operator-supplied values of `secrets.config`. */
    public readonly configSecret: aws.secretsmanager.Secret;
    public readonly configVersion: aws.secretsmanager.SecretVersion;
    /** candlefish/<stack>/jwt-secret: `{"jwt-secret": ...}` as the runbook writes it. */
    public readonly jwtSecret: aws.secretsmanager.Secret;
    public readonly jwtVersion: aws.secretsmanager.SecretVersion;
    public readonly prefix: string;
    public readonly configSecretName: string;
    public readonly jwtSecretName: string;
    /** Keys of candlefish/<stack>/config (not their values). */
    public readonly configKeys: readonly string[];

    constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:AppSecrets", name, {}, opts);
        const cfg = args.settings;
        const tags = { ...args.tags, component: "secrets" };
        const keep: pulumi.CustomResourceOptions = { parent: this, protect: true };
        this.prefix = secretPrefix(args.stack);
        this.configSecretName = `${this.prefix}config`;
        this.jwtSecretName = `${this.prefix}jwt-secret`;
        this.configKeys = Object.keys(cfg.config).sort();

        // KMS.4: yearly rotation of the key material.
        this.kmsKey = new aws.kms.Key(
            `${name}-kms`,
            { description: `Secrets Manager secrets under ${this.prefix}`, enableKeyRotation: true, deletionWindowInDays: 30, tags },
            keep,
        );
        new aws.kms.Alias(`${name}-kms-alias`, { name: `alias/candlefish-${args.stack}-secrets`, targetKeyId: this.kmsKey.keyId }, { parent: this });

        const secret = (suffix: string, fullName: string, description: string) =>
            new aws.secretsmanager.Secret(
                `${name}-${suffix}`,
                { name: fullName, description, kmsKeyId: this.kmsKey.arn, recoveryWindowInDays: cfg.recoveryWindowDays, tags },
                keep,
            );

        this.configSecret = secret("config", this.configSecretName, "candlefish application config (from Pulumi secret config)");
        // The values come from `secure:` stack config only (config/data.ts refuses plaintext).
        this.configVersion = new aws.secretsmanager.SecretVersion(
            `${name}-config`,
            { secretId: this.configSecret.id, secretString: pulumi.secret(JSON.stringify(sortedObject(cfg.config))) },
            { parent: this },
        );

        // Bumping secrets.jwtSecretVersion replaces the password: a new value, a new secret version.
        const jwt = new random.RandomPassword(
            `${name}-jwt`,
            { length: 64, special: false, keepers: { version: String(cfg.jwtSecretVersion) } },
            { parent: this },
        );
        this.jwtSecret = secret("jwt-secret", this.jwtSecretName, "JWT signing secret (rotate with secrets.jwtSecretVersion)");
        // Runbook "Secret Rollback" (`list-secret-version-ids`, then restore a previous
        // version), as config: secrets.jwtSecretRestoreVersionId names an earlier version
        // of this secret, whose value is read back and written as the current one.
        // Secrets Manager keeps a superseded version (unlabelled once two newer exist)
        // until the secret has more than 100 versions (per its documentation; unverified here).
        const restoreId = cfg.jwtSecretRestoreVersionId;
        const jwtString = restoreId
            ? pulumi.secret(
                  aws.secretsmanager
                      .getSecretVersionOutput({ secretId: this.jwtSecretName, versionId: restoreId }, { parent: this })
                      .secretString.apply((v) => restoredJwtSecret(v, this.jwtSecretName, restoreId)),
              )
            : pulumi.jsonStringify({ "jwt-secret": jwt.result });
        this.jwtVersion = new aws.secretsmanager.SecretVersion(
            `${name}-jwt-secret`,
            { secretId: this.jwtSecret.id, secretString: jwtString },
            { parent: this },
        );

        this.registerOutputs({ kmsKeyArn: this.kmsKey.arn, configSecretArn: this.configSecret.arn, jwtSecretArn: this.jwtSecret.arn });
    }
}

/** The restored version's value, checked: `{"jwt-secret": "<non-empty>"}` or the deploy stops, naming the version. */
export function restoredJwtSecret(secretString: string, secretName: string, versionId: string): string {
    let value: unknown;
    try {
        value = (JSON.parse(secretString) as Record<string, unknown>)["jwt-secret"];
    } catch {
        value = undefined;
    }
    if (typeof value !== "string" || value.length === 0)
        throw new Error(`secrets.jwtSecretRestoreVersionId: version ${versionId} of ${secretName} holds no "jwt-secret" value; pick another with aws secretsmanager list-secret-version-ids --include-deprecated`);
    return JSON.stringify({ "jwt-secret": value });
}

function sortedObject(o: Readonly<Record<string, string>>): Record<string, string> {
    return Object.fromEntries(Object.keys(o).sort().map((k) => [k, o[k]]));
}

// ---------------------------------------------------------------------------
// Delivery to pods

/** Kubernetes Secrets the platform produces in the app namespace. */
export const K8S_SECRETS = {
    config: "candlefish-config",
    jwt: "candlefish-jwt",
    database: "rtpm-api-database",
    redis: "candlefish-redis",
} as const;

export type SecretKind = "database" | "redis" | "jwt";

/**
 * Database Secrets no app service receives (AWS only): the exporter's own login
 * (pg_monitor), and the RDS master credentials, which only the role Job reads
 * (components/database-roles.ts).
 */
export const DB_SECRETS = {
    monitor: "postgres-exporter-database",
    admin: "candlefish-db-admin",
} as const;

/** Env var and Secret key each platform secret is delivered as. */
export const ENV_OF: Readonly<Record<SecretKind, { env: string; secret: string }>> = {
    database: { env: "DATABASE_URL", secret: K8S_SECRETS.database },
    redis: { env: "REDIS_URL", secret: K8S_SECRETS.redis },
    jwt: { env: "JWT_SECRET", secret: K8S_SECRETS.jwt },
};

export const ESO_NAMESPACE = "external-secrets";
/** The ESO controller's own service account: it gets no AWS role. */
export const ESO_SERVICE_ACCOUNT = "external-secrets";
/**
 * The one identity that may read candlefish/<stack>/*: a service account the
 * ClusterSecretStore authenticates as (IRSA). A namespaced SecretStore can
 * only reference service accounts in its own namespace, so no app namespace
 * can borrow it; and since the controller itself has no role, a store with no
 * `auth` gets no access to these secrets either.
 */
export const SECRETS_READER_SERVICE_ACCOUNT = "candlefish-secrets-reader";
export const CLUSTER_SECRET_STORE = "aws-secrets-manager";
/** ESO CRDs this program writes; the pinned chart serves this version. */
export const ESO_API_VERSION = "external-secrets.io/v1beta1";

export interface SecretDeliveryArgs {
    /** The stack name (IAM names, and the candlefish/<stack>/* scope). */
    readonly stack: string;
    /** AWS region of the secrets. */
    readonly region: string;
    /** The app namespace the Kubernetes Secrets are written to. */
    readonly namespace: pulumi.Input<string>;
    /** Chart version, refresh interval: `secrets.*`. */
    readonly settings: SecretsConfig;
    /** The cluster's IAM OIDC provider ARN (IRSA trust). */
    readonly oidcProviderArn: pulumi.Input<string>;
    /** The OIDC issuer without https:// (IRSA trust conditions). */
    readonly oidcProviderUrl: pulumi.Input<string>;
    /** The app secrets (names, KMS key, versions). */
    readonly secrets: AppSecrets;
    /** The database's connection settings, its RDS-managed master secret, and the program's own logins. */
    readonly database: {
        readonly address: pulumi.Input<string>;
        readonly port: number;
        readonly dbName: string;
        /** Read by the role Job only (DB_SECRETS.admin). */
        readonly masterUserSecretArn: pulumi.Input<string>;
        /** The app's and the exporter's logins (candlefish/<stack>/database-*). */
        readonly credentials: DatabaseCredentials;
    };
    /** The cache's endpoint and the secret holding its AUTH token. */
    readonly redis: {
        readonly host: pulumi.Input<string>;
        readonly port: number;
        readonly authSecretName: string;
        readonly authVersionId: pulumi.Input<string>;
    };
    /** Tags for AWS resources. */
    readonly tags?: Record<string, string>;
}

export interface SecretEnvRef {
    readonly secretName: pulumi.Input<string>;
    readonly key: pulumi.Input<string>;
}

export class SecretDelivery extends pulumi.ComponentResource {
    public readonly role: aws.iam.Role;
    public readonly release: k8s.helm.v3.Release;
    public readonly store: k8s.apiextensions.CustomResource;
    public readonly externalSecrets: Readonly<Record<keyof typeof K8S_SECRETS, k8s.apiextensions.CustomResource>>;
    /**
     * A hash of every secret version and connection setting delivered to
     * pods. It changes exactly when a delivered value changes (rotation,
     * restore) and never on app-level edits; as the pod annotation
     * `checksum/secrets` it rolls the Deployments to the new values.
     */
    public readonly rotationChecksum: pulumi.Output<string>;
    /** The exporter's and the role Job's Secrets (DB_SECRETS), as outputs of their ExternalSecrets. */
    public readonly databaseSecretNames: Readonly<Record<keyof typeof DB_SECRETS, pulumi.Output<string>>>;
    /** Changes exactly when the exporter's login rotates (its pods roll on it). */
    public readonly monitorChecksum: pulumi.Output<string>;
    private readonly configKeys: readonly string[];
    private readonly secretNames: Readonly<Record<keyof typeof K8S_SECRETS, pulumi.Output<string>>>;

    constructor(name: string, args: SecretDeliveryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:SecretDelivery", name, {}, opts);
        const cfg = args.settings;
        const sec = args.secrets;
        const tags = { ...args.tags, component: "secret-delivery" };
        this.configKeys = sec.configKeys;

        const checksum = pulumi
            .all([
                sec.configVersion.versionId,
                sec.jwtVersion.versionId,
                args.redis.authVersionId,
                // The app's own login (rotated by database.credentialsVersion), not the RDS master
                // secret: RDS rotates that one outside any update, and no pod uses it any more.
                args.database.credentials.versionIds.app,
                args.database.address,
                args.redis.host,
            ])
            .apply((parts) => crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex"));
        this.rotationChecksum = checksum;
        this.monitorChecksum = pulumi
            .all([args.database.credentials.versionIds.monitor, args.database.address])
            .apply((parts) => crypto.createHash("sha256").update(JSON.stringify(parts)).digest("hex"));

        // IRSA: only the reader service account may assume the role ...
        const account = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        // ... and it reads candlefish/<stack>/* plus the database's own master
        // secret, and decrypts with the secrets key through Secrets Manager only.
        this.role = irsaRole(
            `${name}-irsa`,
            {
                roleName: `candlefish-${args.stack}-external-secrets`,
                description: `External Secrets Operator: read ${sec.prefix}* for the ${args.stack} cluster`,
                oidcProviderArn: args.oidcProviderArn,
                oidcProviderUrl: args.oidcProviderUrl,
                namespace: ESO_NAMESPACE,
                serviceAccount: SECRETS_READER_SERVICE_ACCOUNT,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "ReadAppSecrets",
                            Effect: "Allow",
                            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret", "secretsmanager:ListSecretVersionIds"],
                            Resource: [pulumi.interpolate`arn:aws:secretsmanager:${args.region}:${account}:secret:${sec.prefix}*`, args.database.masterUserSecretArn],
                        },
                        {
                            Sid: "DecryptAppSecrets",
                            Effect: "Allow",
                            Action: ["kms:Decrypt"],
                            Resource: [sec.kmsKey.arn],
                            Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${args.region}.amazonaws.com` } },
                        },
                    ],
                }),
                tags,
            },
            this,
        );

        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            {
                metadata: {
                    name: ESO_NAMESPACE,
                    labels: {
                        "app.kubernetes.io/part-of": "candlefish-maturity-map",
                        "pod-security.kubernetes.io/enforce": "restricted",
                        "pod-security.kubernetes.io/enforce-version": "latest",
                    },
                },
            },
            { parent: this },
        );

        // Pinned chart; its CRDs come with it, and every ESO object waits for it.
        this.release = new k8s.helm.v3.Release(
            `${name}-eso`,
            {
                name: "external-secrets",
                chart: "external-secrets",
                version: cfg.externalSecretsChartVersion,
                repositoryOpts: { repo: "https://charts.external-secrets.io" },
                namespace: ns.metadata.name,
                atomic: true,
                cleanupOnFail: true,
                values: {
                    installCRDs: true,
                    // The controller's own account has no AWS role (see SECRETS_READER_SERVICE_ACCOUNT).
                    serviceAccount: { create: true, name: ESO_SERVICE_ACCOUNT },
                    // Features not used here stay off: fan-out of secrets to other namespaces,
                    // and writing from the cluster back to Secrets Manager.
                    processClusterExternalSecret: false,
                    processPushSecret: false,
                    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { memory: "256Mi" } },
                },
            },
            { parent: this },
        );

        const reader = new k8s.core.v1.ServiceAccount(
            `${name}-reader`,
            {
                metadata: {
                    name: SECRETS_READER_SERVICE_ACCOUNT,
                    namespace: ns.metadata.name,
                    annotations: { "eks.amazonaws.com/role-arn": this.role.arn },
                },
                // It only lends its identity to the store; no pod runs as it.
                automountServiceAccountToken: false,
            },
            { parent: this },
        );

        // One store, usable from the app namespace only, authenticating as the reader.
        this.store = new k8s.apiextensions.CustomResource(
            `${name}-store`,
            {
                apiVersion: ESO_API_VERSION,
                kind: "ClusterSecretStore",
                metadata: { name: CLUSTER_SECRET_STORE },
                spec: {
                    provider: {
                        aws: {
                            service: "SecretsManager",
                            region: args.region,
                            auth: { jwt: { serviceAccountRef: { name: reader.metadata.name, namespace: ESO_NAMESPACE } } },
                        },
                    },
                    conditions: [{ namespaces: [args.namespace] }],
                },
            },
            { parent: this, dependsOn: [this.release] },
        );

        const es = (
            secretName: string,
            spec: Record<string, unknown>,
            template?: Record<string, pulumi.Input<string>>,
            refreshInterval: string = cfg.refreshInterval,
        ) =>
            new k8s.apiextensions.CustomResource(
                `${name}-${secretName}`,
                {
                    apiVersion: ESO_API_VERSION,
                    kind: "ExternalSecret",
                    metadata: {
                        name: secretName,
                        namespace: args.namespace,
                        labels: { "app.kubernetes.io/part-of": "candlefish-maturity-map" },
                        // Any change of this annotation makes ESO re-sync at once (ESO "force-sync"),
                        // so a rotated value is in the Secret before the Deployments roll.
                        annotations: { "force-sync": checksum },
                    },
                    spec: {
                        refreshInterval,
                        secretStoreRef: { kind: "ClusterSecretStore", name: CLUSTER_SECRET_STORE },
                        target: {
                            name: secretName,
                            creationPolicy: "Owner",
                            deletionPolicy: "Retain",
                            ...(template ? { template: { engineVersion: "v2", type: "Opaque", data: template } } : {}),
                        },
                        ...spec,
                    },
                },
                { parent: this, dependsOn: [this.store], deleteBeforeReplace: true },
            );

        // A login of the program's own ({username, password} of candlefish/<stack>/database-<purpose>)
        // as DATABASE_URL. TLS is required by the parameter group; verify-full checks the server's
        // certificate against the RDS roots mounted at sslrootcert (components/rds-ca.ts) and its
        // name against the instance endpoint the URL dials.
        const login = (secretName: string) => ({
            data: [
                { secretKey: "username", remoteRef: { key: secretName, property: "username" } },
                { secretKey: "password", remoteRef: { key: secretName, property: "password" } },
            ],
        });
        const databaseUrl = {
            DATABASE_URL: pulumi.interpolate`postgresql://{{ .username | urlquery }}:{{ .password | urlquery }}@${args.database.address}:${args.database.port}/${args.database.dbName}?${VERIFY_FULL_PARAMS}`,
        };
        const creds = args.database.credentials;
        const externalSecrets = {
            config: es(K8S_SECRETS.config, { dataFrom: [{ extract: { key: sec.configSecretName } }] }),
            jwt: es(K8S_SECRETS.jwt, { data: [{ secretKey: "JWT_SECRET", remoteRef: { key: sec.jwtSecretName, property: "jwt-secret" } }] }),
            // rtpm-api and its migrations: the app login (candlefish_app_a|b), never the master user.
            database: es(K8S_SECRETS.database, login(creds.secretNames.app), databaseUrl),
            // rediss:// = TLS (transit encryption is required on the cluster).
            redis: es(
                K8S_SECRETS.redis,
                { data: [{ secretKey: "token", remoteRef: { key: args.redis.authSecretName, property: "auth-token" } }] },
                { REDIS_URL: pulumi.interpolate`rediss://:{{ .token | urlquery }}@${args.redis.host}:${args.redis.port}/0` },
            ),
        };
        this.externalSecrets = externalSecrets;
        const monitor = es(DB_SECRETS.monitor, login(creds.secretNames.monitor), databaseUrl);
        // The RDS-managed master secret (`username`, `password`), rotated by RDS every 7 days: for the
        // role Job only, which reads it when it runs; re-read often, so a retry after a rotation succeeds.
        const admin = es(
            DB_SECRETS.admin,
            {
                data: [
                    { secretKey: "username", remoteRef: { key: args.database.masterUserSecretArn, property: "username" } },
                    { secretKey: "password", remoteRef: { key: args.database.masterUserSecretArn, property: "password" } },
                ],
            },
            undefined,
            "5m",
        );
        const nameOf = (r: k8s.apiextensions.CustomResource) => (r.metadata as pulumi.Output<{ name?: string }>).apply((m) => m?.name ?? "");
        this.secretNames = {
            config: nameOf(externalSecrets.config),
            jwt: nameOf(externalSecrets.jwt),
            database: nameOf(externalSecrets.database),
            redis: nameOf(externalSecrets.redis),
        };
        this.databaseSecretNames = { monitor: nameOf(monitor), admin: nameOf(admin) };
        this.registerOutputs({ rotationChecksum: this.rotationChecksum, roleArn: this.role.arn });
    }

    /**
     * The `secretEnv` for one service: exactly the secrets it lists
     * (`services.<name>.secrets`). The Secret names are the ExternalSecrets'
     * outputs, so a Deployment waits for them.
     */
    secretEnvFor(secrets: readonly string[]): Record<string, SecretEnvRef> {
        return secretEnvOf(secrets, this.configKeys, this.secretNames);
    }
}

/**
 * One service's env from the platform's Kubernetes Secrets, however they were
 * delivered: each name it lists (`services.<name>.secrets`), a platform
 * secret from its own Secret, any other name from the config Secret. A pod
 * gets only the keys its env references: the apps run without a service
 * account token, so they cannot read a Secret's other keys. `names` are the
 * Secrets' names (pass resource outputs, so a Deployment waits for them).
 */
export function secretEnvOf(
    secrets: readonly string[],
    configKeys: readonly string[],
    names: Readonly<Record<keyof typeof K8S_SECRETS, pulumi.Input<string>>>,
): Record<string, SecretEnvRef> {
    const out: Record<string, SecretEnvRef> = {};
    for (const env of secrets) {
        const kind = (Object.keys(ENV_OF) as SecretKind[]).find((k) => ENV_OF[k].env === env);
        if (kind) out[env] = { secretName: names[kind], key: env };
        else if (configKeys.includes(env)) out[env] = { secretName: names.config, key: env };
        // config/index.ts refuses any other name before anything is registered.
        else throw new Error(`internal: ${env} is neither a platform secret nor a config key`);
    }
    return out;
}
