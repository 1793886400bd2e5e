// The upstream main (provider/cmd/pulumi-resource-kubernetes) embeds two files
// that `go generate` writes and git ignores, so it does not build from the
// module download. This main is the same two lines; testbed/tools.js writes
// schema-embed.json and terraform-mapping-embed.json from the module's
// schema.json (with the package version set, as upstream's generate.go does).
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
