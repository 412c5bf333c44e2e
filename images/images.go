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
	// Build is true when reactors on the image bring their own npm dependencies: their
	// code is bundled by a build step (or published as a bundle) before it can run.
	Build bool
	// RuntimePermissions is true when the code's Basis Theory client may act for the
	// caller with the permissions listed in runtime.permissions; otherwise it acts
	// only as the reactor's attached application.
	RuntimePermissions bool
}

//go:embed dist/node-bt.js
var nodeBTLayer string

//go:embed dist/node22.js
var node22Layer string

// NodeBT is the default image: curated dependencies, no build step.
const NodeBT = "node-bt"

// Node22 is the image whose reactors bring their own npm dependencies.
const Node22 = "node22"

// Default is the image of a reactor that names none.
const Default = NodeBT

var all = map[string]Image{
	NodeBT: {Name: NodeBT, Contract: ContractNodeBT, Layer: nodeBTLayer},
	Node22: {Name: Node22, Contract: ContractNode22, Layer: node22Layer, Build: true, RuntimePermissions: true},
}

// Of returns the named image, or the zero Image (no build, no permissions) for an
// unknown name; callers that must refuse unknown names use Lookup.
func Of(name string) Image {
	img, _ := Lookup(name)
	return img
}

// Built lists the images whose reactors go through a build step, sorted.
func Built() []string {
	var out []string
	for _, n := range Names() {
		if all[n].Build {
			out = append(out, n)
		}
	}
	return out
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

// Lookup returns the image with the given name; an empty name means Default.
func Lookup(name string) (Image, error) {
	if name == "" {
		name = Default
	}
	img, ok := all[name]
	if !ok {
		return Image{}, fmt.Errorf("unknown image %q: known images are %s", name, strings.Join(Names(), ", "))
	}
	return img, nil
}
