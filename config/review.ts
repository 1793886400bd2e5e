// Review-time acknowledgements, read by tools, never by a component. They live
// in the stack file so that the acknowledgement is part of the reviewed change
// itself.
//   allowReplacement  logical names of stateful resources this change may
//                     replace (an RDS instance, an ElastiCache group, an S3
//                     bucket, a PVC...); any other stateful replacement is a
//                     mandatory violation of the offline plan's `--diff --policy`
//                     (docs/PLAN.md).
//   imageScan         images whose ECR scan findings are accepted (AWS only):
//                     `npm run scan-check` (deploy.yml, before `pulumi up`) and
//                     `npm run switch` print them as accepted instead of refusing
//                     (docs/SWITCH.md "Image scans"). The runbook's pre-deployment
//                     "Security scan completed (no critical vulnerabilities)"
//                     with a reviewed, visible exception for an emergency.
import * as s from "./schema";
import { ConfigSource } from "./source";
import { Color, IMAGE_TAG_PATTERN } from "./services";

export interface ReviewConfig {
    /** Resource logical names (as the plan prints them, e.g. database-instance) a change may replace. */
    readonly allowReplacement: readonly string[];
}

const resourceName = s.string({
    pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/,
    maxLength: 200,
    expected: "a resource's logical name as `plan --diff` prints it, such as database-instance",
});

export function readReview(src: ConfigSource): ReviewConfig {
    const allow = src.read("allowReplacement", s.optional(s.list(resourceName, { max: 50 }), [] as readonly string[]));
    return { allowReplacement: s.isInvalid(allow) ? [] : Object.freeze([...new Set(allow)]) };
}

export interface ImageScanConfig {
    readonly imageScan: {
        /**
         * `<service>:<tag>` images whose scan findings (critical findings, or a
         * scan that is missing or unreadable) the scan checks accept, printed as
         * accepted. Each names a service of this stack and a tag one of its colors
         * runs: an entry ends with its image (the change that replaces the image
         * must remove it).
         */
        readonly acceptCriticalFindings: readonly string[];
    };
}

/** The form of one entry, as every message about it says. */
export const ACCEPTED_IMAGE_FORM = '"<service>:<tag>", a service of this stack and the image tag one of its colors runs, such as "rtpm-api:v2.4.1"';

const acceptedImage = s.string({
    pattern: /^[^:\s]+:[^\s]+$/,
    maxLength: 200,
    expected: ACCEPTED_IMAGE_FORM,
});

const imageScanShape = s.object({
    acceptCriticalFindings: s.optional(s.list(acceptedImage, { max: 50 })),
});

/** What a service runs, as far as the acceptances need it. */
export interface ServiceImages {
    readonly name: string;
    readonly colors: Readonly<Record<Color, { readonly imageTag: string }>>;
}

/** The `imageScan` key: each accepted image must be one this stack runs (a did-you-mean for a misspelt service). */
export function readImageScan(src: ConfigSource, services: readonly ServiceImages[]): ImageScanConfig {
    const v = src.read("imageScan", s.optional(imageScanShape, {} as s.Infer<typeof imageScanShape>));
    const entries = s.isInvalid(v) ? [] : (v.acceptCriticalFindings ?? []);
    const names = services.map((x) => x.name);
    entries.forEach((entry, i) => {
        const key = `imageScan.acceptCriticalFindings.${i}`;
        const at = entry.indexOf(":");
        const [name, tag] = [entry.slice(0, at), entry.slice(at + 1)];
        const svc = services.find((x) => x.name === name);
        if (!svc) {
            const hint = s.suggest(name, names);
            src.problem(key, `${name} is not a service of this stack${hint ? `; did you mean "${hint}:${tag}"?` : ` (services: ${names.join(", ")})`}; expected ${ACCEPTED_IMAGE_FORM}`);
        } else if (!IMAGE_TAG_PATTERN.test(tag)) {
            src.problem(key, `${JSON.stringify(tag)} is not an immutable image tag; expected ${ACCEPTED_IMAGE_FORM}`);
        } else if (svc.colors.blue.imageTag !== tag && svc.colors.green.imageTag !== tag) {
            src.problem(
                key,
                `${name} runs no image ${tag} (blue ${svc.colors.blue.imageTag || "none"}, green ${svc.colors.green.imageTag || "none"}): ` +
                    `an acceptance ends with the image it names; remove this entry (expected ${ACCEPTED_IMAGE_FORM})`,
            );
        }
    });
    return { imageScan: Object.freeze({ acceptCriticalFindings: Object.freeze([...new Set(entries)]) }) };
}
