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

export type { Color, ColorSpec, Environment, ServiceConfig } from "./services";
export { COLORS, otherColor } from "./services";
export { ConfigError } from "./schema";
export { ConfigSource, PROJECT } from "./source";

export interface StackConfig extends CoreConfig, AwsConfig, DataConfig, PlatformConfig, OperationsConfig {
    readonly stack: string;
    readonly isProduction: boolean;
}

export function parseConfig(src: ConfigSource): StackConfig {
    const core = readCore(src);
    const aws = readAws(src, core);
    const data = readData(src, core);
    const platform = readPlatform(src, core);
    const operations = readOperations(src, core);
    src.finish();
    return Object.freeze({
        stack: src.stack,
        isProduction: core.environment === "production",
        ...core,
        ...aws,
        ...data,
        ...platform,
        ...operations,
    });
}

/** Reads and validates the running stack's config; throws ConfigError listing every problem. */
export function loadConfig(): StackConfig {
    return parseConfig(ConfigSource.fromRuntime());
}
