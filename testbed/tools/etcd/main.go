// Command etcd is the etcd server, exactly as upstream's main does it:
// everything happens in etcdmain.Main.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
