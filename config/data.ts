// Data-store config: database (RDS PostgreSQL), cache (ElastiCache Redis),
// secrets (Secrets Manager) and backups (S3 bucket, AWS Backup plan, restore).
import { ConfigSource } from "./source";
import { CoreConfig } from "./services";

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DataConfig {}

export function readData(_src: ConfigSource, _core: CoreConfig): DataConfig {
    return {};
}
