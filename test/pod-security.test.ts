// The shared pieces the workload components are built from: the PSS
// "restricted" security contexts (components/pod-security.ts), the container
// env list, and the IRSA subject (components/irsa.ts). Every pod the program
// itself declares must carry exactly these contexts.
import { strict as assert } from "assert";
import { DEPLOYMENT, inputs, ofType, renderStack } from "./harness";
import { Rendered } from "../plan/render";
import { restrictedContainerSecurity, restrictedPodSecurity } from "../components/pod-security";
import { containerEnv } from "../components/blue-green-service";
import { serviceAccountSubject } from "../components/irsa";
import { EBS_CSI_SERVICE_ACCOUNT, VPC_CNI_SERVICE_ACCOUNT } from "../components/cluster";

const JOB = "kubernetes:batch/v1:Job";

describe("shared workload pieces (pod security, container env, IRSA subject)", () => {
    it("restrictedPodSecurity: non-root as the uid and its group, fsGroup unless opted out, RuntimeDefault seccomp", () => {
        assert.deepEqual(restrictedPodSecurity(101), {
            runAsNonRoot: true,
            runAsUser: 101,
            runAsGroup: 101,
            fsGroup: 101,
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.deepEqual(restrictedPodSecurity(65534, { fsGroup: false }), {
            runAsNonRoot: true,
            runAsUser: 65534,
            runAsGroup: 65534,
            seccompProfile: { type: "RuntimeDefault" },
        });
    });

    it("restrictedContainerSecurity: no escalation, read-only root, no capabilities; a fresh object per call", () => {
        const a = restrictedContainerSecurity();
        assert.deepEqual(a, {
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            runAsNonRoot: true,
            privileged: false,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        assert.notEqual(a, restrictedContainerSecurity());
        assert.notEqual(restrictedPodSecurity(1), restrictedPodSecurity(1));
    });

    it("containerEnv: plain values sorted by name, then Secret references sorted by name", () => {
        assert.deepEqual(containerEnv({ B: "2", A: "1" }, { Z: { secretName: "s", key: "z" }, Y: { secretName: "t", key: "y" } }), [
            { name: "A", value: "1" },
            { name: "B", value: "2" },
            { name: "Y", valueFrom: { secretKeyRef: { name: "t", key: "y" } } },
            { name: "Z", valueFrom: { secretKeyRef: { name: "s", key: "z" } } },
        ]);
        assert.deepEqual(containerEnv({}), []);
    });

    it("serviceAccountSubject is the token subject IRSA matches", () => {
        assert.equal(serviceAccountSubject("external-secrets", "candlefish-secrets-reader"), "system:serviceaccount:external-secrets:candlefish-secrets-reader");
        assert.equal(VPC_CNI_SERVICE_ACCOUNT, "system:serviceaccount:kube-system:aws-node");
        assert.equal(EBS_CSI_SERVICE_ACCOUNT, "system:serviceaccount:kube-system:ebs-csi-controller-sa");
    });

    for (const stack of ["production", "staging"]) {
        describe(`${stack}: every Deployment and Job the program declares`, () => {
            let r: Rendered;
            before(async () => {
                r = await renderStack(stack);
            });

            it("carries the shared restricted pod and container security contexts", () => {
                const workloads = [...ofType(r, DEPLOYMENT), ...ofType(r, JOB)];
                assert.ok(workloads.length > 0);
                for (const w of workloads) {
                    const pod = inputs(w).spec.template.spec;
                    const uid = pod.securityContext.runAsUser;
                    const expected = pod.securityContext.fsGroup === undefined ? restrictedPodSecurity(uid, { fsGroup: false }) : restrictedPodSecurity(uid);
                    assert.deepEqual(pod.securityContext, expected, w.name);
                    for (const c of pod.containers) assert.deepEqual(c.securityContext, restrictedContainerSecurity(), `${w.name}/${c.name}`);
                }
            });
        });
    }
});
