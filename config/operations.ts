// Operations as config: migrations, maintenance and read-only modes, secret
// rotation, backups and restore.
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface OperationsConfig {}

export function readOperations(_src: ConfigSource, _core: CoreConfig): OperationsConfig {
    return {};
}
