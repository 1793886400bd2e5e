// Review-time acknowledgements: read by the offline plan's `--diff --policy`
// (docs/PLAN.md), never by a component. They live in the stack file so that
// the acknowledgement is part of the reviewed change itself.
//   allowReplacement  logical names of stateful resources this change may
//                     replace (an RDS instance, an ElastiCache group, an S3
//                     bucket, a PVC...); any other stateful replacement is a
//                     mandatory violation of the plan's policy.
import * as s from "./schema";
import { ConfigSource } from "./source";

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
