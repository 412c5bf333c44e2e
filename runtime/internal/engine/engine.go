// Package engine carries the QuickJS-NG engine compiled to WebAssembly, taken from the
// npm package @jitl/quickjs-ng-wasmfile-release-sync (MIT, see LICENSE.quickjs and
// PROVENANCE.md), and the table of its minified export and import names (abi_gen.go,
// derived by genabi; `make engine` checks it, `make engine-update` rewrites it).
package engine

import (
	_ "embed"
	"fmt"
)

//go:embed quickjs-ng.wasm
var wasm []byte

// Wasm returns the engine binary as shipped in the package (it imports its memory).
func Wasm() []byte { return wasm }

// Func is one exported C function: its minified export name and ffi.js signature
// ("number", "string", "boolean"; an empty Result means void).
type Func struct {
	Export string
	Result string
	Params []string
}

// Export returns the export name of the C function name, or an error naming it.
func Export(name string) (Func, error) {
	f, ok := Funcs[name]
	if !ok {
		return Func{}, fmt.Errorf("engine ABI has no function %s", name)
	}
	return f, nil
}
