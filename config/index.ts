// The whole stack config, parsed and validated once into a typed, readonly
// object. Components receive plain typed args from it and never read
// `pulumi.Config` themselves. Each section lives in its own module and reads
// its own top-level keys; `finish()` then rejects every key nobody read.
import { ConfigSource } from "./source";
import { CoreConfig, readCore } from "./services";
import { AwsConfig, readAws } from "./aws";
import { DataConfig, readData } from "./data";
import { PlatformConfig, readPlatform } from "./platform";
import { OperationsConfig, readOperations } from "./operations";
import { LocalConfig, readLocal, readPlatformChoice, refuseLocalSettings } from "./foundation";
import { BootstrapConfig, readBootstrap } from "./bootstrap";
import { ReviewConfig, readReview } from "./review";

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
export interface AwsStackConfig extends AppTierStackConfig, AwsConfig, DataConfig, PlatformConfig {
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
        src.finish();
        return Object.freeze({ platform, ...base, ...operations, local });
    }
    refuseLocalSettings(src);
    const aws = readAws(src, core);
    const data = readData(src, core, aws.region);
    const platformCfg = readPlatform(src, core, aws.region);
    const operations = readOperations(src, core);
    const bootstrap = readBootstrap(src);
    src.finish();
    return Object.freeze({
        platform,
        bootstrap,
        ...base,
        ...aws,
        ...data,
        ...platformCfg,
        ...operations,
    });
}

/** Reads and validates the running stack's config; throws ConfigError listing every problem. */
export function loadConfig(): StackConfig {
    return parseConfig(ConfigSource.fromRuntime());
}
