package runtime_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/reactord/reactord/runtime"
)

// parityCase is an async function body whose JSON result must be the same in real
// Node.js and in the runtime.
type parityCase struct {
	name, body string
}

// nodeResults runs every body in one real Node.js process (args passed as `args`) and
// returns their results as JSON texts; a throw becomes {"threw": {name, code, message}}.
func nodeResults(t *testing.T, args string, cases []parityCase) []json.RawMessage {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skip("node is not installed: the parity tests compare with it")
	}
	var script strings.Builder
	script.WriteString("const args = " + args + ";\nconst cases = [\n")
	for _, c := range cases {
		script.WriteString("async () => {\n" + c.body + "\n},\n")
	}
	script.WriteString(`];
(async () => {
  const out = [];
  for (const c of cases) {
    try { out.push(await c()); } catch (e) { out.push({ threw: { name: e.name, code: e.code, message: e.message } }); }
  }
  // requests left open (never ended) would keep node alive
  process.stdout.write(JSON.stringify(out), () => process.exit(0));
})();`)
	cmd := exec.Command(node, "-")
	cmd.Stdin = strings.NewReader(script.String())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	var res []json.RawMessage
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("node output: %v\n%s", err, out)
	}
	return res
}

// runParity compares every case's result on image with real Node's.
func runParity(t *testing.T, image, args string, cases []parityCase) {
	t.Helper()
	runParityOn(t, testEngine, image, args, cases)
}

// runParityOn is runParity on an engine of the caller's (with fetch, say).
func runParityOn(t *testing.T, eng *runtime.Engine, image, args string, cases []parityCase) {
	t.Helper()
	want := nodeResults(t, args, cases)
	for i, c := range cases {
		t.Run(image+"/"+c.name, func(t *testing.T) {
			wrap := func(v string) string { return "{ raw: " + v + " }" }
			if image == "node22" {
				wrap = func(v string) string { return "{ res: { body: " + v + " } }" }
			}
			code := `module.exports = async (req) => { const args = req.args !== undefined ? req.args : req.req;
  try { return ` + wrap("await (async () => {"+c.body+"\n})()") + `; } catch (e) { return ` + wrap("{ threw: { name: e.name, code: e.code, message: e.message } }") + `; } };`
			ctx := context.Background()
			snap, err := eng.Load(ctx, runtime.Bundle{Image: image, Code: []byte(code)})
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			defer snap.Close()
			in, err := snap.NewInstance(ctx, standard(t))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close(ctx)
			r, err := in.Invoke(ctx, runtime.Event{Args: json.RawMessage(args)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != 200 {
				t.Fatalf("status %d: %s", r.Status, r.Body)
			}
			var out struct {
				Raw  json.RawMessage `json:"raw"`
				Body json.RawMessage `json:"body"`
			}
			if err := json.Unmarshal(r.Body, &out); err != nil {
				t.Fatalf("result: %v: %s", err, r.Body)
			}
			got := out.Raw
			if image == "node22" {
				got = out.Body
			}
			jsonEq(t, got, string(want[i]))
		})
	}
}
