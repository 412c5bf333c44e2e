package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/reactord/reactord/images"
)

const tinyLayer = `(function(){
const host = globalThis.__host; delete globalThis.__host;
let handler;
const timers = [];
globalThis.console = { log: (...a) => host("console", JSON.stringify(["log", a.join(" ")])) }; 
globalThis.setTimeout = (fn, ms) => { timers.push({fn, at: Date.now() + (ms||0)}); };
Object.defineProperty(globalThis, "__reactor", { value: Object.freeze({
  load(w) { const module = {exports: {}}; w(module.exports, (n) => { throw new Error("no " + n) }, module, "reactor.js", "/"); handler = module.exports; return typeof handler === "function" ? "" : "reactor code must export a function"; },
  invoke(s) { const ev = JSON.parse(s); timers.length = 0;
    Promise.resolve().then(() => handler({args: ev.args, configuration: ev.configuration}))
      .then(r => host("done", JSON.stringify(r === undefined ? null : r)), e => host("fail", JSON.stringify({name: e && e.name, message: String(e && e.message), status: e && e.status})));
  },
  warm(s) { JSON.parse(s); timers.length = 0; host("done", "null"); },
  tick(c) { const now = Date.now(); for (let i = 0; i < timers.length; i++) { if (timers[i].at <= now) { const t = timers.splice(i, 1)[0]; i--; t.fn(); } }
    if (!timers.length) return -1; return Math.max(0, Math.min(...timers.map(t => t.at)) - Date.now()); },
})});
})();`

func tinyImages(name string) (images.Image, error) {
	return images.Image{Name: "tiny", Contract: images.ContractNodeBT, Layer: tinyLayer}, nil
}

// TestMinimalLayer drives the host ABI with a minimal hand-written layer, in both
// memory modes: console capture, a timer, warm reuse keeping state, and a reset
// dropping it.
func TestMinimalLayer(t *testing.T) {
	ctx := context.Background()
	for _, copyMem := range []bool{false, true} {
		e, err := NewEngine(ctx, Config{Images: tinyImages, CopyMemory: copyMem})
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.Load(ctx, Bundle{Code: []byte(`let n = 0; module.exports = async function (req) { n++; console.log("hi", n); await new Promise(r => setTimeout(r, 5)); return { raw: { sum: req.args.a + req.args.b, n } }; };`)})
		if err != nil {
			t.Fatal(err)
		}
		lim, _ := TierLimits(Standard)
		in, err := s.NewInstance(ctx, lim)
		if err != nil {
			t.Fatal(err)
		}
		for i, want := range []int{1, 2, 0, 1} {
			if want == 0 {
				if err := in.Reset(ctx); err != nil {
					t.Fatal(err)
				}
				continue
			}
			start := time.Now()
			r, err := in.Invoke(ctx, Event{Args: json.RawMessage(`{"a":1,"b":2}`)})
			if err != nil {
				t.Fatal(err)
			}
			wantBody := fmt.Sprintf(`{"tokens":null,"raw":{"sum":3,"n":%d}}`, want)
			if r.Status != 200 || string(r.Body) != wantBody {
				t.Errorf("copy=%v step %d: %d %s, want %s", copyMem, i, r.Status, r.Body, wantBody)
			}
			if len(r.Logs) != 1 || r.Logs[0].Message != fmt.Sprintf("hi %d", want) {
				t.Errorf("copy=%v step %d: logs %+v", copyMem, i, r.Logs)
			}
			// Date.now() has millisecond resolution, so a 5 ms timer may fire up to 1 ms early.
			if time.Since(start) < 4*time.Millisecond {
				t.Errorf("copy=%v step %d: returned after %v, before its 5 ms timer", copyMem, i, time.Since(start))
			}
		}
		in.Close(ctx)
		e.Close(ctx)
	}
}
