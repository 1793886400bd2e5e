// AWS platform config: network, cluster, database, cache, registry, secrets,
// backups. (Filled in by the AWS platform work; see issue "AWS platform".)
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface AwsConfig {}

export function readAws(_src: ConfigSource, _core: CoreConfig): AwsConfig {
    return {};
}
