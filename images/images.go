// Package images names the runtime images reactors run on and carries each image's
// Node layer: the JavaScript that gives QuickJS the Node APIs reactor code expects.
//
// The layers are bundled by `make images` (see internal/genlayer) from src/ and the npm
// packages pinned in package.json, and embedded here; docs/host-abi.md is the contract
// between a layer and the Go runtime.
package images

import (
	_ "embed"
	"fmt"
	"sort"
	"strings"
)

// Contract is the shape of the handler's argument and result an image expects.
type Contract int

const (
	// ContractNodeBT is `module.exports = async function (req)` with req.args.
	ContractNodeBT Contract = iota
	// ContractNode22 is `module.exports = async function (event)` with event.req.
	ContractNode22
)

// Image is one runtime image: a name users put in runtime.image and its Node layer.
type Image struct {
	// Name is the identifier in the API (`node-bt`, `node22`).
	Name string
	// Contract tells how the handler is called and its result read.
	Contract Contract
	// Layer is the bundled Node layer script, evaluated once per engine.
	Layer string
}

//go:embed dist/node-bt.js
var nodeBTLayer string

//go:embed dist/node22.js
var node22Layer string

// NodeBT is the default image: curated dependencies, no build step.
const NodeBT = "node-bt"

// Node22 is the image whose reactors bring their own npm dependencies.
const Node22 = "node22"

var all = map[string]Image{
	NodeBT: {Name: NodeBT, Contract: ContractNodeBT, Layer: nodeBTLayer},
	Node22: {Name: Node22, Contract: ContractNode22, Layer: node22Layer},
}

// Names lists the known image names, sorted.
func Names() []string {
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the image with the given name; an empty name means node-bt.
func Lookup(name string) (Image, error) {
	if name == "" {
		name = NodeBT
	}
	img, ok := all[name]
	if !ok {
		return Image{}, fmt.Errorf("unknown image %q: known images are %s", name, strings.Join(Names(), ", "))
	}
	return img, nil
}
