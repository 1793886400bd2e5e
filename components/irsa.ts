// IRSA (IAM roles for service accounts): the trust policy that lets exactly
// one Kubernetes service account of one cluster assume a role, through the
// cluster's OIDC issuer. The cluster's add-on roles and the External Secrets
// reader role both use it.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";

/** `system:serviceaccount:<namespace>:<name>`, the token subject IRSA matches. */
export const serviceAccountSubject = (namespace: string, name: string): string => `system:serviceaccount:${namespace}:${name}`;

/**
 * The assume-role policy document (JSON) for an IRSA role: web identity from the
 * cluster's OIDC provider, only for tokens whose `sub` is `subject` and whose
 * `aud` is STS.
 */
export function irsaTrustPolicy(oidcProviderArn: pulumi.Input<string>, oidcProviderUrl: pulumi.Input<string>, subject: string): pulumi.Output<string> {
    return pulumi.all([oidcProviderArn, oidcProviderUrl]).apply(([arn, url]) =>
        JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Federated: arn },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: { StringEquals: { [`${url}:sub`]: subject, [`${url}:aud`]: "sts.amazonaws.com" } },
                },
            ],
        }),
    );
}

export interface IrsaRoleArgs {
    /** The IAM role's name (the deploying role may create only candlefish-* roles). */
    readonly roleName: string;
    readonly description: string;
    /** The cluster's IAM OIDC provider and issuer (without https://). */
    readonly oidcProviderArn: pulumi.Input<string>;
    readonly oidcProviderUrl: pulumi.Input<string>;
    /** The one service account that may assume the role. */
    readonly namespace: pulumi.Input<string>;
    readonly serviceAccount: string;
    /** The role's inline policy (JSON). */
    readonly policy: pulumi.Input<string>;
    readonly tags?: Record<string, string>;
}

/**
 * An IRSA role for one service account and its inline policy, both named `name`
 * and children of `parent`.
 */
export function irsaRole(name: string, args: IrsaRoleArgs, parent: pulumi.Resource): aws.iam.Role {
    const role = new aws.iam.Role(
        name,
        {
            name: args.roleName,
            description: args.description,
            assumeRolePolicy: pulumi
                .output(args.namespace)
                .apply((ns) => irsaTrustPolicy(args.oidcProviderArn, args.oidcProviderUrl, serviceAccountSubject(ns, args.serviceAccount))),
            tags: args.tags,
        },
        { parent },
    );
    new aws.iam.RolePolicy(name, { role: role.name, policy: args.policy }, { parent });
    return role;
}
