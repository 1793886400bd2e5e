// IRSA (IAM roles for service accounts): the trust policy that lets exactly
// one Kubernetes service account of one cluster assume a role, through the
// cluster's OIDC issuer. The cluster's add-on roles and the External Secrets
// reader role both use it.
import * as pulumi from "@pulumi/pulumi";

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
