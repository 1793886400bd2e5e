// Registry: the ECR repositories the runbook pushes to
// (`docker push $ECR_REGISTRY/candlefish-website:$IMAGE_TAG`), one per service.
//
// Repository names are per account, so exactly one stack owns them (config
// `registry.owner`): it creates and protects them. Every other stack in the
// account looks them up by name and deploys from the same images.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

export interface RegistryArgs {
    /** Repository names, one per service (`candlefish-website`, `rtpm-api`, ...). */
    readonly repositories: readonly string[];
    /** Create and own the repositories (true) or look up the owner's (false). */
    readonly owner: boolean;
    /** Untagged images expire after this many days. */
    readonly untaggedExpiryDays: number;
    /** Tagged images kept per repository (rollback targets must be among them). */
    readonly keepTaggedImages: number;
    /** Tags for every resource. */
    readonly tags: Record<string, string>;
}

/** The lifecycle policy document (FSBP ECR.3), exported for tests and docs/PLATFORM.md. */
export function lifecyclePolicy(untaggedExpiryDays: number, keepTaggedImages: number): string {
    return JSON.stringify({
        rules: [
            {
                rulePriority: 1,
                description: `Expire untagged images after ${untaggedExpiryDays} days`,
                selection: { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: untaggedExpiryDays },
                action: { type: "expire" },
            },
            {
                rulePriority: 2,
                description: `Keep the last ${keepTaggedImages} tagged images (rollback targets)`,
                selection: { tagStatus: "tagged", tagPatternList: ["*"], countType: "imageCountMoreThan", countNumber: keepTaggedImages },
                action: { type: "expire" },
            },
        ],
    });
}

export class Registry extends pulumi.ComponentResource {
    /** Per service: `<account>.dkr.ecr.<region>.amazonaws.com/<service>`. */
    public readonly repositoryUrls: Readonly<Record<string, pulumi.Output<string>>>;
    /** The repositories this stack owns (empty in a non-owner stack). */
    public readonly repositories: readonly aws.ecr.Repository[];

    constructor(name: string, args: RegistryArgs, opts?: pulumi.ComponentResourceOptions) {
        super("candlefish:registry:Registry", name, {}, opts);
        const urls: Record<string, pulumi.Output<string>> = {};
        const repos: aws.ecr.Repository[] = [];

        if (args.owner) {
            // Images at rest encrypted with a customer-managed key, rotated yearly (FSBP KMS.4).
            // Protected: the repositories cannot be read without it.
            const key = new aws.kms.Key(
                `${name}-ecr`,
                { description: "Encryption of the candlefish ECR repositories", enableKeyRotation: true, deletionWindowInDays: 30, tags: args.tags },
                { parent: this, protect: true },
            );
            new aws.kms.Alias(`${name}-ecr`, { name: "alias/candlefish-ecr", targetKeyId: key.keyId }, { parent: this });

            for (const repoName of args.repositories) {
                const repo = new aws.ecr.Repository(
                    repoName,
                    {
                        name: repoName,
                        // FSBP ECR.1: every pushed image is scanned for vulnerabilities.
                        imageScanningConfiguration: { scanOnPush: true },
                        // FSBP ECR.2: a tag, once pushed, always means the same image, so the
                        // stack's imageTag (and a rollback to it) is reproducible.
                        imageTagMutability: "IMMUTABLE",
                        encryptionConfigurations: [{ encryptionType: "KMS", kmsKey: key.arn }],
                        // Never delete a repository that still holds images.
                        forceDelete: false,
                        tags: { ...args.tags, service: repoName },
                    },
                    // Data safety: a mistaken destroy or rename cannot delete the images.
                    { parent: this, protect: true },
                );
                // FSBP ECR.3: at least one lifecycle policy per repository.
                new aws.ecr.LifecyclePolicy(
                    repoName,
                    { repository: repo.name, policy: lifecyclePolicy(args.untaggedExpiryDays, args.keepTaggedImages) },
                    { parent: this },
                );
                repos.push(repo);
                urls[repoName] = repo.repositoryUrl;
            }
        } else {
            // Another stack in this account owns the repositories: read, never manage.
            for (const repoName of args.repositories) {
                urls[repoName] = aws.ecr.getRepositoryOutput({ name: repoName }, { parent: this }).repositoryUrl;
            }
        }

        this.repositoryUrls = Object.freeze(urls);
        this.repositories = Object.freeze(repos);
        this.registerOutputs({ repositoryUrls: this.repositoryUrls });
    }
}
