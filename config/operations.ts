// Operations as config: the runbook's hand-run procedures become reviewed
// edits of the stack file.
//   migrations       runbook "Database Migrations" (`kubectl exec ... manage.py migrate`)
//   maintenanceMode  runbook "Enable Maintenance Mode" (`kubectl apply -f k8s/maintenance-mode.yaml`)
//   maintenance      the maintenance page that mode routes to (image, replicas, Retry-After)
//   readOnlyMode     runbook "Database Emergency" (`kubectl patch ... READ_ONLY_MODE=true`)
// Secret rotation, backups and restore live with the data stores (config/data.ts).
import * as s from "./schema";
import { ConfigSource } from "./source";
import { CoreConfig, IMAGE_TAG_PATTERN } from "./services";

/** One service whose image carries schema migrations. */
export interface MigrationSpec {
    /** A service from `services.*`; its Job runs each color's image. */
    readonly service: string;
    /** The container command, e.g. ["python", "manage.py", "migrate"]. */
    readonly command: readonly string[];
    /** Pod retries before the Job (and therefore `pulumi up`) fails. */
    readonly backoffLimit: number;
    /** Hard stop for one migration run, in seconds. */
    readonly activeDeadlineSeconds: number;
    /**
     * Run the migrations of a tag older than one already deployed (a rollback
     * by image tag). Off by default: an older image's `migrate` against a newer
     * schema can undo or break it.
     */
    readonly runOlderTags: boolean;
}

/** The page `maintenanceMode` routes the domain to. */
export interface MaintenancePage {
    /** Full image reference with an immutable tag or digest (nginx-unprivileged style, listens on 8080). */
    readonly image: string;
    readonly replicas: number;
    /** Sent as `Retry-After` with every 503, so clients and crawlers back off politely. */
    readonly retryAfterSeconds: number;
    /** The sentence the human page shows. */
    readonly message: string;
}

export interface OperationsConfig {
    /** Route the domain to the maintenance page (health endpoints keep answering). */
    readonly maintenanceMode: boolean;
    /** READ_ONLY_MODE=true on every service, both colors. */
    readonly readOnlyMode: boolean;
    /** The maintenance page; undefined when the stack configures no image (then maintenanceMode is refused). */
    readonly maintenance: MaintenancePage | undefined;
    /** Services whose images run migrations before their color rolls out. */
    readonly migrations: readonly MigrationSpec[];
}

/** Runbook "Database Migrations": the API that owns the schema. */
export const DEFAULT_MIGRATIONS = { "rtpm-api": { command: ["python", "manage.py", "migrate"] } } as const;

export const DEFAULT_MAINTENANCE_MESSAGE =
    "Candlefish is down for scheduled maintenance. We will be back shortly; see https://status.candlefish.ai for updates.";

/**
 * `[registry[:port]/]path[:tag|@sha256:digest]`. The tag must be immutable by
 * the same rule as the services' tags (a release such as 1.27.3-alpine, a SHA,
 * or a digest): a moving tag would change the page under a running incident.
 */
const IMAGE_REF = /^(?<repo>[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*)(:(?<tag>[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127})|@(?<digest>sha256:[0-9a-f]{64}))$/;

export const imageReference = s.string({
    expected: "an image reference with an immutable tag, such as nginxinc/nginx-unprivileged:1.27.3-alpine (or <repo>@sha256:<64 hex>)",
    check(v) {
        const m = IMAGE_REF.exec(v);
        if (!m) return `expected an image reference such as nginxinc/nginx-unprivileged:1.27.3-alpine, got ${JSON.stringify(v)}`;
        const tag = m.groups?.tag;
        if (tag !== undefined && !IMAGE_TAG_PATTERN.test(tag))
            return `tag ${JSON.stringify(tag)} is not immutable; pin a release such as 1.27.3-alpine or a digest (<repo>@sha256:<64 hex>)`;
        return undefined;
    },
});

const migrationShape = s.object({
    command: s.list(s.string({ minLength: 1, maxLength: 1024 }), { min: 1, max: 32 }),
    backoffLimit: s.optional(s.int({ min: 0, max: 10 })),
    activeDeadlineSeconds: s.optional(s.int({ min: 60, max: 21600 })),
    runOlderTags: s.optional(s.bool()),
});

const maintenanceShape = s.object({
    image: s.optional(imageReference),
    replicas: s.optional(s.int({ min: 1, max: 10 })),
    retryAfterSeconds: s.optional(s.int({ min: 0, max: 86400 })),
    message: s.optional(s.string({ minLength: 1, maxLength: 1000 })),
});

export function readOperations(src: ConfigSource, core: CoreConfig): OperationsConfig {
    const prod = core.environment === "production";
    const maintenanceMode = src.read("maintenanceMode", s.optional(s.bool(), false));
    const readOnlyMode = src.read("readOnlyMode", s.optional(s.bool(), false));
    const page = src.read("maintenance", s.optional(maintenanceShape, {} as s.Infer<typeof maintenanceShape>));
    const migrations = src.read(
        "migrations",
        s.optional(
            s.record(s.dnsLabel, migrationShape, "a map of service name to { command: [...] }"),
            DEFAULT_MIGRATIONS as unknown as Readonly<Record<string, s.Infer<typeof migrationShape>>>,
        ),
    );

    let maintenance: MaintenancePage | undefined;
    if (!s.isInvalid(page) && page.image !== undefined) {
        maintenance = Object.freeze({
            image: page.image,
            // Production keeps two pods so a node drain during the window never blanks the page.
            replicas: page.replicas ?? (prod ? 2 : 1),
            retryAfterSeconds: page.retryAfterSeconds ?? 1800,
            message: page.message ?? DEFAULT_MAINTENANCE_MESSAGE,
        });
    }
    if (maintenanceMode === true && !s.isInvalid(page) && maintenance === undefined) {
        src.problem(
            "maintenanceMode",
            "maintenance mode routes the domain to the maintenance page, but this stack has none; set maintenance.image to an immutable image such as nginxinc/nginx-unprivileged:1.27.3-alpine first",
        );
    }

    const known = new Set(core.services.map((x) => x.name));
    // The default names rtpm-api; a stack without that service simply has no
    // migrations. An explicit `migrations` entry must name a real service.
    const explicit = migrations !== (DEFAULT_MIGRATIONS as unknown);
    const specs: MigrationSpec[] = [];
    if (!s.isInvalid(migrations)) {
        for (const [service, m] of Object.entries(migrations)) {
            if (!explicit && !known.has(service)) continue;
            if (known.size > 0 && !known.has(service)) {
                const hint = s.suggest(service, known);
                src.problem(
                    `migrations.${service}`,
                    `no such service${hint ? `; did you mean "${hint}"?` : `; expected one of: ${[...known].sort().join(", ")}`}`,
                );
                continue;
            }
            specs.push(
                Object.freeze({
                    service,
                    command: Object.freeze([...m.command]),
                    backoffLimit: m.backoffLimit ?? 1,
                    activeDeadlineSeconds: m.activeDeadlineSeconds ?? 900,
                    runOlderTags: m.runOlderTags ?? false,
                }),
            );
        }
    }

    return {
        maintenanceMode: maintenanceMode === true,
        readOnlyMode: readOnlyMode === true,
        maintenance,
        migrations: Object.freeze(specs),
    };
}
