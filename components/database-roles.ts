// Database credentials that do not change under the pods (issue 12 item 7,
// issue 14 item 5; the decision and its reasons: docs/DATABASE.md).
//
// RDS rotates the managed master password every 7 days, outside any `pulumi
// up`, while pods read DATABASE_URL once at start. So nothing long-running
// uses the master user any more:
//
//   - rtpm-api and its migrations log in as an app role, the postgres exporter
//     as a monitoring role (a member of pg_monitor). Their passwords are this
//     program's own (random.RandomPassword), kept in Secrets Manager
//     (candlefish/<stack>/database-app, -monitor) and delivered by External
//     Secrets Operator like every other app secret. They change only when the
//     operator bumps `database.credentialsVersion`, in a `pulumi up` that rolls
//     the pods (the secrets' versions are in the rotation checksum).
//   - Each purpose has two login roles, <role>_a and <role>_b. A version uses
//     one of them (a for odd versions, b for even) and a bump changes only the
//     password of the one it switches to: pods still running with the other
//     keep working while they roll. Both are members of a NOLOGIN group role
//     (candlefish_app, candlefish_monitor) that holds the privileges; the app
//     login roles act as candlefish_app (`ALTER ROLE ... SET role`), so the
//     tables the migrations create belong to it, whichever login created them.
//   - A Job (`db-roles-<hash>`) creates and updates those roles with the master
//     credentials, which it reads from the RDS-managed secret when it runs. It
//     runs again when the version, the SQL or the database instance changes;
//     the apps' Deployments and migration Jobs wait for it. The app namespace
//     denies all egress (components/namespace.ts); the Job's own NetworkPolicy,
//     `allow-db-roles`, lets its pods reach the database port and nothing else,
//     and exists before the Job starts.
//
// The Job sends PostgreSQL SCRAM-SHA-256 verifiers, not passwords: a
// pre-hashed password is stored as given (PostgreSQL docs, CREATE ROLE
// "ENCRYPTED"), so the statement that log_statement=ddl writes to the
// exported logs holds no password.
import * as crypto from "crypto";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import * as random from "@pulumi/random";
import { restrictedContainerSecurity, restrictedPodSecurity } from "./pod-security";
import { Destination, networkPolicy, tcp } from "./network-policies";
import { PodFiles, RDS_CA } from "./rds-ca";

/** The NOLOGIN group role per purpose: it holds the privileges (and, for the app, owns the schema's objects). */
export const DB_ROLES = { app: "candlefish_app", monitor: "candlefish_monitor" } as const;
export type DbPurpose = keyof typeof DB_ROLES;
export const DB_PURPOSES = Object.keys(DB_ROLES) as DbPurpose[];
export const SLOTS = ["a", "b"] as const;
export type Slot = (typeof SLOTS)[number];

/** The login role a purpose uses in one slot: candlefish_app_a, ... */
export const loginRole = (purpose: DbPurpose, slot: Slot): string => `${DB_ROLES[purpose]}_${slot}`;

/** The slot version `v` logs in with: a for odd versions, b for even ones. */
export const currentSlot = (version: number): Slot => (version % 2 === 1 ? "a" : "b");

/**
 * The generation of a slot's password at version `v`: it changes exactly when
 * `v` makes that slot current again (a: 1, 3, 5, ...; b: 2, 4, ...), so a
 * bump never changes the password of the slot the running pods use.
 */
export const slotGeneration = (slot: Slot, version: number): number => (slot === "a" ? Math.floor((version + 1) / 2) : Math.floor(version / 2));

/** The client image that runs the role Job (psql 17: \getenv needs psql 15 or newer; it talks to servers back to 9.2). */
export const PSQL_IMAGE = "postgres:17.6-alpine";
/** The postgres user of the alpine image; any non-root uid runs psql. */
const PSQL_UID = 70;
/** PostgreSQL's default SCRAM iteration count (scram-common.h SCRAM_DEFAULT_ITERATIONS). */
export const SCRAM_ITERATIONS = 4096;

/** Secrets Manager names, under the stack's prefix (so the External Secrets role can read them). */
export const credentialsSecretName = (prefix: string, purpose: DbPurpose) => `${prefix}database-${purpose}`;

/**
 * PostgreSQL's stored form of a SCRAM-SHA-256 password,
 * `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>` (postgres
 * src/common/scram-common.c, scram_build_verifier; RFC 5802/7677). A server
 * given this string as a password stores it as is.
 */
export function scramSha256Verifier(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): string {
    const { storedKey, serverKey } = scramKeys(password, salt, iterations);
    return `SCRAM-SHA-256$${iterations}:${salt.toString("base64")}$${storedKey.toString("base64")}:${serverKey.toString("base64")}`;
}

/** SaltedPassword -> StoredKey = H(HMAC(SaltedPassword, "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). */
export function scramKeys(password: string, salt: Buffer, iterations = SCRAM_ITERATIONS): { storedKey: Buffer; serverKey: Buffer } {
    const salted = crypto.pbkdf2Sync(Buffer.from(password, "utf8"), salt, iterations, 32, "sha256");
    const hmac = (key: Buffer, text: string) => crypto.createHmac("sha256", key).update(text).digest();
    return { storedKey: crypto.createHash("sha256").update(hmac(salted, "Client Key")).digest(), serverKey: hmac(salted, "Server Key") };
}

/**
 * The salt of a password's verifier, derived from the password (16 bytes, as
 * PostgreSQL's). Deterministic, so the same password always gives the same
 * verifier and an update that rotates nothing changes nothing; the passwords
 * are 48 random characters, so a salt shared between two equal passwords
 * protects nothing a random salt would.
 */
export const verifierSalt = (password: string, role: string): Buffer =>
    crypto.createHmac("sha256", "candlefish-scram-salt").update(`${role}\0${password}`).digest().subarray(0, 16);

/** The environment variable the role Job reads a login role's verifier from. */
export const verifierEnv = (role: string): string => `${role.toUpperCase()}_VERIFIER`;

const ident = (s: string) => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(s)) throw new Error(`internal: ${JSON.stringify(s)} is not a plain identifier`);
    return s;
};

/**
 * The psql script the role Job runs as the master user. Idempotent: every run
 * creates what is missing and sets every password and grant again.
 */
export function rolesSql(dbName: string): string {
    const db = ident(dbName);
    const lines: string[] = [
        "-- candlefish database roles (components/database-roles.ts); run by psql as the RDS master user.",
        "\\set ON_ERROR_STOP on",
    ];
    const create = (role: string, login: boolean) =>
        `SELECT 'CREATE ROLE ${ident(role)} ${login ? "LOGIN" : "NOLOGIN"}' WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') \\gexec`;
    for (const purpose of DB_PURPOSES) {
        const group = DB_ROLES[purpose];
        lines.push("", `-- ${purpose}: the group role ${group} holds the privileges; ${SLOTS.map((s) => loginRole(purpose, s)).join(" and ")} log in.`);
        lines.push(create(group, false));
        for (const slot of SLOTS) {
            const role = loginRole(purpose, slot);
            const v = `${role}_verifier`;
            lines.push(create(role, true));
            // The verifier comes from the environment (a Kubernetes Secret), never from this file.
            lines.push(`\\getenv ${v} ${verifierEnv(role)}`);
            lines.push(`ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT PASSWORD :'${v}';`);
            lines.push(`GRANT ${group} TO ${role};`);
        }
    }
    const app = DB_ROLES.app;
    lines.push(
        "",
        "-- The app: connect, create its objects in public (PostgreSQL 15+ no longer lets PUBLIC create there).",
        `GRANT CONNECT, TEMPORARY ON DATABASE ${db} TO ${app};`,
        `GRANT USAGE, CREATE ON SCHEMA public TO ${app};`,
        "-- Both app logins act as the group, so what a migration creates belongs to it, not to one login.",
        ...SLOTS.map((s) => `ALTER ROLE ${loginRole("app", s)} IN DATABASE ${db} SET role = '${app}';`),
        "",
        "-- The exporter: read-only statistics (pg_monitor), nothing else.",
        `GRANT pg_monitor TO ${DB_ROLES.monitor};`,
        `GRANT CONNECT ON DATABASE ${db} TO ${DB_ROLES.monitor};`,
        "",
    );
    return lines.join("\n");
}

// ---------------------------------------------------------------------------
// The credentials (AWS side)

export interface DatabaseCredentialsArgs {
    /** `candlefish/<stack>/`: the secrets' prefix (External Secrets reads it). */
    readonly prefix: string;
    /** The app secrets' KMS key. */
    readonly kmsKeyArn: pulumi.Input<string>;
    /** `database.credentialsVersion`: bump to rotate both purposes' passwords. */
    readonly version: number;
    readonly recoveryWindowDays: number;
    readonly tags?: Record<string, string>;
}

export class DatabaseCredentials extends pulumi.ComponentResource {
    /** Per purpose: the Secrets Manager secret name holding {username, password} of the current login role. */
    public readonly secretNames: Readonly<Record<DbPurpose, string>>;
    /** Per purpose: the secret's current version (changes exactly on a rotation). */
    public readonly versionIds: Readonly<Record<DbPurpose, pulumi.Output<string>>>;
    /** Per login role: its SCRAM verifier (secret). */
    public readonly verifiers: pulumi.Output<Record<string, string>>;
    /** Per purpose: the login role in use. */
    public readonly currentRoles: Readonly<Record<DbPurpose, string>>;

    constructor(name: string, args: DatabaseCredentialsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:DatabaseCredentials", name, {}, opts);
        const tags = { ...args.tags, component: "database-credentials" };
        const current = currentSlot(args.version);
        const names = {} as Record<DbPurpose, string>;
        const versions = {} as Record<DbPurpose, pulumi.Output<string>>;
        const roles = {} as Record<DbPurpose, string>;
        const verifiers: pulumi.Output<[string, string]>[] = [];

        for (const purpose of DB_PURPOSES) {
            const passwords = {} as Record<Slot, random.RandomPassword>;
            for (const slot of SLOTS) {
                const role = loginRole(purpose, slot);
                // The keeper changes only when a bump makes this slot current again.
                passwords[slot] = new random.RandomPassword(
                    `${name}-${purpose}-${slot}`,
                    { length: 48, special: false, keepers: { generation: String(slotGeneration(slot, args.version)) } },
                    { parent: this },
                );
                verifiers.push(pulumi.secret(passwords[slot].result.apply((p) => [role, scramSha256Verifier(p, verifierSalt(p, role))] as [string, string])));
            }
            names[purpose] = credentialsSecretName(args.prefix, purpose);
            roles[purpose] = loginRole(purpose, current);
            const secret = new aws.secretsmanager.Secret(
                `${name}-${purpose}`,
                {
                    name: names[purpose],
                    description: `PostgreSQL login of the ${purpose === "app" ? "apps and their migrations" : "postgres exporter"} (rotate with database.credentialsVersion)`,
                    kmsKeyId: args.kmsKeyArn,
                    recoveryWindowInDays: args.recoveryWindowDays,
                    tags,
                },
                { parent: this, protect: true },
            );
            const version = new aws.secretsmanager.SecretVersion(
                `${name}-${purpose}`,
                { secretId: secret.id, secretString: pulumi.jsonStringify({ username: roles[purpose], password: passwords[current].result }) },
                { parent: this },
            );
            versions[purpose] = version.versionId;
        }

        this.secretNames = Object.freeze(names);
        this.versionIds = Object.freeze(versions);
        this.currentRoles = Object.freeze(roles);
        this.verifiers = pulumi.secret(pulumi.all(verifiers).apply((pairs) => Object.fromEntries(pairs)));
        this.registerOutputs({ secretNames: this.secretNames, currentRoles: this.currentRoles });
    }
}

// ---------------------------------------------------------------------------
// The role Job (in the cluster)

export interface DatabaseRolesArgs {
    /** Where the Job runs: the app namespace (the master credentials' Secret is delivered there). */
    readonly namespace: pulumi.Input<string>;
    readonly database: {
        readonly address: pulumi.Input<string>;
        readonly port: number;
        readonly dbName: string;
        /** The instance identifier: a restored instance (new identifier) gets the roles set again. */
        readonly identifier: string;
    };
    /** The database as a NetworkPolicy destination: the only place the Job's pods may connect to (besides DNS). */
    readonly destination: Destination;
    /** The Kubernetes Secret with the master user's `username` and `password` (delivered from the RDS-managed secret). */
    readonly adminSecretName: pulumi.Input<string>;
    readonly credentials: DatabaseCredentials;
    /** `database.credentialsVersion`, so a bump re-runs the Job. */
    readonly version: number;
    /** The RDS root CAs (components/rds-ca.ts): psql verifies the server (PGSSLMODE verify-full) against them. */
    readonly rdsCa: PodFiles;
}

export const ROLES_CONFIGMAP = "candlefish-db-roles";
/** The role Job's pods' labels (its NetworkPolicy selects them). */
export const ROLES_JOB_LABELS = { "app.kubernetes.io/name": "db-roles", "app.kubernetes.io/part-of": "candlefish-maturity-map" } as const;
/** The NetworkPolicy that opens the Job's one flow: egress to the database port. */
export const ROLES_NETWORK_POLICY = "allow-db-roles";
export const VERIFIERS_SECRET = "candlefish-db-role-verifiers";

/** `db-roles-<8 hex>`: one Job per (script, version, instance); a new one runs when any changes. */
export function rolesJobName(sql: string, version: number, identifier: string): string {
    return `db-roles-${crypto.createHash("sha256").update(JSON.stringify([sql, version, identifier])).digest("hex").slice(0, 8)}`;
}

export class DatabaseRoles extends pulumi.ComponentResource {
    public readonly job: k8s.batch.v1.Job;
    public readonly jobName: string;

    constructor(name: string, args: DatabaseRolesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:data:DatabaseRoles", name, {}, opts);
        const sql = rolesSql(args.database.dbName);
        const labels = { ...ROLES_JOB_LABELS };
        // Out to the database port only; nothing connects to the Job's pods.
        const policy = networkPolicy(
            `${name}-network`,
            {
                name: ROLES_NETWORK_POLICY,
                namespace: args.namespace,
                podSelector: { "app.kubernetes.io/name": ROLES_JOB_LABELS["app.kubernetes.io/name"] },
                ingress: [],
                egress: [{ to: [...args.destination.to], ports: tcp(args.destination.port) }],
            },
            { parent: this },
        );
        const script = new k8s.core.v1.ConfigMap(
            `${name}-sql`,
            { metadata: { name: ROLES_CONFIGMAP, namespace: args.namespace, labels }, data: { "roles.sql": sql } },
            { parent: this },
        );
        const verifiers = new k8s.core.v1.Secret(
            `${name}-verifiers`,
            {
                metadata: { name: VERIFIERS_SECRET, namespace: args.namespace, labels },
                type: "Opaque",
                stringData: args.credentials.verifiers.apply((v) => Object.fromEntries(Object.entries(v).map(([role, x]) => [verifierEnv(role), x]))),
            },
            { parent: this },
        );
        const roles = DB_PURPOSES.flatMap((p) => SLOTS.map((s) => loginRole(p, s)));
        this.jobName = rolesJobName(sql, args.version, args.database.identifier);
        this.job = new k8s.batch.v1.Job(
            `${name}-job`,
            {
                metadata: { name: this.jobName, namespace: args.namespace, labels },
                spec: {
                    // A rotation of the master password between its delivery and this run fails
                    // the login; External Secrets re-reads it, and a retry gets the new one.
                    backoffLimit: 6,
                    activeDeadlineSeconds: 900,
                    template: {
                        metadata: { labels },
                        spec: {
                            restartPolicy: "Never",
                            automountServiceAccountToken: false,
                            enableServiceLinks: false,
                            securityContext: restrictedPodSecurity(PSQL_UID),
                            containers: [
                                {
                                    name: "psql",
                                    image: PSQL_IMAGE,
                                    command: ["psql", "--no-psqlrc", "--file=/sql/roles.sql"],
                                    env: [
                                        { name: "PGHOST", value: args.database.address },
                                        { name: "PGPORT", value: String(args.database.port) },
                                        { name: "PGDATABASE", value: args.database.dbName },
                                        // TLS as the parameter group demands (rds.force_ssl), and the server proven to be
                                        // the instance: its certificate chains to an RDS root and names PGHOST.
                                        { name: "PGSSLMODE", value: "verify-full" },
                                        { name: "PGSSLROOTCERT", value: RDS_CA.file },
                                        { name: "PGCONNECT_TIMEOUT", value: "10" },
                                        { name: "PGAPPNAME", value: "candlefish-db-roles" },
                                        { name: "HOME", value: "/tmp" },
                                        { name: "PGUSER", valueFrom: { secretKeyRef: { name: args.adminSecretName, key: "username" } } },
                                        { name: "PGPASSWORD", valueFrom: { secretKeyRef: { name: args.adminSecretName, key: "password" } } },
                                        ...roles.map((r) => ({ name: verifierEnv(r), valueFrom: { secretKeyRef: { name: verifiers.metadata.name, key: verifierEnv(r) } } })),
                                    ],
                                    resources: { requests: { cpu: "50m", memory: "32Mi" }, limits: { cpu: "200m", memory: "64Mi" } },
                                    securityContext: restrictedContainerSecurity(),
                                    volumeMounts: [
                                        { name: "sql", mountPath: "/sql", readOnly: true },
                                        { name: "tmp", mountPath: "/tmp" },
                                        ...args.rdsCa.mounts,
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "sql", configMap: { name: script.metadata.name } },
                                { name: "tmp", emptyDir: { sizeLimit: "16Mi" } },
                                ...args.rdsCa.volumes,
                            ],
                        },
                    },
                },
            },
            {
                parent: this,
                // Without its NetworkPolicy the namespace's default deny would refuse its connection.
                dependsOn: [policy],
                // Idempotent: a replacement (new name, or a changed pod template) may simply run again.
                deleteBeforeReplace: true,
                // The first run waits for a new instance to accept connections; bounded by the deadline.
                customTimeouts: { create: "20m", update: "20m" },
            },
        );
        this.registerOutputs({ jobName: this.jobName });
    }
}
