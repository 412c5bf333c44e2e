package runtime

import (
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/reactord/reactord/runtime/internal/zlibop"
)

// zlibOutputShare bounds one zlib result to this fraction of the tier's memory: the
// result crosses as base64 and becomes a Buffer, so it needs about three times its size.
const zlibOutputShare = 4

// zlib performs the layer's synchronous `zlib` op (docs/host-abi.md).
func (inv *invocation) zlib(arg []byte) ([]byte, error) {
	var req zlibop.Request
	if err := json.Unmarshal(arg, &req); err != nil {
		return nil, fmt.Errorf("zlib: %w", err)
	}
	memory := inv.limits.Memory
	if memory == 0 {
		// loading a snapshot (module-level code) runs without a tier: bound it as the
		// smallest tier is bounded
		memory = 128 << 20
	}
	out, err := zlibop.Do(req, int(min(memory/zlibOutputShare, 1<<30)))
	if err != nil {
		return nil, err
	}
	return base64.StdEncoding.AppendEncode(nil, out), nil
}
