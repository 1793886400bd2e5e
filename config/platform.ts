// In-cluster platform config: domain, TLS, ingress, monitoring and alerting.
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface PlatformConfig {}

export function readPlatform(_src: ConfigSource, _core: CoreConfig): PlatformConfig {
    return {};
}
