// The local control plane's tools, built by testbed/tools.js like the others
// (`node testbed/tools.js --all`, or `npm run testbed -- up`, which asks for them):
//   etcd                      go.etcd.io/etcd/server/v3, a v3.6 patch release (tools/etcd/main.go)
//   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
//                             k8s.io/kubernetes v1.35.4 with every staging module at v0.35.4 (tools/kubernetes)
//   kwok                      sigs.k8s.io/kwok v0.8.0, the fake kubelet (tools/kwok)
// Each spec has the shape tools.js's goTool takes: name, version (the cache
// key), module (the folder under testbed/tools), binaries {name: Go package}, ldflags.
"use strict";

/** The Go packages of k8s.io/kubernetes this testbed builds, one tool each so each build is timed. */
const KUBE_BINARIES = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"];

function controlPlaneTools({ goTool, goModRequire }) {
    const etcd = goModRequire("etcd", "go.etcd.io/etcd/server/v3");
    const kube = goModRequire("kubernetes", "k8s.io/kubernetes");
    const kwok = goModRequire("kwok", "sigs.k8s.io/kwok");
    const [major, minor] = kube.replace(/^v/, "").split(".");
    // What upstream's hack/lib/version.sh stamps, so `--version` and /version say v1.35.4.
    // The build date is the release's (the module's time), which keeps builds reproducible; the
    // module download carries no commit id, so gitCommit is left empty rather than "$Format:%H$".
    const stamp = { gitVersion: kube, gitMajor: major, gitMinor: minor, gitCommit: "", gitTreeState: "clean", buildDate: "2026-04-15T18:01:22Z" };
    const kubeLdflags = Object.entries(stamp).flatMap(([k, v]) => [
        `-X k8s.io/component-base/version.${k}=${v}`,
        `-X k8s.io/client-go/pkg/version.${k}=${v}`,
    ]);
    return [
        goTool({
            name: "etcd", version: etcd.replace(/^v/, ""), module: "etcd",
            binaries: { etcd: "." },
        }),
        ...KUBE_BINARIES.map((bin) => goTool({
            name: bin, version: kube.replace(/^v/, ""), module: "kubernetes",
            binaries: { [bin]: `k8s.io/kubernetes/cmd/${bin}` },
            ldflags: kubeLdflags,
        })),
        goTool({
            // kwok's version is a constant in its source (pkg/consts.Version), already 0.8.0.
            name: "kwok", version: kwok.replace(/^v/, ""), module: "kwok",
            binaries: { kwok: "sigs.k8s.io/kwok/cmd/kwok" },
        }),
    ];
}

const CONTROL_PLANE_TOOLS = ["etcd", ...KUBE_BINARIES, "kwok"];

module.exports = { controlPlaneTools, CONTROL_PLANE_TOOLS };
