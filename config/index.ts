// The whole stack config, parsed and validated once into a typed, readonly
// object. Components receive plain typed args from it and never read
// `pulumi.Config` themselves. Each section lives in its own module and reads
// its own top-level keys; `finish()` then rejects every key nobody read.
import { ConfigSource } from "./source";
import { CoreConfig, PLATFORM_SECRET_ENV, ServiceConfig, readCore } from "./services";
import { suggest } from "./schema";
import { AwsConfig, readAws } from "./aws";
import { DataConfig, readData } from "./data";
import { PlatformConfig, readPlatform } from "./platform";
import { OperationsConfig, readOperations } from "./operations";
import { LocalConfig, readLocal, readPlatformChoice, refuseLocalSettings } from "./foundation";
import { BootstrapConfig, readBootstrap } from "./bootstrap";
import { ImageScanConfig, ReviewConfig, readImageScan, readReview } from "./review";

export type { Color, ColorSpec, Environment, ServiceConfig } from "./services";
export type { LocalConfig, Platform } from "./foundation";
export { COLORS, otherColor } from "./services";
export { ConfigError } from "./schema";
export { ConfigSource, PROJECT } from "./source";

/** What every stack configures, whatever it runs on: the app tier. */
interface AppTierStackConfig extends CoreConfig, OperationsConfig, ReviewConfig {
    readonly stack: string;
    readonly isProduction: boolean;
}

/** A stack on the AWS foundation (`platform: aws`, the default). */
export interface AwsStackConfig extends AppTierStackConfig, AwsConfig, DataConfig, PlatformConfig, ImageScanConfig {
    readonly platform: "aws";
    /** The first-deploy phase (config/bootstrap.ts): ECR repositories before the images in them. */
    readonly bootstrap: BootstrapConfig;
}

/** A stack on an existing cluster with no AWS (`platform: local`). */
export interface LocalStackConfig extends AppTierStackConfig {
    readonly platform: "local";
    readonly local: LocalConfig;
}

/** Narrow on `platform`: only an AWS stack has network, cluster, data-store and in-cluster platform settings. */
export type StackConfig = AwsStackConfig | LocalStackConfig;

export function parseConfig(src: ConfigSource): StackConfig {
    const core = readCore(src);
    const platform = readPlatformChoice(src);
    const base = { stack: src.stack, isProduction: core.environment === "production", ...core, ...readReview(src) };
    if (platform === undefined) {
        readOperations(src, core);
        src.finish(); // throws: the platform is invalid
        throw new Error("internal: an invalid platform passed validation");
    }
    if (platform === "local") {
        const local = readLocal(src, core);
        const operations = readOperations(src, core);
        if (operations.maintenanceMode)
            src.problem("maintenanceMode", 'routes the domain through the Ingress, which platform "local" does not install; the maintenance page itself still runs when maintenance.image is set');
        checkSecretAccess(src, core.services, Object.keys(local.config), "local.config");
        src.finish();
        return Object.freeze({ platform, ...base, ...operations, local });
    }
    refuseLocalSettings(src);
    const aws = readAws(src, core);
    const data = readData(src, core, aws.region);
    const platformCfg = readPlatform(src, core, aws.region);
    const operations = readOperations(src, core);
    const bootstrap = readBootstrap(src);
    const imageScan = readImageScan(src, core.services);
    checkSecretAccess(src, core.services, Object.keys(data.secrets.config), "secrets.config");
    src.finish();
    return Object.freeze({
        platform,
        bootstrap,
        ...base,
        ...aws,
        ...data,
        ...platformCfg,
        ...operations,
        ...imageScan,
    });
}

/**
 * Per-service secrets: every key a service lists in `services.<name>.secrets`
 * is a key of the stack's secret config (`configKey`). (A key of that config
 * that no service lists is stored and delivered to nobody: a warning, see
 * undeliveredSecrets, since storing a value first and handing it to a service
 * in a later change is a legitimate order.)
 */
function checkSecretAccess(src: ConfigSource, services: readonly ServiceConfig[], configKeys: readonly string[], configKey: string): void {
    for (const svc of services) {
        svc.secrets.forEach((name, i) => {
            if ((PLATFORM_SECRET_ENV as readonly string[]).includes(name) || configKeys.includes(name)) return;
            const hint = suggest(name, configKeys);
            const at = i - svc.secrets.filter((k) => (PLATFORM_SECRET_ENV as readonly string[]).includes(k)).length;
            src.problem(
                `services.${svc.name}.secrets.${at}`,
                `${name} is not a key of ${configKey}` + (hint ? `; did you mean "${hint}"?` : `; set it with \`pulumi config set --secret --path ${configKey}.${name} <value>\``),
            );
        });
    }
}

/** Keys of the stack's secret config that no service lists in `services.<name>.secrets`, as warnings naming the key. */
export function undeliveredSecrets(config: StackConfig): string[] {
    const [keys, prefix] = config.platform === "local" ? [Object.keys(config.local.config), "local.config"] : [Object.keys(config.secrets.config), "secrets.config"];
    return keys
        .filter((k) => !config.services.some((svc) => svc.secrets.includes(k)))
        .map((k) => `${prefix}.${k}: reaches no service: secrets are delivered per service. List ${k} in services.<name>.secrets of each service that needs it`);
}

/** Reads and validates the running stack's config; throws ConfigError listing every problem. */
export function loadConfig(): StackConfig {
    return parseConfig(ConfigSource.fromRuntime());
}
