package runtime_test

import (
	"testing"

	"github.com/reactord/reactord/runtime"
)

// TestNode22Logger: event.logger's levels reach the invocation's logs with console's
// formatting, next to console output; node-bt's request has no logger.
func TestNode22Logger(t *testing.T) {
	r := invoke(t, "node22", `module.exports = async (event) => {
  event.logger.info('processing', { id: 7 });
  event.logger.warn('careful %s', 'now');
  event.logger.error(new RangeError('bad').message);
  event.logger.debug('n=%d', 3);
  console.log('plain');
  return { res: { body: [Object.keys(event.logger), Object.isFrozen(event.logger)] } };
};`, `{}`, standard(t))
	jsonEq(t, r.Body, `{"body": [["info", "warn", "error", "debug"], true], "headers": null}`)
	want := []runtime.LogLine{{Level: "info", Message: "processing { id: 7 }"}, {Level: "warn", Message: "careful now"},
		{Level: "error", Message: "bad"}, {Level: "debug", Message: "n=3"}, {Level: "log", Message: "plain"}}
	if len(r.Logs) != len(want) {
		t.Fatalf("logs %+v", r.Logs)
	}
	for i := range want {
		if r.Logs[i] != want[i] {
			t.Errorf("log %d: %+v, want %+v", i, r.Logs[i], want[i])
		}
	}
	r = invoke(t, "node-bt", `module.exports = async (req) => ({ raw: typeof req.logger })`, `{}`, standard(t))
	jsonEq(t, r.Body, `{"tokens": null, "raw": "undefined"}`)
}
